"""Assemble the claimtag spaCy pipeline from a model directory."""
from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from . import abbreviation, classify, entities, segment  # noqa: F401  (importing registers the factories)
from .model import ModelFiles, resolve_model_dir


def build_entity_pipeline(lexicon_path: str | Path | None = None, model_dir: str | Path | None = None,
                          trust_model: bool = False) -> Language:
    """Blank English + our tokenizer rules, segmenter, entities, abbreviations.

    With ``lexicon_path`` only, entities come from the rules alone (what
    training starts from); with ``model_dir``, from that model's lexicon and
    span typer.
    """
    nlp = segment.customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("claimtag_segmenter")
    nlp.add_pipe("claimtag_entities", config={
        "lexicon_path": None if lexicon_path is None else str(lexicon_path),
        "model_dir": None if model_dir is None else str(model_dir),
        "trust_model": trust_model,
    })
    nlp.add_pipe("claimtag_abbreviations")
    return nlp


def load(model: str | Path | None = None, trust_model: bool = False) -> Language:
    """The full claimtag pipeline: sentences, entities and claim labels.

    ``model`` is a model directory (default: the current model under the
    project's ``models/``). Models from elsewhere are unpickled only with
    ``trust_model=True`` because unpickling runs code.
    """
    files = ModelFiles(resolve_model_dir(model))
    nlp = build_entity_pipeline(model_dir=files.directory, trust_model=trust_model)
    nlp.add_pipe(
        "claimtag_classifier",
        config={"model_dir": str(files.directory), "trust_model": trust_model},
    )
    return nlp
