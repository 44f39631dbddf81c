"""The annotated corpus: reading, validating and fingerprinting it.

Layout (``corpus/annotations/``): the training split in ``train-NN.jsonl``
files (or one ``train.jsonl``), read in name order (a new file per round of new sources keeps each
under 5 MB), and the fixed, held-out ``test.jsonl``; one sentence per line as
``{"id", "post_id", "text", "label", "entities": [[start, end, TYPE]], "style", "domain"}``.
``SHA256SUMS`` lists the checksum of every annotation file.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .classify import LABELS
from .entities import ENTITY_TYPES

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
ANNOTATIONS_DIR = CORPUS_DIR / "annotations"
TRAIN_FILES = "train*.jsonl"  # train-01.jsonl, train-02.jsonl, ... or a single train.jsonl
TEST_FILE = "test.jsonl"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSONL file, each with ``_file`` and ``_line`` for messages."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            record["_file"] = str(path)
            record["_line"] = number
            records.append(record)
    return records


def split_files(name: str, directory: Path = ANNOTATIONS_DIR) -> list[Path]:
    if name != "train":
        return [directory / TEST_FILE]
    files = sorted(directory.glob(TRAIN_FILES))
    if not files:
        raise FileNotFoundError(f"no training split in {directory}: expected {TRAIN_FILES}")
    return files


def load_split(name: str, directory: Path = ANNOTATIONS_DIR) -> list[dict]:
    return [record for path in split_files(name, directory) for record in read_jsonl(path)]


def corpus_sha256(directory: Path = ANNOTATIONS_DIR) -> str:
    """One fingerprint over every annotation file (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


CHECKSUMS_FILE = "SHA256SUMS"


def read_checksums(directory: Path = ANNOTATIONS_DIR) -> dict[str, str]:
    path = directory / CHECKSUMS_FILE
    if not path.is_file():
        return {}
    listed = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            listed[name.strip().lstrip("*")] = digest
    return listed


def checksum_problems(directory: Path = ANNOTATIONS_DIR) -> list[str]:
    """Annotation files whose bytes no longer match ``SHA256SUMS`` (the assets changed unnoticed)."""
    from .model import sha256_file

    listed = read_checksums(directory)
    problems = []
    for path in sorted(directory.glob("*.jsonl")):
        if path.name not in listed:
            problems.append(f"{path.name} is not listed in {CHECKSUMS_FILE}")
        elif sha256_file(path) != listed[path.name]:
            problems.append(f"{path.name} does not match its checksum in {CHECKSUMS_FILE}")
    return problems


def write_checksums(directory: Path = ANNOTATIONS_DIR) -> None:
    from .model import sha256_file

    lines = [f"{sha256_file(p)}  {p.name}\n" for p in sorted(directory.glob("*.jsonl"))]
    (directory / CHECKSUMS_FILE).write_text("".join(lines), encoding="utf-8")


def token_boundaries(text: str, tokenizer) -> tuple[set[int], set[int]]:
    doc = tokenizer(text)
    return {t.idx for t in doc}, {t.idx + len(t) for t in doc}


def validate_records(records: Iterable[dict], tokenizer=None) -> list[Problem]:
    """Every way a record can be wrong, as ``file:line: reason`` problems."""
    problems: list[Problem] = []
    ids: dict[str, Problem] = {}
    label_of_text: dict[str, tuple[str, str, int]] = {}
    for r in records:
        where = (r.get("_file", "?"), r.get("_line", 0))

        def bad(reason: str) -> None:
            problems.append(Problem(where[0], where[1], reason))

        text = r.get("text")
        if not isinstance(text, str) or not text.strip():
            bad("empty or missing text")
            continue
        label = r.get("label")
        if label not in LABELS:
            bad(f"unknown label {label!r} (expected one of {', '.join(LABELS)})")
        rid = r.get("id")
        if rid is not None:
            if rid in ids:
                bad(f"duplicate id {rid!r} (first at {ids[rid].file}:{ids[rid].line})")
            else:
                ids[rid] = Problem(where[0], where[1], "")
        key = " ".join(text.split())
        if key in label_of_text and label_of_text[key][0] != label:
            first = label_of_text[key]
            bad(f"same text labeled {label!r} here and {first[0]!r} at {first[1]}:{first[2]}")
        label_of_text.setdefault(key, (label, where[0], where[1]))
        starts, ends = token_boundaries(text, tokenizer) if tokenizer is not None else (None, None)
        spans = []
        for ent in r.get("entities", []) or []:
            if not (isinstance(ent, (list, tuple)) and len(ent) == 3):
                bad(f"entity {ent!r} is not [start, end, TYPE]")
                continue
            start, end, etype = ent
            if etype not in ENTITY_TYPES:
                bad(f"unknown entity type {etype!r}")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                bad(f"span {start}-{end} is outside the text (length {len(text)})")
                continue
            if text[start:end] != text[start:end].strip():
                bad(f"span {start}-{end} {text[start:end]!r} has surrounding whitespace")
            if starts is not None and (start not in starts or end not in ends):
                bad(f"span {start}-{end} {text[start:end]!r} is not on token boundaries")
            spans.append((start, end))
        spans.sort()
        for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
            if a2 < b1:
                bad(f"spans {a1}-{b1} and {a2}-{b2} overlap")
    return problems
