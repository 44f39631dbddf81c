"""The batch runner: input files → labeled CSVs, errors files and a manifest.

Work is cut into chunks of posts. A worker turns a chunk into finished CSV
text (spaCy pipeline + one classifier call per chunk), so only strings cross
process boundaries, never Docs. Chunks are written in input order, which
makes the output byte-identical whatever the number of workers.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .classify import LABELS, masked_sentences
from .ingest import BadRecord, Post, detect_format, read_records
from .model import sha256_file
from .segment import doc_text, split_sentences
from .write import AtomicWriter, ERROR_COLUMNS, entities_json, format_rows, header, write_text_atomic

MANIFEST = "manifest.json"
CHUNK_POSTS = 200
# Posts longer than this are labeled in pieces cut at sentence boundaries so
# one giant post never becomes one giant Doc.
MAX_DOC_CHARS = 50_000
EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_RECORD_ERRORS = 0, 1, 2, 3

ANIMAL = {"mouse", "rat", "animal"}
_IN_VITRO_CUES = ("in vitro", "cultured", "cell culture", "cell line", "organ culture", "dermal papilla cells",
                  "keratinocytes", "explant", "petri dish")


@dataclass
class ChunkResult:
    csv_text: str
    errors: list[tuple[str, str, str]]
    records: int
    labeled: int
    sentences: int
    labels: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)


def note_kind(note: str) -> str:
    """A note without its counts, for tallying ("removed 3 NUL..." → "removed N NUL...")."""
    return re.sub(r"(?<![\w])\d+(?![\w])", "N", note)


def evidence_model(sentence_kinds: set[str], post_kinds: Counter, sentence_text: str) -> str:
    """``animal``/``human``/``in_vitro``/``unknown`` for one sentence.

    The sentence's own STRAIN/SPECIES entities decide; a sentence without any
    inherits its post's dominant kind (a post about C57BL/6 mice makes its
    findings animal findings); in-vitro cues win over both.
    """
    lowered = sentence_text.lower()
    if any(cue in lowered for cue in _IN_VITRO_CUES):
        return "in_vitro"
    if "animal" in sentence_kinds and "human" not in sentence_kinds:
        return "animal"
    if "human" in sentence_kinds and "animal" not in sentence_kinds:
        return "human"
    if sentence_kinds:
        return "unknown"
    animal, human = post_kinds.get("animal", 0), post_kinds.get("human", 0)
    if animal > human:
        return "animal"
    if human > animal:
        return "human"
    return "unknown"


def _kind(ent) -> str | None:
    if ent.label_ == "STRAIN":
        return "animal"
    if ent.label_ == "SPECIES":
        return "animal" if (ent._.canonical or "") in ANIMAL else "human"
    return None


def post_units(post: Post) -> list[tuple[str, bool, str]]:
    """(text, is_quote, quoted_author) pieces of a post that get labeled.

    A quote that repeats an earlier post of the thread is left out: its
    sentences were labeled with that post, under their own author.
    """
    units = [(q.text, True, q.author) for q in post.quotes if q.repeats_post_id is None and q.text.strip()]
    units.append((post.text, False, ""))
    return units


def split_long(text: str, limit: int = MAX_DOC_CHARS) -> list[tuple[int, str, bool, bool]]:
    """(offset, piece, cut_before_was_forced, cut_after_was_forced) pieces of at most ``limit`` chars.

    Pieces are cut between sentences. When a cut falls inside a run-on (a
    forced split), the sentences on both sides of it keep their flag.
    """
    if len(text) <= limit:
        return [(0, text, False, False)]
    pieces = []
    start = 0
    end = 0
    forced_before = False
    last_forced = False
    for sent in split_sentences(text):
        if sent.end - start > limit and end > start:
            pieces.append([start, text[start:end], forced_before, last_forced and sent.forced])
            forced_before = last_forced and sent.forced
            start = sent.start
        end = sent.end
        last_forced = sent.forced
    pieces.append([start, text[start:], forced_before, False])
    return [tuple(p) for p in pieces]


class ChunkLabeler:
    """Turns chunks of posts into CSV text with one loaded pipeline."""

    def __init__(self, nlp, no_split: bool = False, make_excel_safe: bool = False):
        self.nlp = nlp
        self.classifier = nlp.get_pipe("claimtag_classifier")
        nlp.get_pipe("claimtag_segmenter").split = not no_split
        self.make_excel_safe = make_excel_safe
        self.version = self.classifier.version

    def _docs(self, texts: list[str]):
        # The classifier's own pipe() would batch too; running it on the whole
        # chunk at once gives one predict_proba call per chunk.
        with self.nlp.select_pipes(disable=["claimtag_classifier"]):
            docs = list(self.nlp.pipe(texts, batch_size=64))
        return self.classifier.predict_docs(docs)

    def label_posts(self, posts: list[Post]) -> list[list[dict]]:
        jobs = []  # (post index, unit, offset, text, forced first sentence, forced last sentence)
        for i, post in enumerate(posts):
            for unit in post_units(post):
                for offset, piece, forced_first, forced_last in split_long(unit[0]):
                    jobs.append((i, unit, offset, piece, forced_first, forced_last))
        docs = self._docs([j[3] for j in jobs])
        per_post: list[list[dict]] = [[] for _ in posts]
        kinds: list[Counter] = [Counter() for _ in posts]
        pending = []
        for (i, unit, offset, _piece, forced_first, forced_last), doc in zip(jobs, docs):
            forced = set(doc._.forced_splits or ())
            sentences = list(masked_sentences(doc))
            if sentences and forced_first:
                forced.add(sentences[0][0].start)
            if sentences and forced_last:
                forced.add(sentences[-1][0].start)
            for sent, start, end, _masked in sentences:
                label, probs = doc._.sent_claims[sent.start]
                ents = [e for e in sent.ents]
                sent_kinds = {k for k in map(_kind, ents) if k}
                kinds[i].update(k for k in map(_kind, ents) if k)
                pending.append((i, unit, offset, doc, sent, start, end, label, probs, ents, sent_kinds,
                                sent.start in forced))
        for (i, unit, offset, doc, sent, start, end, label, probs, ents, sent_kinds, forced) in pending:
            post = posts[i]
            text = doc_text(doc)[start:end]
            notes = list(post.notes)
            if forced:
                notes.append("forced_split")
            row = {
                "source": post.source,
                "thread": post.thread,
                "post_id": post.post_id,
                "author": post.author,
                "is_quote": "true" if unit[1] else "false",
                "quoted_author": unit[2],
                "sentence_index": len(per_post[i]),
                "start": start + offset,
                "end": end + offset,
                "sentence": text,
                "label": label,
                "confidence": f"{float(probs.max()):.4f}",
                "entities": entities_json([
                    {"text": e.text, "label": e.label_, "start": e.start_char - start, "end": e.end_char - start,
                     "canonical": e._.canonical, "id": e._.ontology_id}
                    for e in ents
                ]),
                "model_version": self.version,
                "evidence_model": evidence_model(sent_kinds, kinds[i], text),
                "notes": ";".join(notes),
            }
            for name, p in zip(LABELS, probs):
                row[f"p_{name}"] = f"{float(p):.4f}"
            per_post[i].append(row)
        return per_post

    def __call__(self, items: list[Post | BadRecord]) -> ChunkResult:
        posts = [x for x in items if isinstance(x, Post)]
        errors = [(x.locator, x.reason, x.excerpt) for x in items if isinstance(x, BadRecord)]
        try:
            per_post = self.label_posts(posts)
        except Exception:
            # Find the record that breaks labeling; the others still get labeled.
            per_post = []
            for post in posts:
                try:
                    per_post.extend(self.label_posts([post]))
                except Exception as exc:  # noqa: BLE001 - reported per record
                    errors.append((post.locator, f"labeling failed: {type(exc).__name__}: {exc}", post.text[:200]))
                    per_post.append(None)
        rows = []
        labeled = 0
        for post_rows in per_post:
            if post_rows is None:
                continue
            labeled += 1
            rows.extend(post_rows)
        labels = Counter(r["label"] for r in rows)
        notes = Counter(note_kind(n) for post in posts for n in post.notes)
        return ChunkResult(format_rows(rows, make_excel_safe=self.make_excel_safe), errors,
                           records=len(items), labeled=labeled, sentences=len(rows), labels=labels, notes=notes)


# -- process-pool plumbing ------------------------------------------------------

_WORKER: ChunkLabeler | None = None


def _init_worker(model: str | None, trust_model: bool, no_split: bool, make_excel_safe: bool) -> None:
    global _WORKER
    from . import load

    _WORKER = ChunkLabeler(load(model, trust_model=trust_model), no_split=no_split, make_excel_safe=make_excel_safe)


def _work(chunk: list) -> ChunkResult:
    assert _WORKER is not None
    return _WORKER(chunk)


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- inputs, outputs, manifest --------------------------------------------------

@dataclass
class RunOptions:
    out_dir: Path
    fmt: str | None = None
    text_column: str = "text"
    no_split: bool = False
    model: str | None = None
    trust_model: bool = False
    force: bool = False
    jobs: int = 1
    excel_safe: bool = False
    chunk_posts: int = CHUNK_POSTS
    command: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class InputResult:
    name: str
    path: str
    status: str  # complete | skipped | failed
    records: int = 0
    labeled: int = 0
    errors: int = 0
    sentences: int = 0
    labels: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    reason: str = ""


def sha256_of_input(path: str) -> str | None:
    """The input's sha256 for the manifest; stdin has none (it cannot be re-read)."""
    return None if path == "-" else sha256_file(path)


def output_names(paths: list[str]) -> dict[str, str]:
    """``<file name>`` per input, disambiguated when two inputs share a name."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for path in paths:
        base = "stdin" if path == "-" else os.path.basename(path)
        for suffix in (".gz",):
            base = base[: -len(suffix)] if base.endswith(suffix) else base
        name = base
        if name in taken:
            name = f"{base}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"
        taken.add(name)
        names[path] = name
    return names


class Manifest:
    """``manifest.json``: what was labeled, from what, with which model; rewritten atomically."""

    def __init__(self, out_dir: Path, model_version: str, model_sha256: str, command: list[str]):
        self.path = out_dir / MANIFEST
        previous = {}
        if self.path.is_file():
            try:
                previous = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                previous = {}
        self.data = {
            "claimtag_manifest": 1,
            "model": {"version": model_version, "sha256": model_sha256},
            "command": command,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "finished": None,
            "inputs": previous.get("inputs", {}) if isinstance(previous.get("inputs"), dict) else {},
        }

    def finished_entry(self, name: str, sha256: str | None, out_dir: Path) -> dict | None:
        entry = self.data["inputs"].get(name)
        if (entry and sha256 and entry.get("status") == "complete" and entry.get("sha256") == sha256
                and entry.get("model_version") == self.data["model"]["version"]
                and (out_dir / entry.get("output", "")).is_file()):
            return entry
        return None

    def record(self, name: str, entry: dict | None) -> None:
        if entry is None:
            self.data["inputs"].pop(name, None)
        else:
            self.data["inputs"][name] = entry
        self.save()

    def save(self, finished: bool = False) -> None:
        if finished:
            self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_text_atomic(self.path, json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")


def run_chunks(chunks: Iterator[list], opts: RunOptions, labeler: ChunkLabeler | None, pool) -> Iterator[ChunkResult]:
    if pool is None:
        assert labeler is not None
        for chunk in chunks:
            yield labeler(chunk)
    else:
        yield from pool.imap(_work, chunks)


def label_input(path: str, name: str, opts: RunOptions, manifest: Manifest, labeler, pool,
                progress: Callable[[int, int], None] | None = None) -> InputResult:
    fmt = opts.fmt or detect_format(path)
    sha = sha256_of_input(path)
    done = None if opts.force else manifest.finished_entry(name, sha, opts.out_dir)
    if done is not None:
        return InputResult(name, path, "skipped", done["records_read"], done["records_labeled"],
                           done["records_in_error"], done["sentences_written"], Counter(done.get("labels", {})))
    manifest.record(name, None)  # the old entry no longer describes what is on disk
    out_path = opts.out_dir / f"{name}.labeled.csv"
    err_path = opts.out_dir / f"{name}.errors.csv"
    result = InputResult(name, path, "failed")
    writer = AtomicWriter(out_path)
    error_rows: list[tuple[str, str, str]] = []
    try:
        writer.write(header())
        if hasattr(pool, "results"):  # the Dask engine reads its partitions on the workers
            stream = pool.results()
        else:
            records = read_records(path, fmt, text_column=opts.text_column)
            stream = run_chunks(chunked(records, opts.chunk_posts), opts, labeler, pool)
        for chunk_result in stream:
            writer.write(chunk_result.csv_text)
            error_rows.extend(chunk_result.errors)
            result.records += chunk_result.records
            result.labeled += chunk_result.labeled
            result.sentences += chunk_result.sentences
            result.labels.update(chunk_result.labels)
            result.notes.update(chunk_result.notes)
            if progress:
                progress(chunk_result.records, chunk_result.sentences)
        result.errors = len(error_rows)
        if error_rows:
            write_text_atomic(err_path, header(ERROR_COLUMNS) + format_rows(
                [dict(zip(ERROR_COLUMNS, e)) for e in error_rows], ERROR_COLUMNS, make_excel_safe=opts.excel_safe))
        elif err_path.exists():
            err_path.unlink()
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    assert result.records == result.labeled + result.errors, "record accounting is broken"
    result.status = "complete"
    manifest.record(name, {
        "path": path,
        "format": fmt,
        "sha256": sha,
        "status": "complete",
        "records_read": result.records,
        "records_labeled": result.labeled,
        "records_in_error": result.errors,
        "sentences_written": result.sentences,
        "labels": dict(sorted(result.labels.items())),
        "record_notes": dict(sorted(result.notes.items())),
        "output": out_path.name,
        "errors_file": err_path.name if error_rows else None,
        "model_version": manifest.data["model"]["version"],
        "completed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    return result


def open_pool(opts: RunOptions):
    if opts.jobs <= 1:
        return None
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    return ctx.Pool(opts.jobs, initializer=_init_worker,
                    initargs=(opts.model, opts.trust_model, opts.no_split, opts.excel_safe))
