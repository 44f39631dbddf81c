"""What to annotate next: the sentences the model is least sure about.

``claimtag suggest INPUTS --n 100 --out FILE --format labelstudio|prodigy|csv``
labels every sentence of INPUTS exactly as ``claimtag label`` does (same
reader, same quote handling, same sentence bounds and entity offsets), keeps
the ``n`` most uncertain ones spread over posts and labels, and writes them
pre-annotated with the model's label and entities, for an annotation tool.
What annotators return is read back by :mod:`pipeline.annotations`.

Public API
==========
``select_uncertain(rows, n, seed)``  pure selection over candidate rows
``collect_candidates(nlp, inputs, fmt, text_column, limit)``  one row per sentence
``write_suggestions(rows, path, fmt, prefill)``  one file, written atomically
``suggest_command``                  the typer command (registered by cli.py)
``LABEL_STUDIO_CONFIG``              the Label Studio labeling config the tasks expect

Uncertainty is the margin between the two most probable labels (smaller =
less sure); the model's probability of its own label is written as the
``score`` (Label Studio sorts tasks by prediction score; Prodigy shows it).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import typer

from .classify import LABELS

SUGGEST_FORMATS = ("labelstudio", "prodigy", "csv")
CSV_COLUMNS = ["text", "label", "entities", "source", "post_id", "sentence_index", "score", "margin"]
POOL_FACTOR = 4  # round-robin over labels runs within the POOL_FACTOR * n most uncertain sentences
MAX_PER_POST = 2
NEAR_DUPLICATE_JACCARD = 0.8
CHUNK_POSTS = 200

# Control names used in the Label Studio tasks; the project must use this config.
LS_TEXT, LS_CLAIM, LS_ENTITIES = "text", "claim", "entities"


def _label_studio_config() -> str:
    from .entities import ENTITY_TYPES

    labels = "\n".join(f'    <Label value="{t}"/>' for t in ENTITY_TYPES)
    choices = "\n".join(f'    <Choice value="{c}"/>' for c in LABELS)
    return (f'<View>\n  <Labels name="{LS_ENTITIES}" toName="{LS_TEXT}">\n{labels}\n  </Labels>\n'
            f'  <Text name="{LS_TEXT}" value="$text"/>\n'
            f'  <Choices name="{LS_CLAIM}" toName="{LS_TEXT}" choice="single" showInline="true">\n{choices}\n'
            '  </Choices>\n</View>\n')


LABEL_STUDIO_CONFIG = _label_studio_config()


# -- selection ----------------------------------------------------------------

def _probs(row: dict) -> list[float] | None:
    probs = row.get("probs")
    if probs is None:
        return None
    if isinstance(probs, dict):
        return [float(probs.get(label, 0.0)) for label in LABELS]
    return [float(p) for p in probs]


def margin_of(row: dict) -> float:
    """p1 - p2 of the row's probabilities (its ``margin`` if it has no probabilities)."""
    probs = _probs(row)
    if probs is None:
        return float(row["margin"])
    top = sorted(probs, reverse=True) + [0.0]
    return top[0] - top[1]


def score_of(row: dict) -> float:
    """The model's probability of its own label (1 - margin if unknown)."""
    probs = _probs(row)
    return max(probs) if probs else 1.0 - margin_of(row)


def label_of(row: dict) -> str:
    if row.get("label"):
        return row["label"]
    probs = _probs(row)
    return LABELS[max(range(len(probs)), key=probs.__getitem__)] if probs else ""


def post_of(row: dict):
    """A row's post: its ``post`` key if any, else (source, post_id)."""
    if "post" in row:
        return row["post"]
    return (row.get("source", ""), row.get("post_id", ""))


def normalize_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def char_trigrams(text: str) -> frozenset[str]:
    norm = normalize_text(text)
    return frozenset(norm[i:i + 3] for i in range(len(norm) - 2)) or frozenset([norm])


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def select_uncertain(rows: Sequence[dict], n: int, seed: int = 0) -> list[dict]:
    """The ``n`` rows most worth annotating, most uncertain first per label round.

    Each row needs ``text``, ``probs`` (dict by label or a sequence in
    :data:`LABELS` order; or a precomputed ``margin``), and optionally
    ``label`` (else the argmax) and its post (``post``, else ``source`` +
    ``post_id``). Selection, deterministic for a given ``seed`` (which only
    breaks ties between equal margins):

    1. rows are ordered by margin (p1 - p2), smallest first;
    2. within the ``POOL_FACTOR * n`` most uncertain, labels take turns
       (round robin, the label with the most uncertain row first), each turn
       taking that label's most uncertain remaining row, so a label the model
       predicts rarely still gets its share;
    3. if the pool runs dry, the remaining rows follow in margin order;
    4. throughout, a post gives at most ``max(2, ceil(n / number of posts))``
       rows, and a row is skipped when its normalised text (lowercase,
       punctuation and extra spaces removed) was taken already or its
       character-3-gram Jaccard similarity with a taken row exceeds 0.8.

    Returns the chosen row objects (not copies), in the order chosen.
    """
    if n <= 0:
        return []
    candidates = [r for r in rows if isinstance(r.get("text"), str) and r["text"].strip()]
    if not candidates:
        return []

    def tiebreak(row: dict) -> str:
        return hashlib.sha256(f"{seed}\0{post_of(row)}\0{row['text']}".encode("utf-8")).hexdigest()

    margins = [margin_of(r) for r in candidates]
    order = sorted(range(len(candidates)), key=lambda i: (margins[i], tiebreak(candidates[i])))
    cap = max(MAX_PER_POST, math.ceil(n / len({_hashable(post_of(r)) for r in candidates})))

    chosen: list[int] = []
    per_post: Counter = Counter()
    taken_norms: set[str] = set()
    taken_grams: list[frozenset] = []

    def take(i: int) -> bool:
        row = candidates[i]
        post = _hashable(post_of(row))
        if per_post[post] >= cap:
            return False
        norm = normalize_text(row["text"])
        if norm in taken_norms:
            return False
        grams = char_trigrams(row["text"])
        if any(jaccard(grams, g) > NEAR_DUPLICATE_JACCARD for g in taken_grams):
            return False
        chosen.append(i)
        per_post[post] += 1
        taken_norms.add(norm)
        taken_grams.append(grams)
        return True

    pool = order[: POOL_FACTOR * n]
    queues: dict[str, deque] = {}
    for i in pool:
        queues.setdefault(label_of(candidates[i]), deque()).append(i)
    turn = list(queues)  # insertion order = order of each label's most uncertain row
    while len(chosen) < n and any(queues[label] for label in turn):
        for label in turn:
            queue = queues[label]
            while queue and not take(queue.popleft()):
                pass
            if len(chosen) >= n:
                break
    for i in order[len(pool):]:
        if len(chosen) >= n:
            break
        take(i)
    return [candidates[i] for i in chosen]


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# -- candidates ---------------------------------------------------------------

def _label_posts(nlp, posts: list) -> list[dict]:
    from .classify import masked_sentences
    from .runner import post_units, split_long

    classifier = nlp.get_pipe("claimtag_classifier")
    jobs = []  # (post index, is_quote, piece)
    for index, post in enumerate(posts):
        for unit in post_units(post):  # (text, is_quote, quoted_author)
            for piece in split_long(unit[0]):  # (offset, text, ...)
                jobs.append((index, unit[1], piece[1]))
    rows: list[dict] = []
    counters: Counter = Counter()
    for (index, is_quote, _piece), doc in zip(jobs, nlp.pipe([j[2] for j in jobs], batch_size=64)):
        post = posts[index]
        for sent, start, end, _masked in masked_sentences(doc):
            label, proba = doc._.sent_claims[sent.start]
            probs = {name: float(p) for name, p in zip(LABELS, proba)}
            entities = [[e.start_char - start, e.end_char - start, e.label_] for e in sent.ents
                        if e.start_char >= start and e.end_char <= end]
            row = {
                "text": doc.text[start:end],
                "source": post.source,
                "thread": post.thread,
                "post_id": post.post_id,
                "sentence_index": counters[index],
                "is_quote": bool(is_quote),
                "label": label,
                "probs": probs,
                "entities": entities,
                "model_version": classifier.version,
            }
            row["margin"] = margin_of(row)
            counters[index] += 1
            rows.append(row)
    return rows


def collect_candidates(nlp, inputs: Sequence[str], fmt: str | None = None, text_column: str = "text",
                       limit: int | None = None, stats: Counter | None = None) -> list[dict]:
    """One candidate row per non-blank sentence of the posts in ``inputs``.

    ``nlp`` is the full pipeline (``pipeline.load()``). Inputs are read with
    :func:`pipeline.ingest.read_records` (``fmt`` = its input format, default
    from each file name; folders walked); BadRecords are skipped (counted in
    ``stats["bad_records"]``); IngestFatal propagates. Posts are cut into the
    same units as ``claimtag label`` (non-repeating quotes, long posts in
    pieces), so sentences, labels and entity offsets match its output.
    ``limit`` caps the number of posts read (over all inputs).

    Row: ``{"text", "source", "thread", "post_id", "sentence_index",
    "is_quote", "label", "probs": {label: p}, "margin", "entities":
    [[start, end, TYPE]] (offsets into text), "model_version"}``.
    """
    from .ingest import BadRecord, detect_format, iter_input_files, read_records

    stats = stats if stats is not None else Counter()
    rows: list[dict] = []
    batch: list = []
    for path in iter_input_files(list(inputs)):
        if limit is not None and stats["posts"] >= limit:
            break
        for item in read_records(path, fmt or detect_format(path), text_column=text_column):
            if isinstance(item, BadRecord):
                stats["bad_records"] += 1
                continue
            if limit is not None and stats["posts"] >= limit:
                break
            stats["posts"] += 1
            batch.append(item)
            if len(batch) >= CHUNK_POSTS:
                rows.extend(_label_posts(nlp, batch))
                batch = []
    if batch:
        rows.extend(_label_posts(nlp, batch))
    stats["sentences"] += len(rows)
    return rows


# -- writing ------------------------------------------------------------------

def _meta(row: dict) -> dict:
    meta = {key: row[key] for key in ("source", "thread", "post_id", "sentence_index") if key in row}
    meta.update({
        "model_label": label_of(row),
        "score": round(score_of(row), 4),
        "margin": round(margin_of(row), 4),
    })
    if row.get("model_version"):
        meta["model_version"] = row["model_version"]
    return meta


def _ls_result(row: dict) -> list[dict]:
    text = row["text"]
    result = [{"id": f"s{k}", "from_name": LS_ENTITIES, "to_name": LS_TEXT, "type": "labels",
               "value": {"start": s, "end": e, "text": text[s:e], "labels": [t]}}
              for k, (s, e, t) in enumerate(row.get("entities") or [])]
    result.append({"id": "claim", "from_name": LS_CLAIM, "to_name": LS_TEXT, "type": "choices",
                   "value": {"choices": [label_of(row)]}})
    return result


def _labelstudio(rows: Sequence[dict], prefill: bool) -> str:
    tasks = []
    for row in rows:
        data = {"text": row["text"]}
        data.update({k: row[k] for k in ("source", "post_id", "sentence_index") if k in row})
        task = {
            "data": data,
            "meta": _meta(row),
            "predictions": [{"model_version": row.get("model_version") or "claimtag",
                             "score": round(score_of(row), 4), "result": _ls_result(row)}],
        }
        if prefill:
            task["annotations"] = [{"result": _ls_result(row), "was_cancelled": False, "ground_truth": False}]
        tasks.append(task)
    return json.dumps(tasks, ensure_ascii=False, indent=2) + "\n"


def _prodigy(rows: Sequence[dict]) -> str:
    lines = []
    for row in rows:
        task = {
            "text": row["text"],
            "spans": [{"start": s, "end": e, "label": t} for s, e, t in row.get("entities") or []],
            "label": label_of(row),
            "answer": "accept",
            "meta": _meta(row),
        }
        lines.append(json.dumps(task, ensure_ascii=False) + "\n")
    return "".join(lines)


def _csv(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([
            row["text"], label_of(row),
            json.dumps([list(e) for e in row.get("entities") or []], ensure_ascii=False, separators=(",", ":")),
            row.get("source", ""), row.get("post_id", ""), row.get("sentence_index", ""),
            f"{score_of(row):.4f}", f"{margin_of(row):.4f}",
        ])
    return buffer.getvalue()


def write_suggestions(rows: Sequence[dict], path: str | Path, fmt: str, prefill: bool = False) -> None:
    """Write ``rows`` (candidate rows) to ``path`` for an annotation tool.

    * ``labelstudio``: a JSON array of tasks: ``data`` (text, source,
      post_id, sentence_index), ``meta`` (model label, score, margin, model
      version) and ``predictions`` (the model's claim choice and entity
      spans, with ``model_version`` and ``score``): Label Studio shows
      predictions as pre-annotations, and what the annotator submits becomes
      the task's annotation. Import into a project using
      :data:`LABEL_STUDIO_CONFIG`. With ``prefill`` the same result is also
      written under ``annotations``; then the file reads back through
      :func:`pipeline.annotations.read_annotations` as it is, and an
      annotator's later correction (a newer annotation or an update) wins.
      Off by default: Label Studio counts a task with an annotation as
      labeled, so prefilled tasks are not served in the labeling queue, and
      an untouched prefilled task would export the model's guess as if an
      annotator had made it.
    * ``prodigy``: JSONL with ``text``, ``spans``, ``label`` (the model's
      class), ``"answer": "accept"`` and ``meta`` (score, margin, source,
      post). Prodigy replaces ``answer`` when an annotator decides.
    * ``csv``: ``text,label,entities,source,post_id,sentence_index,score,margin``
      with entities as JSON ``[[start, end, TYPE]]``; edit ``label`` (and
      ``entities``) in place.

    Written under ``<path>.partial`` and renamed when complete.
    """
    from .write import write_text_atomic

    if fmt == "labelstudio":
        text = _labelstudio(rows, prefill)
    elif fmt == "prodigy":
        text = _prodigy(rows)
    elif fmt == "csv":
        text = _csv(rows)
    else:
        raise ValueError(f"unknown suggestion format {fmt!r}; choose one of {', '.join(SUGGEST_FORMATS)}")
    write_text_atomic(Path(path), text)


# -- command ------------------------------------------------------------------

def _err(message: str) -> None:
    typer.echo(message, err=True)


def suggest_command(
    inputs: list[str] = typer.Argument(..., help="Forum dumps (.txt, .jsonl, .csv, optionally .gz) or directories."),
    n: int = typer.Option(100, "--n", help="How many sentences to suggest."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write the suggestions to."),
    fmt: str = typer.Option("labelstudio", "--format", "-f", help="labelstudio, prodigy or csv."),
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or version (default: the current model in models/)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow a model from outside models/ (unpickling runs code)."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="forum-text, jsonl or csv; default: from each file name."),
    text_column: str = typer.Option("text", "--text-column", help="Column/key holding the post text in jsonl and csv inputs."),
    prefill: bool = typer.Option(False, "--prefill-annotations", help="labelstudio only: also write the model's result as an annotation (see the description)."),
    seed: int = typer.Option(0, "--seed", help="Breaks ties between equally uncertain sentences."),
) -> None:
    """Suggest the sentences of INPUTS the model is least sure about, for annotation.

    Every sentence is labeled as `claimtag label` would; the N with the
    smallest margin between the two most likely labels are kept, taking
    labels in turn, at most two per post (more only when there are too few
    posts) and no near-duplicates. They are written pre-annotated with the
    model's label and entities: --format labelstudio (JSON tasks with
    predictions; a sidecar OUT.label_config.xml holds the labeling config to
    create the project with), prodigy (JSONL) or csv. Export the corrected
    annotations and pass them to `claimtag train --annotations`.

    --prefill-annotations writes the model's result as a Label Studio
    annotation as well as a prediction: the file then imports back unchanged,
    but Label Studio treats those tasks as already labeled.

    Exit codes: 0 written; 2 usage error; 1 model or input cannot be read, or
    no sentence found.
    """
    from .ingest import FORMATS as INPUT_FORMATS
    from .ingest import IngestFatal, detect_format, iter_input_files

    if fmt not in SUGGEST_FORMATS:
        _err(f"error: unknown --format {fmt!r}; choose one of {', '.join(SUGGEST_FORMATS)}")
        raise typer.Exit(2)
    if input_format is not None and input_format not in INPUT_FORMATS:
        _err(f"error: unknown --input-format {input_format!r}; choose one of {', '.join(INPUT_FORMATS)}")
        raise typer.Exit(2)
    if n < 1:
        _err("error: --n must be at least 1")
        raise typer.Exit(2)
    if prefill and fmt != "labelstudio":
        _err("error: --prefill-annotations only applies to --format labelstudio")
        raise typer.Exit(2)
    if out.is_dir():
        _err(f"error: --out {out} is a directory; give a file name")
        raise typer.Exit(2)
    paths: list[str] = []
    for given in inputs:
        if given == "-":
            _err("error: suggest cannot read stdin; give files or directories")
            raise typer.Exit(2)
        if not os.path.exists(given):
            _err(f"error: input {given} does not exist")
            raise typer.Exit(2)
        try:
            if os.path.isfile(given) and input_format is None:
                detect_format(given)
            paths.extend(iter_input_files([given]))
        except IngestFatal as exc:
            _err(f"error: {exc}")
            raise typer.Exit(2)
    if not paths:
        _err("error: no input files with a known extension (.txt, .jsonl, .csv, optionally .gz) were found")
        raise typer.Exit(2)
    resolved_out = out.resolve()
    if any(Path(p).resolve() == resolved_out for p in paths):
        _err(f"error: --out {out} is one of the inputs")
        raise typer.Exit(2)

    from .cli import load_or_exit  # the CLI module registers this command; imported late for that reason

    nlp = load_or_exit(model, trust_model)
    stats: Counter = Counter()
    try:
        rows = collect_candidates(nlp, paths, fmt=input_format, text_column=text_column, stats=stats)
    except IngestFatal as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1)
    except OSError as exc:
        _err(f"error: cannot read input: {exc.strerror or exc}")
        raise typer.Exit(1)
    if not rows:
        _err(f"error: no sentences found in {stats['posts']} posts ({stats['bad_records']} unreadable records)")
        raise typer.Exit(1)
    chosen = select_uncertain(rows, n, seed=seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_suggestions(chosen, out, fmt, prefill=prefill)
        if fmt == "labelstudio":
            from .write import write_text_atomic

            write_text_atomic(_config_path(out), LABEL_STUDIO_CONFIG)
    except OSError as exc:
        _err(f"error: cannot write {out}: {exc.strerror or exc}")
        raise typer.Exit(1)
    labels = Counter(label_of(r) for r in chosen)
    _err(f"wrote {len(chosen)} suggestions to {out} (from {len(rows)} sentences in {stats['posts']} posts"
         + (f", {stats['bad_records']} unreadable records skipped" if stats["bad_records"] else "") + "); "
         + ", ".join(f"{label} {labels[label]}" for label in LABELS if labels[label]))
    if fmt == "labelstudio":
        _err(f"Label Studio labeling config: {_config_path(out)}")


def _config_path(out: Path) -> Path:
    return out.with_name(out.stem + ".label_config.xml")
