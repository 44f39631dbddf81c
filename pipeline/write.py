"""Labeled-CSV rows, error files and atomic file output.

Every output is written under a ``.partial`` name and renamed into place only
when complete, so a crash or Ctrl-C never leaves a file that looks finished.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from .classify import LABELS

COLUMNS = [
    "source", "thread", "post_id", "author", "is_quote", "quoted_author",
    "sentence_index", "start", "end", "sentence",
    "label", "confidence", *[f"p_{label}" for label in LABELS],
    "entities", "model_version", "evidence_model", "notes",
]
ERROR_COLUMNS = ["locator", "reason", "excerpt"]
PARTIAL_SUFFIX = ".partial"

# OWASP CSV-injection guidance: cells a spreadsheet would evaluate as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = {"source", "thread", "post_id", "author", "quoted_author", "sentence", "entities", "notes",
                 "locator", "reason", "excerpt"}


def excel_safe(value: str) -> str:
    """Prefix a formula-looking cell with ``'`` so spreadsheets show it as text."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def entities_json(ents: list[dict]) -> str:
    return json.dumps(ents, ensure_ascii=False, separators=(",", ":"))


def format_rows(rows: list[dict], columns: list[str] = COLUMNS, make_excel_safe: bool = False) -> str:
    """Rows as RFC 4180 CSV text (CRLF line ends, minimal quoting), no header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        values = [row.get(c, "") for c in columns]
        if make_excel_safe:
            values = [excel_safe(v) if c in _TEXT_COLUMNS and isinstance(v, str) else v
                      for c, v in zip(columns, values)]
        writer.writerow(values)
    return buffer.getvalue()


def header(columns: list[str] = COLUMNS) -> str:
    return format_rows([{c: c for c in columns}], columns)


class AtomicWriter:
    """A text file written under ``<path>.partial`` and renamed on :meth:`commit`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self._fh = open(self.partial, "w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        self._fh.write(text)

    def commit(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        try:
            self.partial.unlink()
        except FileNotFoundError:
            pass


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``path`` under ``<name>.partial`` (creating its folder) and rename it into place."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    writer = AtomicWriter(path)
    try:
        writer.write(text)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def remove_stale_partials(directory: Path) -> list[Path]:
    """Leftovers of an interrupted run; they were never complete."""
    removed = []
    for path in directory.glob("*" + PARTIAL_SUFFIX):
        path.unlink()
        removed.append(path)
    return removed
