"""Model artifacts on disk: where they live, how they are verified and loaded.

A model directory holds ``claim-classifier.joblib`` (the scikit-learn
Pipeline), ``claim-classifier.json`` (its card: versions, hashes, metrics),
``lexicon.jsonl`` (the entity lexicon it was trained with) and, when training
chose one, ``entity-typer.joblib`` (the span typer of the entity stage). The project's
``models/`` directory is itself the shipped model; trained versions kept for
rollback live in ``models/<version>/`` and ``models/CURRENT`` names the one in
use.

Unpickling runs code, so :func:`load_estimator` checks the joblib file's
sha256 against the card before unpickling anything, and refuses files from
outside the project's ``models/`` unless the caller trusts them explicitly.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_MODELS = Path(os.environ.get("CLAIMTAG_MODELS", Path(__file__).resolve().parent.parent / "models"))
ESTIMATOR_FILE = "claim-classifier.joblib"
CARD_FILE = "claim-classifier.json"
LEXICON_FILE = "lexicon.jsonl"
SPAN_TYPER_FILE = "entity-typer.joblib"
CURRENT_FILE = "CURRENT"


class ModelError(Exception):
    """A model cannot be used; the message says what to do."""


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelFiles:
    directory: Path

    @property
    def estimator(self) -> Path:
        return self.directory / ESTIMATOR_FILE

    @property
    def card(self) -> Path:
        return self.directory / CARD_FILE

    @property
    def lexicon(self) -> Path:
        return self.directory / LEXICON_FILE

    @property
    def span_typer(self) -> Path:
        return self.directory / SPAN_TYPER_FILE

    def read_card(self) -> dict:
        try:
            return json.loads(self.card.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"no model card at {self.card}; run `make train` to build the model") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"model card {self.card} is not valid JSON ({exc}); run `make train`") from None


def resolve_model_dir(model: str | Path | None = None, models_root: Path | None = None) -> Path:
    """The model directory to use: ``model`` if given, else the current one."""
    if model is not None:
        path = Path(model)
        if path.is_file():
            path = path.parent
        if not path.is_dir():
            candidate = (models_root or PROJECT_MODELS) / str(model)
            if candidate.is_dir():
                return candidate
            raise ModelError(f"model directory {model} does not exist")
        return path
    root = models_root or PROJECT_MODELS
    pointer = root / CURRENT_FILE
    if pointer.is_file():
        version = pointer.read_text(encoding="utf-8").strip()
        if version and version != "default" and (root / version).is_dir():
            return root / version
    return root


def is_inside_project_models(directory: Path) -> bool:
    try:
        directory.resolve().relative_to(PROJECT_MODELS.resolve())
        return True
    except ValueError:
        return False


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_library_versions(card: dict) -> None:
    import sklearn
    import spacy

    expected = card.get("libraries", {})
    problems = []
    for name, installed in (("scikit-learn", sklearn.__version__), ("spacy", spacy.__version__)):
        wanted = expected.get(name)
        if wanted and _major_minor(wanted) != _major_minor(installed):
            problems.append(f"{name} {installed} is installed but the model was trained with {wanted}")
    if problems:
        raise ModelError("; ".join(problems) + ". Install the pinned versions (pip install -e .) or run `make train`.")


def _load_verified(files: ModelFiles, path: Path, expected_sha256: str | None, trust_model: bool):
    """Unpickle ``path`` only after the trust, sha256 and library-version checks pass."""
    import joblib

    if not trust_model and not is_inside_project_models(files.directory):
        raise ModelError(
            f"refusing to load {path}: it is outside the project's models/ directory "
            "and unpickling a joblib file runs code. Pass --trust-model if you trust its source."
        )
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; run `make train`")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise ModelError(
            f"{path} has sha256 {actual[:12]}… but its card says {str(expected_sha256)[:12]}…; "
            "the file was changed or replaced. Run `make train` to rebuild it."
        )
    try:
        return joblib.load(path)
    except Exception as exc:  # a pickle from another library version fails in many ways
        raise ModelError(f"cannot unpickle {path}: {exc}. Run `make train`.") from None


def load_estimator(files: ModelFiles, trust_model: bool = False):
    """Verify and unpickle the claim classifier; returns ``(estimator, card)``."""
    card = files.read_card()
    check_library_versions(card)
    return _load_verified(files, files.estimator, card.get("sha256"), trust_model), card


def load_span_typer(files: ModelFiles, trust_model: bool = False):
    """Verify and unpickle the entity span typer; None when the model has none (rules only)."""
    card = files.read_card()
    expected = card.get("span_typer_sha256")
    if not expected:
        return None
    check_library_versions(card)
    return _load_verified(files, files.span_typer, expected, trust_model)


def list_versions(root: Path | None = None) -> list[tuple[Path, dict]]:
    """(directory, card) of the shipped model and every kept version, oldest first."""
    root = root or PROJECT_MODELS
    found = []
    for directory in [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        card_path = directory / CARD_FILE
        if card_path.is_file():
            try:
                found.append((directory, json.loads(card_path.read_text(encoding="utf-8"))))
            except json.JSONDecodeError:
                continue
    return sorted(found, key=lambda item: (item[0] != root, item[1].get("created", "")))
