"""Annotation imports for retraining: other tools' exports → corpus records.

Annotators work in Label Studio, Prodigy, doccano or a spreadsheet; this
module turns what those tools export into the corpus's own records::

    {"text": str, "label": one of LABELS, "entities": [[start, end, TYPE], ...],
     "_file": str, "_line": int}            (+ "id", "post_id" when the input has them)

so that :func:`pipeline.corpus.validate_records` can check them and
``pipeline.train.train(extra_records=...)`` can learn from them.

Public API
==========
``FORMATS``                          the importable formats
``detect_annotation_format(path)``   format of a file, from its content
``read_annotations(paths, fmt)``     (records, problems); files or folders
``validate_annotations(records, tokenizer)``  = ``validate_records``
``load_for_training(paths, fmt, tokenizer, skip_invalid)``  (records, problems, dropped)
``split_holdout(records, fraction, seed)``  deterministic (train, holdout) by text hash
``ImportSummary``                    what was read and what was skipped, per reason
``AnnotationFormatError``            an input cannot be read as annotations at all

Format detection (from the content, never the file name)
--------------------------------------------------------
The first record is looked at: the first element of a JSON array, else the
first non-blank line that parses as JSON (so one broken first line does not
hide the format), else a single pretty-printed JSON object; a file whose
first non-blank character is neither ``[`` nor ``{`` must be CSV.

* ``labelstudio``: a JSON object with a ``data`` object, ``annotations`` or
  ``predictions`` (Label Studio's "JSON" export: an array of tasks). The
  "JSON-MIN" export (flat objects with ``annotator``/``annotation_id``) is
  refused with a message asking for the "JSON" export.
* ``prodigy``: ``answer``, ``spans``, ``accept``, ``_input_hash`` or
  ``_task_hash`` present.
* ``doccano``: ``cats``, ``labels``, ``label`` as a list (class strings or
  ``[start, end, TYPE]`` triples), ``entities`` as a list of doccano span
  objects (``start_offset``/``end_offset``), or the doccano 1.x ``data``
  string.
* ``claimtag``: ``text`` and ``label`` as a string (entities optional).
* ``csv``: a header row with a ``text`` (or ``sentence``, as in
  ``claimtag label`` output) column and a ``label`` column.
Anything else raises :class:`AnnotationFormatError` naming what was found.
The checks run in this order, so a Prodigy binary-classification line
(``text`` + ``label`` string + ``answer``) is Prodigy, not ours.

Conversions
-----------
* claimtag: records as they are (every key kept; entities made lists).
* csv: columns ``text`` (or ``sentence``) and ``label``; optional
  ``entities`` (JSON: ``[[start, end, TYPE], ...]`` or the labeled CSV's
  ``[{"start", "end", "label", ...}]``), ``id``, ``post_id``. Cells are used
  as written except that the label is stripped.
* prodigy: ``text``; ``spans`` ``[{start, end, label}]`` (a span's ``text``,
  when present, must match the offsets); the class is ``accept`` (choice
  interface: exactly one option; option ids are mapped to option texts when
  the id is not a label) else ``label`` (binary classification). Only
  ``"answer": "accept"`` (or no answer, an unannotated input line) gives a
  record; ``reject`` and ``ignore`` are skipped and counted in the summary,
  so a rejected "label" is never used as a positive.
* labelstudio: text from ``data.text`` (else the only string in ``data``);
  among the task's ``annotations`` that are not ``was_cancelled``, a
  ``ground_truth`` one wins, else the latest by ``updated_at`` /
  ``created_at`` (ties and missing times: the later in the list). Its
  ``choices`` result gives the class (exactly one), its ``labels`` results
  the spans. ``predictions`` are model output, never annotations, and are
  ignored. Tasks without annotations, or whose annotations were all
  cancelled, are skipped and counted. Span offsets are checked against the
  span's ``text``; offsets counted in UTF-16 code units (older Label Studio
  versions, text with emoji) are converted to code points when that makes
  them match.
* doccano: ``text`` (doccano 1.x: ``data``); spans from ``label``/``labels``
  triples or ``entities`` (triples or ``{start_offset, end_offset, label}``);
  the class from ``cats`` ("Intent detection and slot filling" export) or
  ``label``/``labels`` class strings ("Text classification" export), exactly
  one required. An example with neither spans nor classes was not annotated
  and is skipped (counted); spans without a class are a problem
  ("no class label").

Line numbers
------------
``Problem.line`` and ``_line`` are 1-based physical lines: the JSONL line,
the line where a CSV record starts (header = line 1), and for a JSON array
(Label Studio) the line where the task's ``{`` is. A JSON array that is
broken part-way gives one problem at the break and nothing after it.

What a problem is
-----------------
A record that cannot be converted (bad JSON, no class, two classes, a span
that is not ``{start, end, label}``, a span whose text does not match its
offsets) is not returned; it becomes a :class:`~pipeline.corpus.Problem`.
Records that convert are checked by :func:`validate_annotations` (unknown
labels and entity types, empty text, spans outside the text or off token
boundaries, overlaps, the same text with different labels within or across
files, duplicate ids), also as ``file:line: reason``. Skipped examples
(Prodigy reject/ignore, unannotated tasks) are not problems: they are counted
in :class:`ImportSummary`.

Pre-annotations: a suggestion file written by ``claimtag suggest`` reads
back as records carrying the *model's* labels (that is the round trip). Only
import it after annotators have corrected it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .classify import LABELS
from .corpus import Problem, validate_records

__all__ = [
    "FORMATS",
    "EXTENSIONS",
    "AnnotationFormatError",
    "ImportSummary",
    "detect_annotation_format",
    "iter_annotation_files",
    "read_annotations",
    "validate_annotations",
    "load_for_training",
    "split_holdout",
]

FORMATS = ("claimtag", "csv", "prodigy", "labelstudio", "doccano")
# Files picked up when a folder is given (a file named explicitly is always read).
EXTENSIONS = (".jsonl", ".json", ".csv")

log = logging.getLogger(__name__)

_DETECT_LINES = 50  # JSONL lines tried before giving up on detection


class AnnotationFormatError(Exception):
    """An input cannot be read as annotations at all (missing, not UTF-8,
    unknown format, unknown ``fmt``); the message names the file and what to do."""


@dataclass
class ImportSummary:
    """What :func:`read_annotations` read: format and record count per file,
    and the examples it skipped on purpose (not errors), by reason."""

    formats: dict[str, str] = field(default_factory=dict)
    records: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = [f"{self.records[f]} records from {f} ({fmt})" for f, fmt in self.formats.items()]
        text = "; ".join(parts) if parts else "no files"
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        return text


class _Invalid(Exception):
    """One item cannot become a record; the message is the Problem reason."""


_SKIP = object()  # a converter's "skip this example" marker (reason recorded separately)


# -- files -------------------------------------------------------------------

def iter_annotation_files(paths: Iterable[str | Path]) -> Iterator[str]:
    """Files as given; folders walked recursively (sorted, hidden entries
    skipped) for ``.jsonl``/``.json``/``.csv`` files."""
    for given in paths:
        path = str(given)
        if os.path.isdir(path):
            found = False
            for found_path in _walk(path):
                found = True
                yield found_path
            if not found:
                raise AnnotationFormatError(
                    f"{path} holds no annotation files ({', '.join(EXTENSIONS)}, searched recursively)")
        elif os.path.isfile(path):
            yield path
        else:
            raise AnnotationFormatError(f"annotation input {path} does not exist")


def _walk(top: str) -> Iterator[str]:
    """Annotation files below ``top`` (the same walk as the labeler's inputs)."""
    from .ingest import IngestFatal, walk_files

    try:
        yield from walk_files(top, lambda name: name.lower().endswith(EXTENSIONS))
    except IngestFatal as exc:
        raise AnnotationFormatError(str(exc)) from exc


def _read_text(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AnnotationFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AnnotationFormatError(f"{path} is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(
            f"{path} is not UTF-8 (byte {exc.start}); save it as UTF-8") from exc


# -- containers: JSON array, JSONL, single JSON object ------------------------

def _first_char(text: str) -> str:
    stripped = text.lstrip()
    return stripped[0] if stripped else ""


class _LineCounter:
    """Line number of a character position, for increasing positions."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _iter_json_array(text: str) -> Iterator[tuple[int, object]]:
    """(line, element) of a top-level JSON array; an ``_Invalid`` instance as
    element at the point where the array is broken (and nothing after)."""
    decoder = json.JSONDecoder()
    lines = _LineCounter(text)
    i = _skip_ws(text, 0) + 1  # past "["
    first = True
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            yield lines.at(len(text)), _Invalid("JSON array is not closed (file ends early)")
            return
        if text[i] == "]":
            rest = _skip_ws(text, i + 1)
            if rest < len(text):
                yield lines.at(rest), _Invalid("unexpected text after the JSON array")
            return
        if not first:
            if text[i] != ",":
                yield lines.at(i), _Invalid(f"bad JSON: expected ',' or ']' but found {text[i]!r}")
                return
            i = _skip_ws(text, i + 1)
        first = False
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            yield lines.at(exc.pos), _Invalid(f"bad JSON: {exc.msg}")
            return
        yield lines.at(i), obj
        i = end


def _iter_jsonl(text: str) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _Invalid(f"bad JSON: {exc.msg} (column {exc.colno})")


def _single_object(text: str) -> tuple[int, object] | None:
    """A whole file that is one (pretty-printed) JSON object, else None."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    return text[: len(text) - len(text.lstrip())].count("\n") + 1, obj


def _iter_items(text: str) -> Iterator[tuple[int, object]]:
    """(line, parsed item) of a JSON file of any of the shapes we read."""
    start = _first_char(text)
    if start == "[":
        yield from _iter_json_array(text)
        return
    if start == "{":
        first_line = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first_line)
        except json.JSONDecodeError:
            single = _single_object(text)
            if single is not None:
                yield single
                return
        yield from _iter_jsonl(text)


# -- detection ---------------------------------------------------------------

def _classify(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("data"), dict) or "annotations" in obj or "predictions" in obj or "completions" in obj:
        return "labelstudio"
    if "annotation_id" in obj or "annotator" in obj:
        raise _Invalid("this looks like Label Studio's JSON-MIN export; export the project as 'JSON' instead")
    if any(k in obj for k in ("answer", "spans", "accept", "_input_hash", "_task_hash")):
        return "prodigy"
    entities = obj.get("entities")
    if ("cats" in obj or "labels" in obj or isinstance(obj.get("label"), list) or isinstance(obj.get("data"), str)
            or (isinstance(entities, list) and entities and isinstance(entities[0], dict))):
        return "doccano"
    if "text" in obj and isinstance(obj.get("label"), str):
        return "claimtag"
    return None


def _csv_header(line: str) -> list[str]:
    try:
        return [c.strip().lower() for c in next(csv.reader([line]))]
    except (csv.Error, StopIteration):
        return []


def _detect(text: str, path: str) -> str:
    start = _first_char(text)
    if not start:
        raise AnnotationFormatError(f"{path} is empty")
    if start in "[{":
        tried = 0
        last_error = ""
        for line, obj in _iter_items(text):
            if isinstance(obj, _Invalid):
                last_error = f" (line {line}: {obj})"
                if start == "[":
                    break
            else:
                try:
                    fmt = _classify(obj)
                except _Invalid as exc:
                    raise AnnotationFormatError(f"{path}: {exc}") from None
                if fmt is not None:
                    return fmt
                keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
                raise AnnotationFormatError(
                    f"cannot tell the annotation format of {path}: its first record (line {line}) has keys "
                    f"[{keys}], which match none of {', '.join(FORMATS)}; pass the format explicitly "
                    "or convert the file")
            tried += 1
            if tried >= _DETECT_LINES:
                break
        if start == "[" and not last_error:
            return "labelstudio"  # an empty JSON array: an export without tasks
        raise AnnotationFormatError(f"cannot tell the annotation format of {path}: no readable JSON record"
                                    f"{last_error}")
    first_line = next(line for line in text.splitlines() if line.strip())
    header = _csv_header(first_line)
    if ("text" in header or "sentence" in header) and "label" in header:
        return "csv"
    raise AnnotationFormatError(
        f"cannot tell the annotation format of {path}: it is not JSON, and its first line "
        f"{first_line[:80]!r} is not a CSV header with 'text' and 'label' columns")


def detect_annotation_format(path: str | Path) -> str:
    """One of :data:`FORMATS`, from the file's content (see the module docs)."""
    return _detect(_read_text(str(path)), str(path))


# -- shared conversion helpers -------------------------------------------------

def _text_of(obj: dict, *keys: str) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return ""  # validate_records reports "empty or missing text"


def _triple(item: object, what: str = "span") -> list:
    if isinstance(item, (list, tuple)) and len(item) == 3:
        return list(item)
    if isinstance(item, dict):
        start = item.get("start", item.get("start_offset"))
        end = item.get("end", item.get("end_offset"))
        label = item.get("label")
        if start is not None and end is not None and label is not None:
            return [start, end, label]
    raise _Invalid(f"cannot read {what} {item!r} (expected [start, end, TYPE] or {{start, end, label}})")


def _one_class(classes: list, where: str) -> str:
    if not classes:
        raise _Invalid(f"no class label ({where})")
    distinct = list(dict.fromkeys(classes))
    if len(distinct) > 1:
        raise _Invalid(f"{len(distinct)} class labels {distinct}, expected exactly one")
    return distinct[0]


def _check_span_text(text: str, start, end, expected) -> None:
    if isinstance(expected, str) and isinstance(start, int) and isinstance(end, int) \
            and 0 <= start < end <= len(text) and text[start:end] != expected:
        raise _Invalid(f"span {start}-{end} is {text[start:end]!r} in the text but {expected!r} in the annotation")


def _post_id(*sources: object) -> dict:
    for source in sources:
        if isinstance(source, dict):
            value = source.get("post_id")
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return {"post_id": str(value)}
    return {}


# -- converters (item → record, _SKIP, or raise _Invalid) --------------------

def _from_claimtag(obj: object, summary_skip) -> dict:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected a JSON object, found {type(obj).__name__}")
    record = dict(obj)
    entities = record.get("entities")
    if entities is None:
        record["entities"] = []
    elif isinstance(entities, list):
        record["entities"] = [list(e) if isinstance(e, (list, tuple)) else e for e in entities]
    else:
        raise _Invalid(f"entities must be a list, found {type(entities).__name__}")
    return record


def _from_prodigy(obj: object, summary_skip) -> dict:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected a JSON object, found {type(obj).__name__}")
    answer = obj.get("answer", "accept")
    if answer in ("reject", "ignore"):
        summary_skip(f"Prodigy examples answered {answer!r}")
        return _SKIP
    if answer != "accept":
        raise _Invalid(f"unknown Prodigy answer {answer!r} (expected accept, reject or ignore)")
    text = _text_of(obj, "text")
    if "accept" in obj:
        accepted = obj["accept"]
        if not isinstance(accepted, list):
            raise _Invalid(f"\"accept\" must be a list of option ids, found {accepted!r}")
        options = {o.get("id"): o.get("text") for o in obj.get("options") or [] if isinstance(o, dict)}
        classes = [a if a in LABELS or a not in options else options[a] for a in accepted]
        label = _one_class(classes, "no option accepted in the choice")
    elif isinstance(obj.get("label"), str):
        label = obj["label"]
    else:
        raise _Invalid("no class label (expected \"label\" or a choice \"accept\")")
    spans = obj.get("spans") or []
    if not isinstance(spans, list):
        raise _Invalid(f"\"spans\" must be a list, found {type(spans).__name__}")
    entities = []
    for span in spans:
        if not isinstance(span, dict):
            raise _Invalid(f"cannot read span {span!r} (expected {{start, end, label}})")
        triple = _triple(span)
        _check_span_text(text, triple[0], triple[1], span.get("text"))
        entities.append(triple)
    return {"text": text, "label": label, "entities": entities, **_post_id(obj.get("meta"))}


def _timestamp(annotation: dict) -> datetime | None:
    for key in ("updated_at", "created_at"):
        value = annotation.get(key)
        if isinstance(value, str) and value:
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # Label Studio 0.x: epoch seconds
            return datetime.fromtimestamp(value, tz=timezone.utc)
    return None


_NO_TIME = datetime.min.replace(tzinfo=timezone.utc)


def _utf16_to_codepoints(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code-point offsets of UTF-16 code-unit offsets, None if they split a character."""
    units = 0
    found: dict[int, int] = {}
    for index, char in enumerate(text):
        found[units] = index
        units += 2 if ord(char) > 0xFFFF else 1
    found[units] = len(text)
    if start in found and end in found:
        return found[start], found[end]
    return None


def _ls_span(text: str, value: dict) -> list:
    start, end = value.get("start"), value.get("end")
    labels = value.get("labels")
    if not isinstance(labels, list) or len(labels) != 1:
        raise _Invalid(f"span {start}-{end} has labels {labels!r}, expected exactly one")
    expected = value.get("text")
    if (isinstance(expected, str) and isinstance(start, int) and isinstance(end, int)
            and text[start:end] != expected):
        converted = _utf16_to_codepoints(text, start, end)
        if converted and text[converted[0]:converted[1]] == expected:
            start, end = converted  # offsets in UTF-16 code units (older Label Studio, emoji before the span)
        else:
            _check_span_text(text, start, end, expected)
    return [start, end, labels[0]]


def _from_labelstudio(task: object, summary_skip) -> dict:
    if not isinstance(task, dict):
        raise _Invalid(f"expected a Label Studio task object, found {type(task).__name__}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise _Invalid("Label Studio task has no \"data\" object")
    text = data.get("text")
    if not isinstance(text, str):
        strings = [v for v in data.values() if isinstance(v, str)]
        if len(strings) != 1:
            raise _Invalid("Label Studio task has no data.text (and not exactly one other text field)")
        text = strings[0]
    annotations = task.get("annotations", task.get("completions"))
    if not annotations:
        summary_skip("Label Studio tasks without annotations")
        return _SKIP
    if not isinstance(annotations, list):
        raise _Invalid("\"annotations\" must be a list")
    usable = [(i, a) for i, a in enumerate(annotations) if isinstance(a, dict) and not a.get("was_cancelled")]
    if not usable:
        summary_skip("Label Studio tasks whose annotations were all cancelled")
        return _SKIP
    _, chosen = max(usable, key=lambda ia: (bool(ia[1].get("ground_truth")), _timestamp(ia[1]) or _NO_TIME, ia[0]))
    by_control: dict[str, list] = {}
    entities = []
    for item in chosen.get("result") or []:
        if not isinstance(item, dict):
            continue
        value = item.get("value") or {}
        kind = item.get("type")
        if kind == "choices":
            choices = value.get("choices")
            if not isinstance(choices, list):
                raise _Invalid(f"choices result without a list of choices: {value!r}")
            by_control.setdefault(str(item.get("from_name", "")), []).extend(choices)
        elif kind == "labels":
            entities.append(_ls_span(text, value))
    if len(by_control) > 1:  # other choice controls in the project (e.g. a review flag): keep the claim one
        claim = {k: v for k, v in by_control.items() if v and all(c in LABELS for c in v)}
        by_control = claim if len(claim) == 1 else by_control
    label = _one_class([c for v in by_control.values() for c in v], "the annotation has no choices result")
    return {"text": text, "label": label, "entities": entities, **_post_id(data, task.get("meta"))}


def _from_doccano(obj: object, summary_skip) -> dict:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected a JSON object, found {type(obj).__name__}")
    text = _text_of(obj, "text", "data")
    spans: list[list] = []
    classes: list = []
    for key in ("label", "labels"):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise _Invalid(f"\"{key}\" must be a list of class names or [start, end, TYPE] spans, found {value!r}")
        for item in value:
            if isinstance(item, str):
                classes.append(item)
            else:
                spans.append(_triple(item, f"{key} item"))
    cats = obj.get("cats")
    if isinstance(cats, dict):  # spaCy-style {"label": score}
        classes.extend(k for k, v in cats.items() if isinstance(v, (int, float)) and v >= 0.5)
    elif isinstance(cats, list):
        classes.extend(cats)
    elif cats is not None:
        raise _Invalid(f"\"cats\" must be a list of class names, found {cats!r}")
    entities = obj.get("entities")
    if entities is not None:
        if not isinstance(entities, list):
            raise _Invalid(f"\"entities\" must be a list, found {type(entities).__name__}")
        spans.extend(_triple(e, "entity") for e in entities)
    if not spans and not classes:
        summary_skip("doccano examples without annotations")
        return _SKIP
    label = _one_class(classes, "only entity spans; put the class in \"cats\"")
    return {"text": text, "label": label, "entities": spans, **_post_id(obj)}


_JSON_CONVERTERS = {
    "claimtag": _from_claimtag,
    "prodigy": _from_prodigy,
    "labelstudio": _from_labelstudio,
    "doccano": _from_doccano,
}


def _read_csv(text: str, path: str) -> Iterator[tuple[int, dict | _Invalid]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, _Invalid(f"bad CSV: {exc}")
            return
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            column = {name: i for i, name in reversed(list(enumerate(header)))}
            text_col = column.get("text", column.get("sentence"))
            if text_col is None or "label" not in column:
                raise AnnotationFormatError(
                    f"{path}: the CSV header needs 'text' (or 'sentence') and 'label' columns, found {row}")
            continue
        if len(row) != len(header):
            yield start, _Invalid(f"ragged row: {len(row)} fields, header has {len(header)}")
            continue
        try:
            record: dict = {"text": row[text_col], "label": row[column["label"]].strip()}
            cell = row[column["entities"]].strip() if "entities" in column else ""
            if cell:
                try:
                    items = json.loads(cell)
                except json.JSONDecodeError as exc:
                    raise _Invalid(f"entities is not JSON: {exc.msg}") from None
                if not isinstance(items, list):
                    raise _Invalid("entities must be a JSON list of [start, end, TYPE]")
                record["entities"] = [_triple(e, "entity") for e in items]
            else:
                record["entities"] = []
            for key in ("id", "post_id"):
                if key in column and row[column[key]].strip():
                    record[key] = row[column[key]].strip()
        except _Invalid as exc:
            yield start, exc
            continue
        yield start, record


# -- reading -----------------------------------------------------------------

def read_annotations(paths: Sequence[str | Path], fmt: str | None = None,
                     summary: ImportSummary | None = None) -> tuple[list[dict], list[Problem]]:
    """Records and conversion problems of annotation files or folders.

    ``fmt`` forces one format for every file (else each file's format is
    detected from its content). ``summary``, when given, is filled with the
    format and record count of each file and the skipped examples. Records
    are *not* validated here: see :func:`validate_annotations`.
    """
    if fmt is not None and fmt not in FORMATS:
        raise AnnotationFormatError(f"unknown annotation format {fmt!r}; choose one of {', '.join(FORMATS)}")
    summary = summary if summary is not None else ImportSummary()
    records: list[dict] = []
    problems: list[Problem] = []
    for path in iter_annotation_files(paths):
        text = _read_text(path)
        file_fmt = fmt or _detect(text, path)
        summary.formats[path] = file_fmt

        def skip(reason: str) -> None:
            summary.skipped[reason] += 1

        if file_fmt == "csv":
            items = _read_csv(text, path)
            convert = None
        else:
            items = _iter_items(text)
            convert = _JSON_CONVERTERS[file_fmt]
            if _first_char(text) not in ("[", "{", ""):
                problems.append(Problem(path, 1, f"not a JSON {file_fmt} file (it does not start with '[' or '{{')"))
                continue
        count = 0
        for line, item in items:
            try:
                if isinstance(item, _Invalid):
                    raise item
                record = item if convert is None else convert(item, skip)
            except _Invalid as exc:
                problems.append(Problem(path, line, str(exc)))
                continue
            if record is _SKIP:
                continue
            record["_file"] = path
            record["_line"] = line
            records.append(record)
            count += 1
        summary.records[path] = count
    log.info("annotations: %s", summary)
    return records, problems


def validate_annotations(records: Iterable[dict], tokenizer=None) -> list[Problem]:
    """:func:`pipeline.corpus.validate_records`: every problem as ``file:line: reason``."""
    return validate_records(records, tokenizer)


def _text_key(text: object) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def load_for_training(paths: Sequence[str | Path], fmt: str | None = None, tokenizer=None,
                      skip_invalid: bool = False, summary: ImportSummary | None = None,
                      reference: Sequence[dict] = ()) -> tuple[list[dict], list[Problem], int]:
    """Read, convert and validate annotations for ``train``.

    Returns ``(records, problems, dropped)``. Without ``skip_invalid`` the
    records come back untouched with every problem, and ``dropped`` is 0: a
    caller stops when ``problems`` is not empty. With ``skip_invalid`` every
    record with a problem is left out, and so is *every* record whose text
    has conflicting labels (not only the one the validator points at), so
    neither side of a disagreement is learned; ``dropped`` counts the records
    left out plus the items that could not be converted. The problems are
    still returned, to be shown as warnings.

    ``reference`` (e.g. the corpus's train and test records) is validated
    together with the imports, so a text the corpus labels differently, or a
    duplicate id, is reported on the imported record; reference records are
    never returned or dropped.
    """
    records, problems = read_annotations(paths, fmt, summary)
    unconverted = {(p.file, p.line) for p in problems}
    reference = list(reference)
    problems = problems + validate_annotations(reference + records, tokenizer)
    if not skip_invalid:
        return records, problems, 0
    bad_places = {(p.file, p.line) for p in problems}
    labels_of: dict[str, set] = {}
    for r in reference + records:
        labels_of.setdefault(_text_key(r.get("text")), set()).add(r.get("label"))
    kept = [r for r in records
            if (r.get("_file"), r.get("_line")) not in bad_places and len(labels_of[_text_key(r.get("text"))]) == 1]
    dropped = len(records) - len(kept) + len(unconverted)
    if dropped:
        log.info("annotations: dropped %d invalid records (skip_invalid)", dropped)
    return kept, problems, dropped


def split_holdout(records: Sequence[dict], fraction: float = 0.2, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """``(train_part, holdout_part)``, decided per record by a hash of its
    whitespace-normalised text (and ``seed``): the same text always lands on
    the same side, whatever else is in the list or in which order. The
    holdout share is ``fraction`` in expectation, not exactly."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    train_part, holdout_part = [], []
    for record in records:
        digest = hashlib.sha256(f"{seed}\0{_text_key(record.get('text'))}".encode("utf-8")).digest()
        (holdout_part if int.from_bytes(digest[:8], "big") / 2 ** 64 < fraction else train_part).append(record)
    return train_part, holdout_part
