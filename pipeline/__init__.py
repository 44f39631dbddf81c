"""claimtag: entities and claim labels for health-forum sentences.

``pipeline.load()`` returns the full spaCy pipeline (sentences, entities,
claim labels) built from the current model in ``models/``.
"""
from __future__ import annotations

__version__ = "0.1.0"


def load(model=None, trust_model: bool = False):
    """The claimtag spaCy pipeline; see :func:`pipeline.nlp.load`."""
    from .nlp import load as _load

    return _load(model, trust_model=trust_model)


__all__ = ["load", "__version__"]
