"""Per-entity summary of labeled CSVs, as a table and a self-contained HTML page.

``claimtag report OUT_DIR --html report.html`` reads every ``*.labeled.csv``
that ``claimtag label`` wrote into OUT_DIR and answers, per treatment or
condition: how often is it mentioned, by how many posts and authors, what
kind of claims are made about it (finding, hypothesis, skepticism, anecdote,
other), which findings rest on animal, human or in-vitro evidence, and which
sentences are the most confident examples of each claim type.

Files are streamed in chunks (``pandas.read_csv(chunksize=...)``); per entity
only counters, sets of post keys / authors and a three-item heap of examples
per claim label are kept, so memory grows with the number of distinct
entities and posts, never with the size of a file.

The module only depends on the labeled-CSV format, not on the model code, so
``claimtag report`` starts without loading spaCy or scikit-learn (spaCy's
displacy is imported only to render the example sentences).
"""
from __future__ import annotations

import base64
import heapq
import html
import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import pandas
import typer

from .write import write_text_atomic

# The labeled-CSV contract (see pipeline/write.py, pipeline/classify.py and
# pipeline/entities.py); repeated here so the report does not import the model code.
LABELS = ("finding", "hypothesis", "skepticism", "anecdote", "other")
ENTITY_TYPES = ("TREATMENT", "CHEMICAL", "STRAIN", "SPECIES", "CONDITION", "DOSE")
EVIDENCE_MODELS = ("animal", "human", "in_vitro", "unknown")
DEFAULT_TYPES = ("TREATMENT", "CONDITION")
REQUIRED_COLUMNS = ("source", "thread", "post_id", "author", "is_quote", "sentence_index", "sentence",
                    "label", "confidence", "entities", "evidence_model")
LABELED_GLOB = "*.labeled.csv"
EXAMPLES_PER_LABEL = 3
CHART_TOP = 15

SUMMARY_COLUMNS = [
    "entity", "type", "mentions", "posts", "authors",
    *[f"n_{label}" for label in LABELS],
    *[f"share_{label}" for label in LABELS],
    *[f"findings_{kind}" for kind in EVIDENCE_MODELS],
    "mean_confidence",
]
EXAMPLE_COLUMNS = [
    "entity", "type", "label", "rank", "sentence", "confidence", "source", "thread", "post_id",
    "sentence_index", "entities", "author", "is_quote", "quoted_author", "labeled_csv", "row",
]

# One colour per claim label, shared by the chart, the badges and the table bars.
LABEL_COLORS = {
    "finding": "#2b6cb0",
    "hypothesis": "#805ad5",
    "skepticism": "#c53030",
    "anecdote": "#dd6b20",
    "other": "#a0aec0",
}
# Pastel backgrounds for the entity highlights of displacy.
ENTITY_COLORS = {
    "TREATMENT": "#c6f6d5",
    "CHEMICAL": "#bee3f8",
    "STRAIN": "#fefcbf",
    "SPECIES": "#feebc8",
    "CONDITION": "#fed7e2",
    "DOSE": "#e2e8f0",
}
EVIDENCE_TITLES = {"animal": "animal", "human": "human", "in_vitro": "in vitro", "unknown": "unknown"}


class ReportError(Exception):
    """The labeled CSVs cannot be summarised (missing or malformed)."""


class NoLabeledFiles(ReportError):
    """The output folder holds no ``*.labeled.csv`` file."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        super().__init__(
            f"no {LABELED_GLOB} files in {out_dir}; run `claimtag label ... --out {out_dir}` first")


# ---------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------

@dataclass(eq=False)
class _Ranked:
    """An example sentence in a heap whose root is the *worst* kept example.

    Better = higher confidence, then smaller (source, post_id, sentence_index,
    labeled_csv, row): a total order, so the kept examples never depend on the
    chunk size or the order in which files are read.
    """

    confidence: float
    tiebreak: tuple
    example: dict

    def __lt__(self, other: "_Ranked") -> bool:  # "is worse than"
        if self.confidence != other.confidence:
            return self.confidence < other.confidence
        return self.tiebreak > other.tiebreak


@dataclass
class _EntityStats:
    mentions: int = 0
    posts: set = field(default_factory=set)
    authors: set = field(default_factory=set)
    labels: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    confidence_sum: float = 0.0
    confidence_n: int = 0


@dataclass
class ReportData:
    """Everything :func:`render_html` needs: the per-entity summary, the examples and the totals."""

    summary: pandas.DataFrame
    examples: pandas.DataFrame
    totals: dict


def _as_float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return -1


def _entity_key(ent: dict) -> Optional[str]:
    canonical = str(ent.get("canonical") or "").strip()
    if canonical:
        return canonical
    text = str(ent.get("text") or "").strip().lower()
    return text or None


def _parse_entities(value: str) -> Optional[list]:
    if not value or value == "[]":
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None


def normalize_types(types: Iterable[str]) -> tuple[str, ...]:
    """Upper-cased, de-duplicated entity types; ``ValueError`` names an unknown one.

    Each item may itself be a comma-separated list ("TREATMENT,CONDITION").
    """
    wanted: list[str] = []
    for item in types:
        for part in str(item).split(","):
            name = part.strip().upper()
            if not name:
                continue
            if name not in ENTITY_TYPES:
                raise ValueError(f"unknown entity type {part.strip()!r}; choose from {', '.join(ENTITY_TYPES)}")
            if name not in wanted:
                wanted.append(name)
    if not wanted:
        raise ValueError(f"no entity type given; choose from {', '.join(ENTITY_TYPES)}")
    return tuple(wanted)


def labeled_files(out_dir: Path) -> list[Path]:
    """The labeled CSVs of an output folder, sorted by name (``.partial`` leftovers excluded)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.glob(LABELED_GLOB) if p.is_file())


def collect(out_dir: Path, entity_types: Iterable[str] = DEFAULT_TYPES, chunksize: int = 50_000) -> ReportData:
    """Stream every labeled CSV of ``out_dir`` once; the summary, examples and totals.

    Raises :class:`NoLabeledFiles` when there is nothing to read and
    :class:`ReportError` for a file without the labeled-CSV columns.
    """
    out_dir = Path(out_dir)
    wanted = set(normalize_types(entity_types))
    files = labeled_files(out_dir)
    if not files:
        raise NoLabeledFiles(out_dir)
    if chunksize < 1:
        raise ValueError("chunksize must be at least 1")

    stats: dict[tuple[str, str], _EntityStats] = {}
    heaps: dict[tuple[str, str, str], list[_Ranked]] = {}
    label_totals: Counter = Counter()
    all_posts: set = set()
    all_authors: set = set()
    model_versions: set = set()
    sentences = quotes = bad_entity_rows = 0

    for path in files:
        row_offset = 0
        try:
            reader = pandas.read_csv(path, chunksize=chunksize, keep_default_na=False, dtype=str,
                                     encoding="utf-8")
            with reader:
                for chunk in reader:
                    missing = [c for c in REQUIRED_COLUMNS if c not in chunk.columns]
                    if missing:
                        raise ReportError(f"{path}: not a labeled CSV (missing columns: {', '.join(missing)})")
                    n = len(chunk)
                    sentences += n
                    label_totals.update(chunk["label"].tolist())
                    all_posts.update(zip(chunk["source"].tolist(), chunk["post_id"].tolist()))
                    all_authors.update(a for a in chunk["author"].tolist() if a)
                    quotes += int((chunk["is_quote"].str.lower() == "true").sum())
                    if "model_version" in chunk.columns:
                        model_versions.update(v for v in chunk["model_version"].unique().tolist() if v)
                    bad_entity_rows += _consume_chunk(chunk, path, row_offset, wanted, stats, heaps)
                    row_offset += n
        except (pandas.errors.ParserError, UnicodeDecodeError) as exc:
            raise ReportError(f"{path}: cannot read as a labeled CSV ({exc})") from exc
        except pandas.errors.EmptyDataError:
            continue  # a zero-byte file: nothing labeled yet

    summary = _summary_frame(stats)
    examples = _examples_frame(heaps, summary)
    totals = {
        "out_dir": str(out_dir),
        "files": len(files),
        "file_names": [p.name for p in files],
        "sentences": sentences,
        "posts": len(all_posts),
        "authors": len(all_authors),
        "quotes": quotes,
        "labels": {label: int(label_totals.get(label, 0)) for label in LABELS},
        "entity_types": [t for t in ENTITY_TYPES if t in wanted],
        "entities": len(summary),
        "model_versions": sorted(model_versions),
        "errors_files": sorted(p.name for p in out_dir.glob("*.errors.csv")),
        "bad_entity_rows": bad_entity_rows,
    }
    return ReportData(summary=summary, examples=examples, totals=totals)


def _consume_chunk(chunk: pandas.DataFrame, path: Path, row_offset: int, wanted: set,
                   stats: dict, heaps: dict) -> int:
    """Fold one chunk into ``stats`` and ``heaps``; the number of rows whose entities are not JSON."""
    has = chunk["entities"].ne("[]") & chunk["entities"].ne("")
    if not has.any():
        return 0
    positions = [i for i, flag in enumerate(has.tolist()) if flag]
    part = chunk[has]
    quoted = part["quoted_author"].tolist() if "quoted_author" in part.columns else [""] * len(part)
    columns = zip(positions, part["source"].tolist(), part["thread"].tolist(), part["post_id"].tolist(),
                  part["author"].tolist(), part["is_quote"].tolist(), quoted, part["sentence_index"].tolist(),
                  part["sentence"].tolist(), part["label"].tolist(), part["confidence"].tolist(),
                  part["entities"].tolist(), part["evidence_model"].tolist())
    bad = 0
    labeled_csv = str(Path(path).resolve())
    for (pos, source, thread, post_id, author, is_quote, quoted_author, sentence_index, sentence, label,
         confidence, entities_text, evidence) in columns:
        ents = _parse_entities(entities_text)
        if ents is None:
            bad += 1
            continue
        keys = []
        for ent in ents:
            if not isinstance(ent, dict) or ent.get("label") not in wanted:
                continue
            name = _entity_key(ent)
            if name is not None and (name, ent["label"]) not in keys:
                keys.append((name, ent["label"]))
        if not keys:
            continue
        conf = _as_float(confidence)
        label = label if label in LABELS else "other"
        evidence = evidence if evidence in EVIDENCE_MODELS else "unknown"
        index = _as_int(sentence_index)
        row = row_offset + pos + 1
        example = None
        for key in keys:
            entry = stats.get(key)
            if entry is None:
                entry = stats[key] = _EntityStats()
            entry.mentions += 1
            entry.posts.add((source, post_id))
            if author:
                entry.authors.add(author)
            entry.labels[label] += 1
            if label == "finding":
                entry.findings[evidence] += 1
            if not math.isnan(conf):
                entry.confidence_sum += conf
                entry.confidence_n += 1
            if example is None:
                example = {
                    "sentence": sentence, "confidence": conf, "source": source, "thread": thread,
                    "post_id": post_id, "sentence_index": index, "entities": entities_text, "author": author,
                    "is_quote": is_quote.lower() == "true", "quoted_author": quoted_author,
                    "labeled_csv": labeled_csv, "row": row,
                }
            ranked = _Ranked(-1.0 if math.isnan(conf) else conf,
                             (source, post_id, index, labeled_csv, row), example)
            heap = heaps.setdefault((key[0], key[1], label), [])
            if len(heap) < EXAMPLES_PER_LABEL:
                heapq.heappush(heap, ranked)
            elif heap[0] < ranked:
                heapq.heapreplace(heap, ranked)
    return bad


def _summary_frame(stats: dict) -> pandas.DataFrame:
    rows = []
    for (name, etype), entry in stats.items():
        row: dict[str, Any] = {
            "entity": name, "type": etype, "mentions": entry.mentions,
            "posts": len(entry.posts), "authors": len(entry.authors),
        }
        for label in LABELS:
            row[f"n_{label}"] = entry.labels.get(label, 0)
        for label in LABELS:
            row[f"share_{label}"] = round(entry.labels.get(label, 0) / entry.mentions, 4)
        for kind in EVIDENCE_MODELS:
            row[f"findings_{kind}"] = entry.findings.get(kind, 0)
        row["mean_confidence"] = (round(entry.confidence_sum / entry.confidence_n, 4)
                                  if entry.confidence_n else math.nan)
        rows.append(row)
    frame = pandas.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if frame.empty:
        return frame.astype({c: "int64" for c in SUMMARY_COLUMNS
                             if c.startswith(("n_", "findings_")) or c in ("mentions", "posts", "authors")})
    frame = frame.sort_values(["mentions", "entity", "type"], ascending=[False, True, True], kind="mergesort")
    return frame.reset_index(drop=True)


def _examples_frame(heaps: dict, summary: pandas.DataFrame) -> pandas.DataFrame:
    order = {(e, t): i for i, (e, t) in enumerate(zip(summary["entity"], summary["type"]))}
    label_order = {label: i for i, label in enumerate(LABELS)}
    rows = []
    for (name, etype, label), heap in heaps.items():
        for rank, ranked in enumerate(sorted(heap, reverse=True), start=1):
            rows.append({"entity": name, "type": etype, "label": label, "rank": rank, **ranked.example})
    rows.sort(key=lambda r: (order.get((r["entity"], r["type"]), len(order)), label_order[r["label"]], r["rank"]))
    return pandas.DataFrame(rows, columns=EXAMPLE_COLUMNS)


def aggregate(out_dir: Path, entity_types: Iterable[str] = DEFAULT_TYPES, chunksize: int = 50_000) -> pandas.DataFrame:
    """One row per (entity, type) over every ``*.labeled.csv`` in ``out_dir``.

    Columns: entity, type, mentions (sentences naming it), posts (distinct
    source + post_id), authors (distinct non-empty), n_<label>, share_<label>,
    findings_<evidence model> and mean_confidence; sorted by mentions (desc)
    then entity. ``entity`` is the canonical name, or the lower-cased surface
    text when the labeler found none. The examples (top three per entity and
    label) and the totals are in ``.attrs["examples"]`` and ``.attrs["totals"]``;
    :func:`collect` returns the three separately.
    """
    data = collect(out_dir, entity_types, chunksize)
    summary = data.summary
    summary.attrs["examples"] = data.examples
    summary.attrs["totals"] = data.totals
    return summary


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pct(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * 100:.0f}%"


def chart_png(summary: pandas.DataFrame, top: int = CHART_TOP) -> tuple[Optional[str], str]:
    """Stacked horizontal bars of label shares for the most mentioned treatments.

    Returns (base64 PNG or None when there is nothing to draw, caption). Uses
    the Agg canvas directly, so pyplot's global backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    treatments = summary[summary["type"] == "TREATMENT"] if "TREATMENT" in set(summary["type"]) else summary
    what = "treatments" if "TREATMENT" in set(summary["type"]) else "entities"
    data = treatments.head(top)
    caption = f"Claim-type mix of the {len(data)} most mentioned {what} (share of the sentences naming each)"
    if data.empty:
        return None, caption
    names = [n if len(n) <= 34 else n[:32] + "…" for n in data["entity"]]
    height = 0.34 * len(data) + 1.3
    fig = Figure(figsize=(12, height), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(len(data)))[::-1]
    left = [0.0] * len(data)
    for label in LABELS:
        shares = [float(v) * 100 for v in data[f"share_{label}"]]
        ax.barh(y, shares, left=left, color=LABEL_COLORS[label], label=label, height=0.68,
                edgecolor="white", linewidth=0.8)
        for yi, lo, share in zip(y, left, shares):
            if share >= 9:
                ax.text(lo + share / 2, yi, f"{share:.0f}%", ha="center", va="center", fontsize=8.5,
                        color="white" if label != "other" else "#1a202c")
        left = [a + b for a, b in zip(left, shares)]
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=10)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels(["0%", "25%", "50%", "75%", "100%"], fontsize=9, color="#4a5568")
    for yi, mentions in zip(y, data["mentions"]):
        ax.text(101.2, yi, f"{int(mentions)}", ha="left", va="center", fontsize=9, color="#4a5568")
    ax.text(101.2, len(data) - 0.35, "n", ha="left", va="bottom", fontsize=9, color="#4a5568",
            fontweight="bold")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#cbd5e0")
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", color="#cbd5e0")
    ax.legend(ncol=len(LABELS), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=10,
              handlelength=1.2, columnspacing=1.6)
    fig.subplots_adjust(left=0.18, right=0.96, top=1 - 0.55 / height, bottom=0.42 / height)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii"), caption


def _displacy_spans(sentence: str, entities_text: str) -> list[dict]:
    spans = []
    for ent in _parse_entities(entities_text) or []:
        if not isinstance(ent, dict):
            continue
        start, end, label = _as_int(ent.get("start")), _as_int(ent.get("end")), str(ent.get("label") or "")
        text = str(ent.get("text") or "")
        if not (0 <= start < end <= len(sentence)) or (text and sentence[start:end] != text):
            found = sentence.find(text) if text else -1
            if found < 0:
                continue
            start, end = found, found + len(text)
        spans.append({"start": start, "end": end, "label": label})
    spans.sort(key=lambda s: (s["start"], -s["end"]))
    kept, last_end = [], 0
    for span in spans:  # displacy needs ordered, non-overlapping spans
        if span["start"] >= last_end:
            kept.append(span)
            last_end = span["end"]
    return kept


def highlight(sentence: str, entities_text: str) -> str:
    """The sentence as displacy "ent" markup (text escaped by displacy)."""
    from spacy import displacy

    doc = {"text": sentence, "ents": _displacy_spans(sentence, entities_text), "title": None}
    return displacy.render([doc], style="ent", manual=True, page=False, jupyter=False,
                           options={"colors": ENTITY_COLORS})


def _mix_bar(shares: dict, height: int = 10) -> str:
    parts = []
    for label in LABELS:
        share = shares.get(label, 0.0)
        if share > 0:
            parts.append(f'<span class="seg" style="width:{share * 100:.2f}%;background:{LABEL_COLORS[label]}" '
                         f'title="{label} {share * 100:.0f}%"></span>')
    return f'<span class="mix" style="height:{height}px">{"".join(parts)}</span>'


def _badge(label: str, extra: str = "") -> str:
    return f'<span class="badge b-{_esc(label)}">{_esc(label)}{extra}</span>'


def _href(target: str, base: Path) -> str:
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive on Windows
        rel = Path(target).as_uri()
    return _esc(Path(rel).as_posix())


_CSS = """
:root { --ink:#1a202c; --muted:#4a5568; --faint:#718096; --line:#e2e8f0; --bg:#f7f8fa; --card:#fff;
  --finding:%(finding)s; --hypothesis:%(hypothesis)s; --skepticism:%(skepticism)s; --anecdote:%(anecdote)s;
  --other:%(other)s; }
* { box-sizing:border-box; }
html { scroll-behavior:smooth; }
body { margin:0; background:var(--bg); color:var(--ink); font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",
  Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif; }
a { color:#2b6cb0; text-decoration:none; } a:hover { text-decoration:underline; }
header.top { background:#1a202c; color:#edf2f7; padding:26px 28px 22px; }
header.top > * { max-width:1344px; margin-left:auto; margin-right:auto; }
header.top h1 { margin:0 0 4px; font-size:26px; font-weight:650; letter-spacing:-.01em; }
header.top .sub { color:#a0aec0; font-size:13.5px; }
header.top .sub code { color:#e2e8f0; }
main { max-width:1400px; margin:0 auto; padding:20px 28px 60px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin:20px 0 6px; }
.card { background:#2d3748; border-radius:10px; padding:10px 18px; min-width:120px; }
.card .v { font-size:24px; font-weight:650; color:#fff; font-variant-numeric:tabular-nums; }
.card .k { font-size:12px; color:#a0aec0; text-transform:uppercase; letter-spacing:.05em; }
.labels-total { margin-top:16px; }
.labels-total .mix { max-width:760px; margin-left:0; }
.labels-total .mix { height:12px; }
.legend { display:flex; flex-wrap:wrap; gap:8px; margin-top:10px; }
section.panel { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 20px;
  margin:22px 0; box-shadow:0 1px 2px rgba(0,0,0,.04); }
section.panel > h2 { margin:0 0 4px; font-size:19px; }
.caption { color:var(--faint); font-size:13px; margin:0 0 12px; }
.chart img { width:100%%; max-width:1210px; height:auto; display:block; }
.mix { display:flex; width:100%%; border-radius:4px; overflow:hidden; background:#edf2f7; min-width:80px; }
.mix .seg { display:block; height:100%%; }
.badge { display:inline-block; padding:1px 9px; border-radius:999px; color:#fff; font-size:12px; font-weight:600;
  letter-spacing:.02em; white-space:nowrap; }
.b-finding { background:var(--finding); } .b-hypothesis { background:var(--hypothesis); }
.b-skepticism { background:var(--skepticism); } .b-anecdote { background:var(--anecdote); }
.b-other { background:var(--other); color:#1a202c; }
.tools { display:flex; align-items:center; gap:12px; margin:6px 0 12px; }
.tools input { padding:7px 11px; border:1px solid #cbd5e0; border-radius:8px; font:inherit; width:280px; }
.tablewrap { max-height:78vh; overflow:auto; border:1px solid var(--line); border-radius:8px; }
table { border-collapse:separate; border-spacing:0; width:100%%; font-size:13px; font-variant-numeric:tabular-nums; }
thead { position:sticky; top:0; z-index:2; }
thead th { background:#edf2f7; color:var(--muted); font-weight:600;
  text-align:right; padding:7px 8px; border-bottom:1px solid #cbd5e0; white-space:nowrap; font-size:12.5px; }
thead tr.groups th { text-align:center; font-size:11.5px; text-transform:uppercase; letter-spacing:.05em;
  border-bottom:1px solid var(--line); }
thead th.l, tbody td.l { text-align:left; }
tbody td { padding:6px 8px; border-bottom:1px solid #edf2f7; text-align:right; white-space:nowrap; }
tbody tr:nth-child(even) td { background:#fafbfc; }
tbody tr:hover td { background:#ebf4ff; }
td.ent { font-weight:600; white-space:normal; min-width:150px; }
td .pc { color:var(--faint); font-size:11.5px; margin-left:3px; }
td.zero { color:#cbd5e0; }
td.mixcell { min-width:96px; width:110px; }
th .dot { display:inline-block; width:9px; height:9px; border-radius:2px; margin-right:5px; vertical-align:0; }
.type { display:inline-block; font-size:11px; font-weight:600; padding:1px 7px; border-radius:5px; color:#2d3748;
  letter-spacing:.03em; }
.t-TREATMENT { background:%(TREATMENT)s; } .t-CONDITION { background:%(CONDITION)s; }
.t-CHEMICAL { background:%(CHEMICAL)s; } .t-STRAIN { background:%(STRAIN)s; }
.t-SPECIES { background:%(SPECIES)s; } .t-DOSE { background:%(DOSE)s; }
.entity-block { border-top:1px solid var(--line); padding:16px 0 6px; }
.entity-block:first-of-type { border-top:none; }
.entity-block h3 { margin:0 0 6px; font-size:17px; display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
.entity-block h3 .meta { font-size:12.5px; color:var(--faint); font-weight:400; }
.entity-block h3 .up { margin-left:auto; font-size:12px; font-weight:400; }
.entity-block > .mix { max-width:420px; height:8px; margin-bottom:8px; }
.label-group { margin:10px 0 4px 2px; }
.label-group > .head { margin-bottom:4px; }
.label-group > .head .n { color:var(--faint); font-size:12.5px; margin-left:6px; }
.example { border-left:3px solid var(--line); margin:6px 0 10px; padding:2px 0 2px 14px; }
.ex-finding { border-color:var(--finding); } .ex-hypothesis { border-color:var(--hypothesis); }
.ex-skepticism { border-color:var(--skepticism); } .ex-anecdote { border-color:var(--anecdote); }
.ex-other { border-color:var(--other); }
.example .entities { line-height:2.3 !important; font-size:14.5px; }
.example .entities mark { padding:.2em .45em !important; margin:0 .15em !important; }
.example .src { font-size:12.5px; color:var(--faint); margin-top:2px; }
.example .src b { color:var(--muted); font-weight:600; }
.example .src .sep { margin:0 6px; color:#cbd5e0; }
.quote { font-size:11px; border:1px solid #cbd5e0; border-radius:4px; padding:0 5px; color:var(--muted); }
.empty { color:var(--faint); font-style:italic; }
footer { color:var(--faint); font-size:12.5px; text-align:center; padding:10px 0 30px; }
""" % {**LABEL_COLORS, **ENTITY_COLORS}

_FILTER_JS = """
(function(){var q=document.getElementById('q');if(!q)return;var rows=document.querySelectorAll('#entities tbody tr');
q.addEventListener('input',function(){var s=q.value.toLowerCase();rows.forEach(function(r){
r.style.display=r.getAttribute('data-k').indexOf(s)>=0?'':'none';});});})();
"""


def _header_html(totals: dict, title: str, summary: pandas.DataFrame) -> str:
    labels = totals.get("labels", {})
    n_sent = max(int(totals.get("sentences", 0)), 1)
    shares = {label: labels.get(label, 0) / n_sent for label in LABELS}
    legend = "".join(_badge(label, f" {labels.get(label, 0)} · {shares[label] * 100:.0f}%") for label in LABELS)
    cards = [
        ("files", totals.get("files", "–")),
        ("sentences", totals.get("sentences", "–")),
        ("posts", totals.get("posts", "–")),
        ("authors", totals.get("authors", "–")),
        ("entities", len(summary)),
        ("findings", labels.get("finding", "–")),
    ]
    card_html = "".join(f'<div class="card"><div class="v">{_esc(f"{v:,}" if isinstance(v, int) else v)}</div>'
                        f'<div class="k">{_esc(k)}</div></div>' for k, v in cards)
    sub = []
    if totals.get("out_dir"):
        sub.append(f'from <code>{_esc(totals["out_dir"])}</code>')
    if totals.get("entity_types"):
        sub.append("entity types " + _esc(", ".join(totals["entity_types"])))
    if totals.get("model_versions"):
        sub.append("model " + _esc(", ".join(totals["model_versions"])))
    if totals.get("quotes"):
        sub.append(f'{totals["quotes"]:,} quoted sentence{"s" if totals["quotes"] != 1 else ""} counted')
    if totals.get("errors_files"):
        sub.append(f'<span title="{_esc(", ".join(totals["errors_files"]))}">'
                   f'{len(totals["errors_files"])} errors file(s) not summarised</span>')
    if totals.get("bad_entity_rows"):
        sub.append(f'{totals["bad_entity_rows"]:,} rows with unreadable entities skipped')
    return (f'<header class="top"><h1>{_esc(title)}</h1><div class="sub">{" · ".join(sub)}</div>'
            f'<div class="cards">{card_html}</div>'
            f'<div class="labels-total">{_mix_bar(shares, 12)}<div class="legend">{legend}</div></div></header>')


def _table_html(summary: pandas.DataFrame, anchors: dict) -> str:
    label_heads = "".join(f'<th title="{label}"><span class="dot" style="background:{LABEL_COLORS[label]}"></span>'
                          f'{_esc(label)}</th>' for label in LABELS)
    evidence_heads = "".join(f"<th>{_esc(EVIDENCE_TITLES[k])}</th>" for k in EVIDENCE_MODELS)
    head = (
        '<thead><tr class="groups"><th class="l" colspan="2"></th><th colspan="3">counts</th>'
        f'<th colspan="{len(LABELS) + 1}">claim labels (sentences · share)</th>'
        f'<th colspan="{len(EVIDENCE_MODELS)}">findings by evidence</th><th></th></tr>'
        '<tr class="cols"><th class="l">entity</th><th class="l">type</th><th>mentions</th><th>posts</th>'
        f'<th>authors</th><th class="l">mix</th>{label_heads}{evidence_heads}<th>mean conf.</th></tr></thead>'
    )
    body = []
    for rec in summary.to_dict("records"):
        key = (rec["entity"], rec["type"])
        cells = [
            f'<td class="l ent"><a href="#{anchors[key]}">{_esc(rec["entity"])}</a></td>',
            f'<td class="l"><span class="type t-{_esc(rec["type"])}">{_esc(rec["type"])}</span></td>',
            f'<td>{rec["mentions"]:,}</td><td>{rec["posts"]:,}</td><td>{rec["authors"]:,}</td>',
            f'<td class="l mixcell">{_mix_bar({l: rec[f"share_{l}"] for l in LABELS})}</td>',
        ]
        for label in LABELS:
            n = rec[f"n_{label}"]
            cells.append('<td class="zero">0</td>' if n == 0 else
                         f'<td>{n:,}<span class="pc">{_pct(rec[f"share_{label}"])}</span></td>')
        for kind in EVIDENCE_MODELS:
            n = rec[f"findings_{kind}"]
            cells.append(f'<td class="{"zero" if n == 0 else ""}">{n:,}</td>')
        conf = rec["mean_confidence"]
        cells.append(f'<td>{"–" if conf is None or math.isnan(conf) else f"{conf:.2f}"}</td>')
        body.append(f'<tr data-k="{_esc(str(rec["entity"]).lower())}">{"".join(cells)}</tr>')
    if not body:
        body.append(f'<tr><td class="l empty" colspan="{6 + len(LABELS) + len(EVIDENCE_MODELS) + 1}">'
                    'no entity of the selected types was found</td></tr>')
    return f'<div class="tablewrap"><table id="entities">{head}<tbody>{"".join(body)}</tbody></table></div>'


def _example_html(ex: dict, base: Path) -> str:
    label = ex["label"]
    conf = ex["confidence"]
    conf_text = "–" if conf is None or (isinstance(conf, float) and math.isnan(conf)) or conf < 0 else f"{conf:.2f}"
    src = []
    labeled = str(ex.get("labeled_csv") or "")
    source = str(ex.get("source") or "")
    if labeled:
        row = ex.get("row")
        src.append(f'<a href="{_href(labeled, base)}" title="{_esc(labeled)}">{_esc(source or Path(labeled).name)}</a>'
                   + (f' <span title="data row in {_esc(Path(labeled).name)}">row {_esc(row)}</span>' if row else ""))
    elif source:
        src.append(f'<a href="{_href(source, base)}">{_esc(source)}</a>')
    if ex.get("thread"):
        src.append(f'<b>thread</b> {_esc(ex["thread"])}')
    src.append(f'<b>post</b> {_esc(ex.get("post_id", ""))}')
    src.append(f'<b>sentence</b> {_esc(ex.get("sentence_index", ""))}')
    if ex.get("author"):
        src.append(f'<b>by</b> {_esc(ex["author"])}')
    quote = ""
    if ex.get("is_quote") in (True, "true", "True"):
        who = f" of {ex['quoted_author']}" if ex.get("quoted_author") else ""
        quote = f' <span class="quote">quote{_esc(who)}</span>'
    sep = '<span class="sep">·</span>'
    return (f'<div class="example ex-{_esc(label)}">{highlight(str(ex["sentence"]), str(ex.get("entities") or "[]"))}'
            f'<div class="src"><b>conf.</b> {conf_text}{sep}{sep.join(src)}{quote}</div></div>')


def _examples_html(summary: pandas.DataFrame, examples: pandas.DataFrame, anchors: dict, base: Path) -> str:
    grouped: dict[tuple, dict[str, list]] = {}
    for ex in examples.to_dict("records"):
        grouped.setdefault((ex["entity"], ex["type"]), {}).setdefault(ex["label"], []).append(ex)
    blocks = []
    for rec in summary.to_dict("records"):
        key = (rec["entity"], rec["type"])
        by_label = grouped.get(key, {})
        groups = []
        for label in LABELS:
            items = sorted(by_label.get(label, []), key=lambda e: e["rank"])
            if not items:
                continue
            n = rec[f"n_{label}"]
            groups.append(f'<div class="label-group"><div class="head">{_badge(label)}'
                          f'<span class="n">{n:,} sentence{"s" if n != 1 else ""}'
                          f'{" · top " + str(len(items)) if n > len(items) else ""}</span></div>'
                          + "".join(_example_html(ex, base) for ex in items) + "</div>")
        meta = (f'{rec["mentions"]:,} mention{"s" if rec["mentions"] != 1 else ""} · {rec["posts"]:,} '
                f'post{"s" if rec["posts"] != 1 else ""} · {rec["authors"]:,} author{"s" if rec["authors"] != 1 else ""}')
        blocks.append(
            f'<div class="entity-block" id="{anchors[key]}"><h3>{_esc(rec["entity"])} '
            f'<span class="type t-{_esc(rec["type"])}">{_esc(rec["type"])}</span>'
            f'<span class="meta">{meta}</span><a class="up" href="#table">↑ table</a></h3>'
            f'{_mix_bar({l: rec[f"share_{l}"] for l in LABELS}, 8)}'
            + ("".join(groups) or '<p class="empty">no examples</p>') + "</div>")
    return "".join(blocks) or '<p class="empty">no entity of the selected types was found</p>'


def render_html(summary: pandas.DataFrame, examples: Optional[pandas.DataFrame], path: Path,
                title: str = "claimtag report", totals: Optional[dict] = None) -> str:
    """Write one self-contained HTML page (inline CSS, embedded PNG chart, no network) to ``path``.

    ``summary`` is the frame of :func:`aggregate`, ``examples`` its
    ``.attrs["examples"]`` (or :attr:`ReportData.examples`) and ``totals``
    defaults to ``summary.attrs["totals"]``. Links to the labeled CSVs are
    relative to the page's folder. The file is written atomically; the HTML
    text is also returned.
    """
    path = Path(path)
    if examples is None:
        examples = summary.attrs.get("examples", pandas.DataFrame(columns=EXAMPLE_COLUMNS))
    if totals is None:
        totals = summary.attrs.get("totals") or {}
    base = path.parent.resolve()
    anchors = {(e, t): f"e{i}" for i, (e, t) in enumerate(zip(summary["entity"], summary["type"]))}

    png, caption = chart_png(summary)
    chart = (f'<img src="data:image/png;base64,{png}" alt="{_esc(caption)}">' if png
             else '<p class="empty">no treatments to chart</p>')
    n_examples = len(examples)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="claimtag report">
<title>{_esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
{_header_html(totals, title, summary)}
<main>
<section class="panel chart" id="chart">
<h2>Claim types by treatment</h2>
<p class="caption">{_esc(caption)}; n = sentences mentioning it.</p>
{chart}
</section>
<section class="panel" id="table">
<h2>Entities</h2>
<p class="caption">One row per entity (canonical name, else the lower-cased text). Mentions are sentences
naming it; posts are distinct (source, post id); shares are of its mentions; findings are split by the
evidence model of the sentence (animal, human, in vitro, unknown).</p>
<div class="tools"><input id="q" type="search" placeholder="Filter entities…" aria-label="Filter entities">
<span class="caption" style="margin:0">{len(summary):,} entities</span></div>
{_table_html(summary, anchors)}
</section>
<section class="panel" id="examples">
<h2>Examples</h2>
<p class="caption">The {EXAMPLES_PER_LABEL} most confident sentences per entity and claim label
({n_examples:,} in all), entities highlighted; each links to its labeled CSV.</p>
{_examples_html(summary, examples, anchors, base)}
</section>
</main>
<footer>claimtag report · {_esc(totals.get("files", "?"))} labeled file(s) · generated offline, no external resources</footer>
<script>{_FILTER_JS}</script>
</body>
</html>
"""
    write_text_atomic(path, page)
    return page


# ---------------------------------------------------------------------------
# Output files and the command
# ---------------------------------------------------------------------------

def write_summary_csv(summary: pandas.DataFrame, path: Path) -> None:
    """The aggregate as RFC 4180 CSV (UTF-8, CRLF), written atomically."""
    write_text_atomic(Path(path), summary[SUMMARY_COLUMNS].to_csv(index=False, lineterminator="\r\n"))


def _err(message: str) -> None:
    typer.echo(message, err=True)


def report_command(
    out_dir: Path = typer.Argument(..., metavar="OUT_DIR", help="Output folder of `claimtag label` (holds the *.labeled.csv files)."),
    html: Path = typer.Option(..., "--html", metavar="FILE", help="Write the self-contained HTML report here."),
    csv: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="Also write the per-entity aggregate as CSV here."),
    types: list[str] = typer.Option(list(DEFAULT_TYPES), "--type", metavar="TYPE",
                                    help="Entity type to summarise; repeat for several (TREATMENT, CHEMICAL, "
                                         "STRAIN, SPECIES, CONDITION, DOSE)."),
) -> None:
    """Summarise labeled CSVs per entity: claim-label mix, evidence behind findings, top examples.

    Reads every *.labeled.csv in OUT_DIR in chunks and writes one self-contained HTML page (chart, entity table, the three most confident example sentences per entity and label) and, with --csv, the aggregate table.

    Exit codes: 0 report written; 1 nothing to report (no labeled CSVs) or an unreadable CSV; 2 usage error (unknown --type, a folder given as output file).
    """
    try:
        wanted = normalize_types(types)
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    if out_dir.exists() and not out_dir.is_dir():
        _err(f"error: {out_dir} is not a folder; give the --out folder of `claimtag label`")
        raise typer.Exit(2)
    for target, option in ((html, "--html"), (csv, "--csv")):
        if target is not None and target.is_dir():
            _err(f"error: {option} {target} is a folder; give a file name")
            raise typer.Exit(2)
    try:
        data = collect(out_dir, wanted)
    except ReportError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1)
    try:
        render_html(data.summary, data.examples, html,
                    title=f"claimtag report · {out_dir.resolve().name or out_dir}", totals=data.totals)
        if csv is not None:
            write_summary_csv(data.summary, csv)
    except OSError as exc:
        _err(f"error: cannot write the report: {exc}")
        raise typer.Exit(1)
    t = data.totals
    written = f"{html}" + (f" and {csv}" if csv is not None else "")
    typer.echo(f"report: {t['files']} file(s), {t['sentences']:,} sentences, {t['entities']:,} entities "
               f"({', '.join(wanted)}) -> {written}")


__all__ = [
    "LABELS", "ENTITY_TYPES", "EVIDENCE_MODELS", "SUMMARY_COLUMNS", "EXAMPLE_COLUMNS",
    "ReportData", "ReportError", "NoLabeledFiles",
    "aggregate", "collect", "render_html", "chart_png", "highlight", "labeled_files", "normalize_types",
    "write_summary_csv", "write_text_atomic", "report_command",
]
