"""Input readers for claimtag: turn forum dumps into a stream of Post / BadRecord.

Public interface
================

``read_records(path, fmt=None, text_column="text")`` yields ``Post`` for every
usable record and ``BadRecord`` for every record that cannot be used (the run
goes on).  ``IngestFatal`` means the whole input cannot be read (unknown
format, missing text column, unreadable or non-gzip ``.gz`` file, UTF-16
file...).  ``read_records`` is a generator: nothing happens until the first
``next()``, and ``IngestFatal`` is only ever raised *before the first record
is yielded*, so a caller never has to undo partial output.

Formats (``FORMATS``) are chosen by ``detect_format`` from the file name
(``.txt`` -> forum-text, ``.jsonl``/``.ndjson`` -> jsonl, ``.csv`` -> csv,
each optionally ``.gz``) or given explicitly (required for stdin, ``"-"``).

Common behaviour (all formats)
------------------------------
* Streaming: input is read in 64 KiB chunks and split into lines; jsonl and
  csv keep one record in memory, forum-text keeps one thread (see below).
* gzip: ``.gz`` names must be gzip data (else IngestFatal); any input that
  starts with the gzip magic bytes is decompressed whatever its name (so
  gzipped stdin works).  A truncated or corrupt gzip stream yields the records
  read so far and then exactly one BadRecord for the tail ("truncated gzip
  stream: file ends early").
* Decoding is per physical line: UTF-8; a UTF-8 BOM at file start is dropped;
  a line that is not valid UTF-8 is decoded as cp1252 (bytes cp1252 lacks
  fall back to latin-1) and the record gets the note "decoded as cp1252".
  A UTF-16 byte-order mark is IngestFatal (convert the file to UTF-8).
* NUL and other C0 control characters except TAB, LF and CR are removed (also
  from JSON ``\\u0000`` escapes); the record gets the note
  "removed N NUL/control characters".
* ``Post.text`` has CRLF/CR normalised to LF and surrounding whitespace
  stripped; empty or whitespace-only text is ``BadRecord(reason="empty text")``.
* Locators are ``"line N"``: the 1-based physical line (LF-terminated) where
  the record starts, for every format (for csv the header is line 1 and a
  record with embedded newlines is located at its first line).

jsonl
-----
One JSON object per line; blank lines are skipped.  The text key is
``text_column`` (default ``"text"``), required and a string.  Optional
``post_id`` (else ``id``), ``thread``, ``author``: strings or numbers (numbers
are stringified), ``null`` counts as absent, other types are ignored with a
note.  Default post_id: ``"line N"``.

csv
---
RFC 4180 via the csv module (comma separated, double-quote quoting, fields may
contain newlines).  A header row is required; column names are matched after
stripping whitespace, exactly first, then case-insensitively.  The text
column is ``text_column``; optional columns ``post_id`` (else ``id``),
``thread``, ``author``.  Rows with a different number of fields than the
header are ``BadRecord("ragged row: 5 fields, header has 4")``; blank lines
are skipped; a quoted field left open at end of file is a BadRecord.  The csv
field size limit is raised to 16 MiB.  Default post_id: ``"line N"``.

forum-text (plain-text scrapes of XenForo-style threads)
--------------------------------------------------------
Example of the shape this reader expects (any of the UI lines may be missing,
and extra UI lines may appear anywhere)::

    Botox for hair loss? New mouse study            <- thread title
    Thread starter baldguy88 Start date Mar 3, 2021 <- thread boundary
    Page 1 of 2
    Next

    baldguy88                                       <- author line (may be missing)
    Senior Member                                   <- role line (may be missing)
    Reaction score
    312
    Joined
    Jan 14, 2019
    Mar 3, 2021                                     <- post date
    #1                                              <- post number
    So a new paper injected BoNT/A into C57BL/6J mice...
    Anyone read the full text?

    Like 3                                          <- footer UI
    Reply

    Member                                          <- next post, author missing
    Mar 4, 2021
    #2
    baldguy88 said:                                 <- quote header
    So a new paper injected BoNT/A into C57BL/6J mice...
    Click to expand...                              <- quote end
    Mice aren't men.                                <- the reply

Threads.  A new thread starts at (1) a "Thread starter NAME [Start date
DATE]" line (also "Thread starter" with the name on the next line, and the
XenForo 1 form "Discussion in 'FORUM' started by NAME, DATE."): the nearest
preceding non-blank, non-UI line is the title; or (2) a separator line made
only of five or more "=" characters: the first line after it is the title if
the next meaningful line starts a post (author/role/date/#N/user info).  The
same title + "Thread starter" seen again right after its own thread (a
multi-page scrape) continues that thread instead of starting a new one.  The
start of the file is treated like a separator.  Text before the first thread
header of a file that has thread headers, and that contains no post header at
all, is one BadRecord ("text before the first thread header").

Line classes (whole stripped line, case-insensitive):
  * role lines: Member, Moderator, Admin(istrator), with up to two words such
    as New / Senior / Established / Well-known / Staff / Super in front
    (e.g. "Well-known member", "Staff member"), also Banned, Guest;
  * header UI (belong to the top of a post): dates ("Mar 3, 2021", "3 March
    2021", "2021-03-03", "Yesterday at 4:12 PM", "5 hours ago", optionally
    with a time), post numbers ("#12", "Mar 3, 2021 #12"), user info labels
    with their value on the same or the next line (Joined, Messages, Reaction
    score, Points, Trophy points, Solutions, Likes received, Location), "My
    Regimen", "Add bookmark", a single-character avatar letter;
  * footer / page UI (end the current post once it has text or a date/#N): Like / Reply / Report /
    Quote / Share buttons, reaction counts ("Like 3", "Thanks 2"),
    "Reactions: a, b", "3 people like this", "Last edited: ...", "Page 1 of
    3", Prev / Next, breadcrumbs, "Start date ...", bare numbers, etc.;
  * inline UI: "Click to expand...", "Click to shrink...", "View attachment
    ...";
  * everything else is text.  UI lines never reach Post.text.

Posts.  An *author line* is a short name-like line (<= 40 chars, <= 4 words,
no , ; : ! ? and not ending in ".") that does not continue a paragraph and is
followed (blank lines and an avatar letter skipped) by a role line or a user
info label.  A new post starts at an author line, or at a role / header UI
line when the current post already has text (so with author and role missing,
the date / "#N" block is the boundary), or at a text line after a footer line.
A short line between the author/role and the date of the same post is a
custom user title and is dropped.  A text line directly after a post's
date/#N (no footer in between) is that post's text, never the next author.  Post ids are
"<thread number in file>-<N>" where N is the "#N" post number when present,
else the post's position in the thread; a clash gets ".2", ".3"...  The
first post's missing author is taken from the "Thread starter" line, and a
post whose author is missing but which is quoted later gets the quoting
header's name (both add a note).

Quotes.  "NAME said:" (or "NAME wrote:") at the start of a paragraph, NAME
name-like and not starting with a pronoun/determiner ("My derm said:" is
text).  The quote ends at the next "Click to expand..." before the next quote
header; otherwise at the longest run of lines whose whitespace-normalised,
case-folded text is a contiguous excerpt of one earlier post of the thread
(the rest is the reply); otherwise at the first blank line (or after one line
if there is none).  ``repeats_post_id`` is the earlier post containing the
quote (ties: same author, then the most recent), requiring at least 15
characters or the whole earlier post; else None.  Quotes are removed from
Post.text.

Memory: forum-text buffers one thread at a time (quotes need the earlier posts
of the thread), so memory is bounded by the largest thread, not the file.
Known limits: a custom user title that replaces the role line, a date alone on
a line inside a post (it splits the post), a short one-line post ending just
before the next post's role line with no UI in between (it is read as that
post's author), nested quotes (XenForo strips them when replying) and site
footers ("Similar threads" lists) are misread.  When a gzip stream breaks, the
post being read at that point becomes the one tail BadRecord.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, NamedTuple

__all__ = [
    "IngestFatal",
    "Quote",
    "Post",
    "BadRecord",
    "FORMATS",
    "detect_format",
    "iter_input_files",
    "read_records",
]


# --------------------------------------------------------------------------
# public types


class IngestFatal(Exception):
    """A whole input cannot be read (unknown format, missing text column,
    unreadable file). Message says what to do, names what was found."""


class Quote(NamedTuple):
    author: str  # "" when unknown
    text: str
    repeats_post_id: str | None = None  # earlier post of the thread it repeats


@dataclass
class Post:
    source: str  # the input path as given by the user
    thread: str  # thread title / id ("" if none)
    post_id: str
    author: str  # "" when unknown
    text: str  # the post's own text: quotes and UI lines removed
    quotes: list[Quote] = field(default_factory=list)
    locator: str = ""  # "line N": physical line where the record starts
    notes: list[str] = field(default_factory=list)  # non-fatal fixes applied


@dataclass
class BadRecord:
    locator: str
    reason: str
    excerpt: str  # up to 200 chars of the raw record


FORMATS = ("forum-text", "jsonl", "csv")

_EXTENSIONS = {".txt": "forum-text", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
_EXCERPT_CHARS = 200
_CHUNK = 1 << 16
_CSV_FIELD_LIMIT = 16 * 1024 * 1024
_MIN_REPEAT_CHARS = 15
_TRUNCATED = "truncated gzip stream: file ends early"


# --------------------------------------------------------------------------
# format detection and input walking


def _split_ext(path: str) -> tuple[str, bool]:
    name = os.path.basename(path).lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    return os.path.splitext(name)[1], gz


def detect_format(path: str) -> str:
    """Format of ``path`` from its name; IngestFatal if unknown or stdin."""
    if path == "-":
        raise IngestFatal(
            "reading from stdin ('-') needs an explicit format: "
            "pass --format forum-text, --format jsonl or --format csv"
        )
    ext, gz = _split_ext(path)
    fmt = _EXTENSIONS.get(ext)
    if fmt is None:
        shown = (ext or "(no extension)") + (".gz" if gz else "")
        raise IngestFatal(
            f"cannot tell the format of {path}: unknown extension {shown!r} "
            "(known: .txt, .jsonl, .ndjson, .csv, each optionally .gz); "
            "rename the file or pass --format forum-text|jsonl|csv"
        )
    return fmt


def _has_known_ext(name: str) -> bool:
    return _split_ext(name)[0] in _EXTENSIONS


def iter_input_files(inputs: list[str]) -> Iterator[str]:
    """Files as given; directories walked recursively (sorted, symlinks
    followed, each real directory visited once, hidden entries skipped,
    only files with a known extension, each real file yielded once per
    walk); "-" passed through."""
    for inp in inputs:
        if inp != "-" and os.path.isdir(inp):
            yield from walk_files(inp, _has_known_ext)
        else:
            yield inp


def walk_files(top: str, accept) -> Iterator[str]:
    """Files below ``top`` whose name ``accept(name)`` takes: sorted, symlinks
    followed, each real directory and file once (symlink loops end), hidden
    entries skipped. An unlistable directory raises IngestFatal."""
    yield from _walk(top, set(), set(), accept)


def _walk(top: str, seen_dirs: set[str], seen_files: set[str], accept) -> Iterator[str]:
    real = os.path.realpath(top)
    if real in seen_dirs:
        return
    seen_dirs.add(real)
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise IngestFatal(
            f"cannot list directory {top}: {exc.strerror or exc}; "
            "fix its permissions or pass the files individually"
        ) from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = os.path.join(top, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
            is_file = not is_dir and entry.is_file(follow_symlinks=True)
        except OSError:
            continue
        if is_dir:
            yield from _walk(path, seen_dirs, seen_files, accept)
        elif is_file and accept(entry.name):
            real_file = os.path.realpath(path)
            if real_file not in seen_files:
                seen_files.add(real_file)
                yield path


# --------------------------------------------------------------------------
# byte stream -> decoded lines


def _latin1_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("claimtag-latin1", _latin1_fallback)

_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class _Line:
    no: int  # 1-based physical line number
    text: str  # decoded, control characters removed, line ending kept
    cp1252: bool = False
    removed: int = 0


@dataclass
class _Tail:
    no: int  # line number where the unreadable tail starts
    text: str  # decoded partial line ("" if the stream broke at a line end)
    reason: str


class _Prefixed:
    """A binary stream with some already-read bytes put back in front."""

    def __init__(self, head: bytes, raw):
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _take_head(self, n):
        if n is None or n < 0:
            data, self._head = self._head, b""
        else:
            data, self._head = self._head[:n], self._head[n:]
        return data

    def read(self, n=-1):
        if self._head:
            data = self._take_head(n)
            if n is None or n < 0:
                data += self._raw.read()
            return data
        return self._raw.read(n)

    def read1(self, n=-1):
        if self._head:
            return self._take_head(n)
        read1 = getattr(self._raw, "read1", None)
        if read1 is not None:
            return read1(n)
        return self._raw.read(n)


def _open_stream(path: str):
    """Return (stream with read1, raw file to close or None)."""
    if path == "-":
        raw = getattr(sys.stdin, "buffer", sys.stdin)
        closer = None
    else:
        try:
            raw = open(path, "rb")
        except IsADirectoryError as exc:
            raise IngestFatal(f"{path} is a directory, not a file; pass it as an input to walk it") from exc
        except OSError as exc:
            raise IngestFatal(f"cannot open {path}: {exc.strerror or exc}; check the path and its permissions") from exc
        closer = raw
    try:
        head = raw.read(2)
    except OSError as exc:
        if closer is not None:
            closer.close()
        raise IngestFatal(f"cannot read {path}: {exc.strerror or exc}") from exc
    head = head or b""
    stream = _Prefixed(head, raw)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream, mode="rb"), closer
    if head and path != "-" and _split_ext(path)[1]:
        if closer is not None:
            closer.close()
        raise IngestFatal(
            f"{path} has a .gz extension but is not gzip data (starts with {head!r}); "
            "decompress or rename it"
        )
    return stream, closer


def _make_line(no: int, raw: bytes) -> _Line:
    if no == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
        cp = False
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="claimtag-latin1")
        cp = True
    text, removed = _CTRL_RE.subn("", text)
    return _Line(no, text, cp, removed)


def _iter_lines(path: str) -> Iterator[_Line | _Tail]:
    """Decoded lines of ``path``; a broken stream ends with one _Tail."""
    stream, closer = _open_stream(path)
    try:
        read1 = getattr(stream, "read1", None) or stream.read
        pending = bytearray()
        no = 0
        got_data = False
        reason = None
        while True:
            try:
                chunk = read1(_CHUNK)
            except EOFError:
                reason = _TRUNCATED
                break
            except (gzip.BadGzipFile, zlib.error) as exc:
                if not got_data:
                    raise IngestFatal(
                        f"cannot read {path}: not a valid gzip stream ({exc}); "
                        "check the file or decompress it first"
                    ) from exc
                reason = f"corrupt gzip stream: {exc}"
                break
            except OSError as exc:
                if not got_data:
                    raise IngestFatal(f"cannot read {path}: {exc.strerror or exc}") from exc
                reason = f"read error: {exc.strerror or exc}"
                break
            if not chunk:
                break
            if not got_data and (chunk.startswith(b"\xff\xfe") or chunk.startswith(b"\xfe\xff")):
                raise IngestFatal(
                    f"{path} looks like UTF-16 (byte-order mark {bytes(chunk[:2])!r}); "
                    "convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8"
                )
            got_data = True
            parts = chunk.split(b"\n")
            if len(parts) == 1:
                pending += chunk
                continue
            pending += parts[0]
            no += 1
            yield _make_line(no, bytes(pending) + b"\n")
            for part in parts[1:-1]:
                no += 1
                yield _make_line(no, part + b"\n")
            pending = bytearray(parts[-1])
        if reason is not None:
            tail = _make_line(no + 1, bytes(pending)) if pending else _Line(no + 1, "")
            yield _Tail(no + 1, tail.text, reason)
        elif pending:
            no += 1
            yield _make_line(no, bytes(pending))
    finally:
        if closer is not None:
            closer.close()


def _notes(cp1252: bool, removed: int) -> list[str]:
    notes = []
    if cp1252:
        notes.append("decoded as cp1252")
    if removed:
        notes.append(f"removed {removed} NUL/control character{'s' if removed != 1 else ''}")
    return notes


def _excerpt(text: str) -> str:
    return text[:_EXCERPT_CHARS]


def _norm_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------
# read_records


def read_records(path: str, fmt: str | None = None, text_column: str = "text") -> Iterator[Post | BadRecord]:
    """Stream the records of one input ("-" = stdin, then ``fmt`` is required)."""
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS:
        raise IngestFatal(f"unknown format {fmt!r}; use --format with one of: {', '.join(FORMATS)}")
    lines = _iter_lines(path)
    if fmt == "jsonl":
        yield from _read_jsonl(path, lines, text_column)
    elif fmt == "csv":
        yield from _read_csv(path, lines, text_column)
    else:
        yield from _ForumReader(path).read(lines)


# --------------------------------------------------------------------------
# jsonl


def _type_name(value) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def _optional_str(obj: dict, keys: Iterable[str], notes: list[str]) -> tuple[str | None, int]:
    """First present key's value as a cleaned string; (None, 0) if absent."""
    for key in keys:
        if key not in obj or obj[key] is None:
            continue
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            notes.append(f"ignored '{key}': not a string or number (got {_type_name(value)})")
            continue
        text, removed = _CTRL_RE.subn("", str(value))
        return text.strip(), removed
    return None, 0


def _read_jsonl(path: str, lines: Iterator[_Line | _Tail], text_key: str) -> Iterator[Post | BadRecord]:
    for item in lines:
        if isinstance(item, _Tail):
            yield BadRecord(f"line {item.no}", item.reason, _excerpt(item.text))
            return
        line = item.text.rstrip("\r\n")
        if not line.strip():
            continue
        loc = f"line {item.no}"
        try:
            obj = json.loads(line, strict=False)
        except json.JSONDecodeError as exc:
            yield BadRecord(loc, f"invalid JSON: {exc.msg} (column {exc.colno})", _excerpt(line))
            continue
        except RecursionError:
            yield BadRecord(loc, "invalid JSON: nested too deeply", _excerpt(line))
            continue
        if not isinstance(obj, dict):
            yield BadRecord(loc, f"line is not a JSON object (got {_type_name(obj)})", _excerpt(line))
            continue
        if text_key not in obj:
            yield BadRecord(loc, f"missing '{text_key}'", _excerpt(line))
            continue
        text = obj[text_key]
        if not isinstance(text, str):
            yield BadRecord(loc, f"'{text_key}' is not a string (got {_type_name(text)})", _excerpt(line))
            continue
        text, removed = _CTRL_RE.subn("", text)
        text = _norm_newlines(text).strip()
        if not text:
            yield BadRecord(loc, "empty text", _excerpt(line))
            continue
        extra: list[str] = []
        post_id, r1 = _optional_str(obj, ("post_id", "id"), extra)
        thread, r2 = _optional_str(obj, ("thread",), extra)
        author, r3 = _optional_str(obj, ("author",), extra)
        yield Post(
            source=path,
            thread=thread or "",
            post_id=post_id or loc,
            author=author or "",
            text=text,
            quotes=[],
            locator=loc,
            notes=_notes(item.cp1252, item.removed + removed + r1 + r2 + r3) + extra,
        )


# --------------------------------------------------------------------------
# csv


class _CsvFeeder:
    """Feeds decoded lines to csv.reader and remembers what the current
    record was made of (start line, raw text for the excerpt, notes)."""

    def __init__(self, lines: Iterator[_Line | _Tail]):
        self._lines = lines
        self.exhausted = False
        self.tail: _Tail | None = None
        self._reset()

    def _reset(self) -> None:
        self.start: int | None = None
        self.raw: list[str] = []
        self._raw_len = 0
        self.cp1252 = False
        self.removed = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.exhausted:
            raise StopIteration
        try:
            item = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        if isinstance(item, _Tail):
            self.tail = item
            self.exhausted = True
            raise StopIteration
        if self.start is None:
            self.start = item.no
        if self._raw_len < _EXCERPT_CHARS:
            self.raw.append(item.text)
            self._raw_len += len(item.text)
        self.cp1252 |= item.cp1252
        self.removed += item.removed
        return item.text

    def take(self) -> tuple[int | None, str, bool, int]:
        out = (self.start, "".join(self.raw), self.cp1252, self.removed)
        self._reset()
        return out


def _find_column(header: list[str], name: str) -> int | None:
    if name in header:
        return header.index(name)
    low = name.strip().casefold()
    for i, col in enumerate(header):
        if col.casefold() == low:
            return i
    return None


def _read_csv(path: str, lines: Iterator[_Line | _Tail], text_column: str) -> Iterator[Post | BadRecord]:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    feeder = _CsvFeeder(lines)
    reader = csv.reader(feeder, strict=False)
    header: list[str] | None = None
    while header is None:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise IngestFatal(f"cannot read the CSV header of {path}: {exc}") from exc
        if feeder.tail is not None:
            break
        if row and any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
        feeder.take()
    if header is None:
        what = "is truncated before" if feeder.tail is not None else "has no"
        raise IngestFatal(
            f"{path} {what} a header row; a CSV input needs a header naming its columns, "
            f"one of them '{text_column}'"
        )
    text_idx = _find_column(header, text_column)
    if text_idx is None:
        hint = ""
        if len(header) == 1:
            for delim in (";", "\t", "|"):
                if delim in header[0]:
                    hint = f" (the header looks {delim!r}-separated; only comma-separated CSV is read)"
                    break
        raise IngestFatal(
            f"no column '{text_column}' in {path}; columns found: {', '.join(header)}{hint}; "
            "use --text-column NAME"
        )
    id_idx = _find_column(header, "post_id")
    if id_idx is None:
        id_idx = _find_column(header, "id")
    thread_idx = _find_column(header, "thread")
    author_idx = _find_column(header, "author")

    def tail_record() -> BadRecord:
        start, raw, _, _ = feeder.take()
        tail = feeder.tail
        assert tail is not None
        return BadRecord(f"line {start if start is not None else tail.no}", tail.reason, _excerpt(raw + tail.text))

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if feeder.tail is not None:
                yield tail_record()
                return
            start, raw, _, _ = feeder.take()
            yield BadRecord(f"line {start}", f"CSV error: {exc}", _excerpt(raw))
            continue
        if feeder.exhausted:
            # the row was closed by end of input, not by a line end
            if feeder.tail is not None:
                yield tail_record()
                return
            start, raw, _, _ = feeder.take()
            yield BadRecord(f"line {start}", "unterminated quoted field at end of file", _excerpt(raw))
            continue
        start, raw, cp, removed = feeder.take()
        loc = f"line {start}"
        if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
            continue  # blank line
        if len(row) != len(header):
            yield BadRecord(loc, f"ragged row: {len(row)} fields, header has {len(header)}", _excerpt(raw))
            continue
        text = _norm_newlines(row[text_idx]).strip()
        if not text:
            yield BadRecord(loc, "empty text", _excerpt(raw))
            continue

        def col(idx: int | None) -> str:
            return row[idx].strip() if idx is not None else ""

        yield Post(
            source=path,
            thread=col(thread_idx),
            post_id=col(id_idx) or loc,
            author=col(author_idx),
            text=text,
            quotes=[],
            locator=loc,
            notes=_notes(cp, removed),
        )
    if feeder.tail is not None:
        yield tail_record()


# --------------------------------------------------------------------------
# forum-text: line classification

BLANK, TEXT, TITLE, AUTHOR, ROLE, HEADER, POSTNUM, CLOSER, EXPAND, INLINE = (
    "blank", "text", "title", "author", "role", "header", "postnum", "closer", "expand", "inline",
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_TIME = r"(?:\s*,?\s*(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)"
_WEEKDAY = r"(?:today|yesterday|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DATE_CORE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}{_TIME}?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}{_TIME}?"
    r"|\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}{_TIME}?"
    rf"|\d{{1,2}}\.\d{{1,2}}\.\d{{4}}{_TIME}?"
    rf"|{_WEEKDAY}{_TIME}"
    r"|(?:a|an|one|\d+)\s+(?:sec(?:ond)?|min(?:ute)?|hour|hr|day|week|month|year)s?\s+ago"
    r"|just now|a moment ago)"
)
_DATE_RE = re.compile(rf"^{_DATE_CORE}$", re.I)
_JOINDATE_RE = re.compile(rf"^(?:{_DATE_CORE}|{_MONTH}\s+\d{{4}})$", re.I)
_POSTNUM_RE = re.compile(
    rf"^(?:{_DATE_CORE}\s*)?(?:add bookmark\s*)?(?:post\s*)?#(\d+)(?:\s*{_DATE_CORE})?$", re.I
)
_NUM_RE = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?[km]?$", re.I)
_ROLE_RE = re.compile(
    r"^(?:(?:(?:new|junior|full|established|senior|active|valued|well[- ]known|respected|veteran|"
    r"platinum|gold|silver|bronze|premium|registered|super|global|forum|staff|legendary|elite|"
    r"experienced|regular|verified|vip|trusted|contributing|supporting|lifetime|founding|"
    r"retired|inactive|banned|expert|known)\s+){0,2}(?:member|moderator|mod|administrator|admin)"
    r"|banned|guest)$",
    re.I,
)

# label -> (value kind, class); value on the same line or on the next line
_LABELS = {
    "joined": ("date", HEADER),
    "messages": ("num", HEADER),
    "reaction score": ("num", HEADER),
    "points": ("num", HEADER),
    "trophy points": ("num", HEADER),
    "solutions": ("num", HEADER),
    "likes received": ("num", HEADER),
    "location": ("any", HEADER),
    "start date": ("date", CLOSER),
    "replies": ("num", CLOSER),
    "views": ("num", CLOSER),
    "tags": ("any", CLOSER),
}
_LABEL_RE = re.compile(
    r"^(" + "|".join(re.escape(k) for k in sorted(_LABELS, key=len, reverse=True)) + r")\b\s*(:)?\s*(.*)$",
    re.I,
)
_HEADER_MISC_RE = re.compile(r"^(?:my regimen|add bookmark|bookmark|online|offline|op|original poster)$", re.I)
_AVATAR_RE = re.compile(r"^[^\W_]$")
_EXPAND_RE = re.compile(r"^click to (?:expand|shrink)\s*(?:\.\.\.|…)?$", re.I)
_INLINE_RE = re.compile(r"^(?:view attachment\b.*|attachments?\s*:?)$", re.I)
_CLOSER_RES = [
    re.compile(p, re.I)
    for p in (
        r"^(?:\+?\s*(?:like|unlike|reply|report|quote|multi-?quote|share|remove bookmark|permalink|react|"
        r"reply with quote)\s*[|·•]?\s*)+$",
        r"^(?:likes?|loves?|haha|wow|sad|angry|thanks|agree|disagree|informative|helpful|funny|winner|"
        r"useful)\s*[:x×]?\s*\d+$",
        r"^(?:reactions|liked by)\s*:.*$",
        r"^reactions$",
        r"^(?:\d+|one|two|three|four|five)\s+(?:people|persons?|members?|users?|others?)\s+(?:like|likes|liked)"
        r"\s+this\.?$",
        r"^[^\s,]{1,40}\s+likes\s+this\.?$",
        r"^[^\s,]{1,40}(?:,\s*[^\s,]{1,40})*,?\s+and\s+(?:\d+\s+others?|[^\s,]{1,40})\s+like\s+this\.?$",
        r"^last edited(?:\s+by\s+[^:]{1,60})?\s*:.*$",
        r"^page\s+\d+\s+of\s+\d+$",
        r"^(?:[«‹<]\s*)?(?:prev|previous|next|first|last)(?:\s+page)?(?:\s*[»›>])?$",
        r"^(?:[«‹]\s*)?(?:prev\s+)?(?:(?:\d+|…|\.\.\.)\s+)+\d+(?:\s+next)?(?:\s*[»›])?$",
        r"^go to page$",
        r"^(?:share(?:\s+this\s+(?:page|thread|post))?\s*:?|similar threads|"
        r"you must log in or register to reply here\.?|not open for further replies\.?|thread status\s*:.*|"
        r"jump to new|watch|unwatch|ignore|follow|sort by (?:date|votes)|you are using an out of date browser.*|"
        r"write your reply\.*|log in|register|what's new|forums|home|menu|search|members|top|bottom)$",
        r"^(?:home|forums)\s*[>›»/].*$",
    )
]
_SEP_RE = re.compile(r"^={5,}$")
_STARTER_RE = re.compile(
    r"^thread starter\b\s*:?\s*(?P<name>.*?)(?:\s*[·•|,]?\s*start date\s*:?\s*(?P<date>.*))?$", re.I
)
_DISCUSSION_RE = re.compile(
    r"^discussion in ['‘’\"].+?['‘’\"] started by (?P<name>.+?)(?:,\s*(?P<date>.+?))?\.?$", re.I
)
_QUOTE_RE = re.compile(r"^(?P<name>.{1,40}?)\s+(?:said|wrote)\s*:\s*[↑⬆^]?\s*$", re.I)
_QUOTE_NAME_STOP = frozenset(
    "my his her their our your the a an he she they i you we it someone somebody everyone everybody "
    "who which that this and but so also then derm doctor doc dr mom mum dad wife husband study paper "
    "article author authors one nobody people".split()
)
_NAME_BAD = frozenset(',;:!?"')


def _name_like(s: str) -> bool:
    return (
        0 < len(s) <= 40
        and len(s.split()) <= 4
        and not any(c in _NAME_BAD for c in s)
        and s[-1] not in ".…"
        and any(c.isalnum() for c in s)
    )


def _quote_name(s: str) -> str | None:
    """NAME when ``s`` looks like a "NAME said:" quote header."""
    m = _QUOTE_RE.match(s)
    if not m:
        return None
    name = m.group("name").strip()
    if not _name_like(name):
        return None
    if name.split()[0].strip("'’").casefold() in _QUOTE_NAME_STOP:
        return None
    return name


def _label(s: str):
    """(kind, class, inline value or None) for a user-info / thread label."""
    m = _LABEL_RE.match(s)
    if not m:
        return None
    kind, cls = _LABELS[m.group(1).lower()]
    colon, value = m.group(2), m.group(3).strip()
    if not value:
        return kind, cls, None
    if colon or (kind == "num" and _NUM_RE.match(value)) or (kind == "date" and _JOINDATE_RE.match(value)):
        return kind, cls, value
    return None


def _classify(s: str):
    """Context-free class of a stripped line: (class, info)."""
    if not s:
        return BLANK, None
    if _ROLE_RE.match(s):
        return ROLE, None
    m = _POSTNUM_RE.match(s)
    if m:
        return POSTNUM, int(m.group(1))
    if _DATE_RE.match(s):
        return HEADER, "date"
    lab = _label(s)
    if lab is not None:
        return "label", lab
    if _HEADER_MISC_RE.match(s):
        return HEADER, "misc"
    if _EXPAND_RE.match(s):
        return EXPAND, None
    if _INLINE_RE.match(s):
        return INLINE, None
    for rx in _CLOSER_RES:
        if rx.match(s):
            return CLOSER, None
    if _NUM_RE.match(s):
        return CLOSER, None
    if _AVATAR_RE.match(s):
        return HEADER, "avatar"
    return TEXT, None


def _value_ok(kind: str, s: str) -> bool:
    if kind == "num":
        return bool(_NUM_RE.match(s))
    if kind == "date":
        return bool(_JOINDATE_RE.match(s))
    return len(s) <= 60 and _classify(s)[0] == TEXT


def _starter(s: str) -> tuple[bool, str, bool]:
    """(is a thread-starter line, starter name or "", name is on the next line)."""
    m = _STARTER_RE.match(s) or _DISCUSSION_RE.match(s)
    if not m:
        return False, "", False
    name = (m.group("name") or "").strip()
    if name and not _name_like(name):
        return False, "", False
    return True, name, not name and m.group("date") is None


# --------------------------------------------------------------------------
# forum-text: threads, posts, quotes


@dataclass
class _Item:
    no: int
    s: str  # stripped line
    cls: str
    info: object = None
    cp1252: bool = False
    removed: int = 0


@dataclass
class _Thread:
    title: str | None  # None: to be detected from the section
    starter: str = ""


@dataclass
class _Block:
    start: int
    author: str = ""
    postnum: int | None = None
    has_text: bool = False
    closed: bool = False
    seen_user: bool = False  # author / role / user info seen
    seen_date: bool = False  # post date or #N seen
    items: list[_Item] = field(default_factory=list)
    content: list[_Item] = field(default_factory=list)


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def _contains(hay: str, needle: str) -> bool:
    """``needle`` occurs in ``hay`` without cutting a word at either end."""
    if not needle:
        return False
    start = hay.find(needle)
    while start >= 0:
        end = start + len(needle)
        ok_left = start == 0 or not (needle[0].isalnum() and hay[start - 1].isalnum())
        ok_right = end == len(hay) or not (needle[-1].isalnum() and hay[end].isalnum())
        if ok_left and ok_right:
            return True
        start = hay.find(needle, start + 1)
    return False


def _join(items: Iterable[_Item]) -> str:
    out: list[str] = []
    gap = False
    for it in items:
        if it.cls in (BLANK, EXPAND):
            gap = bool(out)
            continue
        if gap:
            out.append("")
            gap = False
        out.append(it.s)
    return "\n".join(out)


@dataclass
class _Earlier:
    post_id: str
    author: str
    norm: str
    post: Post | None


class _ForumReader:
    def __init__(self, source: str):
        self.source = source
        self.thread_no = 0
        self.used_ids: set[str] = set()

    # ---- streaming: split the line stream into threads
    def read(self, lines: Iterator[_Line | _Tail]) -> Iterator[Post | BadRecord]:
        section: list[_Item] = []
        thread = _Thread(None)
        seen_header = False
        pending_name = False
        for line in lines:
            if isinstance(line, _Tail):
                if line.text:
                    section.append(_Item(line.no, line.text.strip(), TEXT))
                yield from self._flush(section, thread, preamble=False, tail=line)
                return
            body = line.text.rstrip("\r\n")
            for k, sub in enumerate(body.split("\r")):
                s = sub.strip()
                item = _Item(line.no, s, "", None, line.cp1252 and k == 0, line.removed if k == 0 else 0)
                if pending_name and s:
                    pending_name = False
                    if _name_like(s) and _classify(s)[0] == TEXT:
                        thread.starter = s
                        continue
                if _SEP_RE.match(s):
                    yield from self._flush(section, thread, preamble=not seen_header)
                    seen_header = True
                    section, thread = [], _Thread(None)
                    continue
                is_starter, name, wants_name = _starter(s)
                if is_starter:
                    title, cut = self._pop_title(section)
                    if title and thread.title == title:
                        del section[cut:]  # next page of the same thread
                    else:
                        yield from self._flush(section[:cut], thread, preamble=not seen_header)
                        section, thread = [], _Thread(title, name)
                    seen_header = True
                    pending_name = wants_name
                    continue
                section.append(item)
        yield from self._flush(section, thread, preamble=False)

    @staticmethod
    def _pop_title(section: list[_Item]) -> tuple[str, int]:
        """Title line before a thread-starter line: (title, index to cut at)."""
        i = len(section) - 1
        while i >= 0:
            cls = _classify(section[i].s)[0]
            if cls in (BLANK, CLOSER):
                i -= 1
                continue
            if cls == TEXT:
                return section[i].s, i
            break
        return "", len(section)

    # ---- one thread
    def _flush(self, section: list[_Item], thread: _Thread, preamble: bool, tail: _Tail | None = None):
        items = self._classify_section(section, title_pending=thread.title is None)
        if thread.title is None:
            thread.title = self._detect_title(items)
        if preamble and any(it.cls == TEXT for it in items) and not any(
            it.cls in (AUTHOR, ROLE, HEADER, POSTNUM) for it in items
        ):
            first = next(it for it in items if it.cls == TEXT)
            raw = "\n".join(it.s for it in items if it.s)
            yield BadRecord(f"line {first.no}", "text before the first thread header (not a post)", _excerpt(raw))
            return
        blocks = self._blocks(items)
        if not blocks:
            if tail is not None:
                yield BadRecord(f"line {tail.no}", tail.reason, _excerpt(tail.text))
            return
        self.thread_no += 1
        broken = blocks.pop() if tail is not None else None
        results = self._posts(blocks, thread)
        yield from results
        if broken is not None:
            raw = "\n".join(it.s for it in broken.items)
            yield BadRecord(f"line {broken.start}", tail.reason, _excerpt(raw))

    @staticmethod
    def _classify_section(section: list[_Item], title_pending: bool) -> list[_Item]:
        items: list[_Item] = []
        expect = None  # (kind, class) of a label waiting for its value
        prev_cls = None  # class of the previous non-blank item
        for it in section:
            s = it.s
            if not s:
                it.cls = BLANK
                items.append(it)
                continue
            if expect is not None:
                kind, cls = expect
                expect = None
                if _value_ok(kind, s):
                    it.cls, it.info = cls, "value"
                    items.append(it)
                    prev_cls = cls
                    continue
            cls, info = _classify(s)
            if cls == "label":
                kind, lcls, value = info
                info = "user" if lcls == HEADER else None
                cls = lcls
                if value is None:
                    expect = (kind, lcls)
                elif kind == "any" and lcls == HEADER and prev_cls not in (ROLE, HEADER, POSTNUM):
                    cls, info = TEXT, None  # "Location: ..." written inside a post
            it.cls, it.info = cls, info
            items.append(it)
            prev_cls = cls
        # author lines
        first = next((i for i, it in enumerate(items) if it.cls != BLANK), None)
        for i, it in enumerate(items):
            if it.cls != TEXT or not _name_like(it.s) or _quote_name(it.s):
                continue
            if i > 0 and items[i - 1].cls == TEXT and not (title_pending and i - 1 == first):
                continue  # continues a paragraph
            j = i + 1
            while j < len(items) and (items[j].cls == BLANK or items[j].info == "avatar"):
                j += 1
            if j < len(items) and (items[j].cls == ROLE or (items[j].cls == HEADER and items[j].info == "user")):
                it.cls = AUTHOR
        return items

    @staticmethod
    def _detect_title(items: list[_Item]) -> str:
        f = next((i for i, it in enumerate(items) if it.cls != BLANK), None)
        if f is None or items[f].cls != TEXT or len(items[f].s) > 200:
            return ""
        for it in items[f + 1 :]:
            if it.cls in (BLANK, CLOSER, INLINE, EXPAND):
                continue
            if it.cls in (AUTHOR, ROLE, HEADER, POSTNUM):
                items[f].cls = TITLE
                return items[f].s
            break
        return ""

    @staticmethod
    def _next_significant(items: list[_Item], i: int) -> _Item | None:
        for it in items[i + 1 :]:
            if it.cls != BLANK:
                return it
        return None

    def _blocks(self, items: list[_Item]) -> list[_Block]:
        blocks: list[_Block] = []
        cur: _Block | None = None

        def new(it: _Item) -> _Block:
            b = _Block(start=it.no)
            blocks.append(b)
            return b

        for i, it in enumerate(items):
            c = it.cls
            if c == TITLE:
                continue
            if c == AUTHOR:
                if cur is not None and not cur.has_text and not cur.closed:
                    if cur.seen_date:
                        it.cls = c = TEXT  # first line of a post started by its date/#N
                    elif cur.seen_user:
                        it.cls = CLOSER  # custom user title inside the user block
                        cur.items.append(it)
                        continue
                if c == AUTHOR:
                    if cur is None or cur.has_text or cur.author or cur.closed:
                        cur = new(it)
                    cur.author = it.s
                    cur.seen_user = True
                    cur.items.append(it)
                    continue
            if c in (ROLE, HEADER, POSTNUM):
                if (
                    cur is None
                    or cur.has_text
                    or cur.closed
                    or (c == POSTNUM and cur.postnum is not None)
                    or ((c == ROLE or it.info == "user") and cur.seen_date)
                ):
                    cur = new(it)
                cur.items.append(it)
                if c == ROLE or it.info in ("user", "value"):
                    cur.seen_user = True
                if c == POSTNUM:
                    cur.postnum = it.info
                    cur.seen_date = True
                elif it.info == "date":
                    cur.seen_date = True
                continue
            if c == CLOSER:
                if cur is not None:
                    cur.items.append(it)
                    if cur.has_text or cur.seen_date:
                        cur.closed = True  # footer after the text, or after an empty post
                continue
            if c == TEXT:
                if cur is not None and not cur.has_text and cur.seen_user and not cur.seen_date and len(it.s) <= 60:
                    nxt = self._next_significant(items, i)
                    if nxt is not None and nxt.cls in (ROLE, HEADER, POSTNUM):
                        it.cls = CLOSER  # custom user title
                        cur.items.append(it)
                        continue
                if cur is None or cur.closed:
                    cur = new(it)
                cur.items.append(it)
                cur.content.append(it)
                cur.has_text = True
                continue
            # BLANK, EXPAND, INLINE
            if cur is not None:
                cur.items.append(it)
                cur.content.append(it)
        return blocks

    def _unique_id(self, base: str) -> str:
        pid, k = base, 1
        while pid in self.used_ids:
            k += 1
            pid = f"{base}.{k}"
        self.used_ids.add(pid)
        return pid

    def _posts(self, blocks: list[_Block], thread: _Thread) -> list[Post | BadRecord]:
        out: list[Post | BadRecord] = []
        earlier: list[_Earlier] = []
        by_id: dict[str, Post] = {}
        for ordinal, b in enumerate(blocks, 1):
            pid = self._unique_id(f"{self.thread_no}-{b.postnum if b.postnum is not None else ordinal}")
            text, quotes = self._split_quotes(b.content, earlier)
            loc = f"line {b.start}"
            if not text.strip():
                raw = "\n".join(it.s for it in b.items)
                out.append(BadRecord(loc, "empty text", _excerpt(raw)))
                continue
            notes = _notes(any(it.cp1252 for it in b.items), sum(it.removed for it in b.items))
            author = b.author
            if not author and thread.starter and (b.postnum == 1 or (b.postnum is None and ordinal == 1)):
                author = thread.starter
                notes.append("author taken from the 'Thread starter' line")
            post = Post(self.source, thread.title or "", pid, author, text, quotes, loc, notes)
            for q in quotes:
                target = by_id.get(q.repeats_post_id or "")
                if target is not None and not target.author and q.author:
                    target.author = q.author
                    target.notes.append(f"author taken from a quote in post {pid}")
            out.append(post)
            by_id[pid] = post
            earlier.append(_Earlier(pid, author, _norm(text), post))
        return out

    # ---- quotes
    @staticmethod
    def _best_repeat(norm_quote: str, earlier: list[_Earlier], name: str) -> str | None:
        best, best_key = None, None
        for idx, e in enumerate(earlier):
            if not (len(norm_quote) >= _MIN_REPEAT_CHARS or norm_quote == e.norm):
                continue
            if _contains(e.norm, norm_quote):
                key = (e.author == name, idx)
                if best_key is None or key > best_key:
                    best, best_key = e.post_id, key
        return best

    @staticmethod
    def _longest_run(lines: list[_Item], j: int, limit: int, earlier: list[_Earlier], name: str):
        """(lines consumed, post id) of the longest run from ``j`` that is an
        excerpt of one earlier post; (0, None) if none."""
        best = (0, None)
        best_key = None
        for idx, e in enumerate(earlier):
            acc, k = "", 0
            for t in range(j, limit):
                it = lines[t]
                if it.cls == BLANK:
                    continue
                if it.cls != TEXT:
                    break
                cand = (acc + " " + _norm(it.s)).strip()
                if not _contains(e.norm, cand):
                    break
                acc, k = cand, t - j + 1
            if k and (len(acc) >= _MIN_REPEAT_CHARS or acc == e.norm):
                key = (k, e.author == name, idx)
                if best_key is None or key > best_key:
                    best, best_key = (k, e.post_id), key
        return best

    def _split_quotes(self, content: list[_Item], earlier: list[_Earlier]) -> tuple[str, list[Quote]]:
        lines = [it for it in content if it.cls in (BLANK, TEXT, EXPAND)]
        n = len(lines)

        def header_at(i: int) -> str | None:
            if lines[i].cls != TEXT or (i > 0 and lines[i - 1].cls == TEXT):
                return None
            return _quote_name(lines[i].s)

        own: list[_Item] = []
        quotes: list[Quote] = []
        i = 0
        while i < n:
            name = header_at(i)
            if name is None:
                if lines[i].cls != EXPAND:
                    own.append(lines[i])
                i += 1
                continue
            j = i + 1
            while j < n and lines[j].cls == BLANK:
                j += 1
            limit = next((k for k in range(j, n) if header_at(k) is not None), n)
            x = next((k for k in range(j, limit) if lines[k].cls == EXPAND), None)
            if x is not None:
                qlines, nxt = lines[j:x], x + 1
                rid = self._best_repeat(_norm(" ".join(it.s for it in qlines)), earlier, name)
            else:
                k, rid = self._longest_run(lines, j, limit, earlier, name)
                if k:
                    qlines, nxt = lines[j : j + k], j + k
                else:
                    e = j
                    while e < limit and lines[e].cls != BLANK:
                        e += 1
                    if e == limit:  # no blank line: a one-line quote
                        e = min(j + 1, limit)
                    qlines, nxt = lines[j:e], e
            qtext = _join(qlines)
            if qtext:
                quotes.append(Quote(name, qtext, rid))
            i = nxt
        return _join(own), quotes


# --------------------------------------------------------------------------
# byte ranges (the Dask engine's partitions of large JSONL files)


def _iter_range_lines(path: str, start: int, end: int, first_line: int) -> Iterator[_Line]:
    """Decoded lines of ``path[start:end]`` numbered from ``first_line``; ranges start after a newline."""
    with open(path, "rb") as fh:
        fh.seek(start)
        no = first_line - 1
        remaining = end - start
        while remaining > 0:
            raw = fh.readline(remaining)
            if not raw:
                break
            remaining -= len(raw)
            no += 1
            if no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield _make_line(no, raw)


def read_records_range(path: str, start: int, end: int, first_line: int,
                       text_column: str = "text") -> Iterator[Post | BadRecord]:
    """JSONL records of one byte range, with the same locators as :func:`read_records`."""
    yield from _read_jsonl(path, _iter_range_lines(path, start, end, first_line), text_column)
