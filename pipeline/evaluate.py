"""Metrics for claim labels and entities on gold sentences, plus two baselines."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy

from .classify import LABELS
from .entities import ENTITY_TYPES


def label_metrics(gold: Sequence[str], pred: Sequence[str], proba: numpy.ndarray | None = None) -> dict:
    """Per-label P/R/F1, macro-F1, accuracy, confusion (rows gold, columns predicted), ECE."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(LABELS), zero_division=0)
    per_label = {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(LABELS)
    }
    present = [i for i, label in enumerate(LABELS) if s[i] > 0]
    macro = float(numpy.mean([f[i] for i in present])) if present else 0.0
    accuracy = float(numpy.mean([g == q for g, q in zip(gold, pred)])) if gold else 0.0
    confusion = confusion_matrix(gold, pred, labels=list(LABELS)).tolist() if gold else []
    result = {
        "n": len(gold),
        "macro_f1": macro,
        "accuracy": accuracy,
        "per_label": per_label,
        "confusion": {"labels": list(LABELS), "matrix": confusion},
    }
    if proba is not None:
        result["ece"] = expected_calibration_error(gold, proba)
    return result


def expected_calibration_error(gold: Sequence[str], proba: numpy.ndarray, bins: int = 10) -> float:
    """Top-label ECE (Guo et al. 2017) with equal-width confidence bins."""
    if len(gold) == 0:
        return 0.0
    confidence = proba.max(axis=1)
    predicted = proba.argmax(axis=1)
    correct = numpy.array([LABELS[k] == g for k, g in zip(predicted, gold)], dtype=float)
    edges = numpy.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def entity_metrics(gold: Sequence[Sequence[tuple[int, int, str]]], pred: Sequence[Sequence[tuple[int, int, str]]]) -> dict:
    """Exact span-and-type precision/recall/F1, overall and per type."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        gs, ps = set(map(tuple, g)), set(map(tuple, p))
        for e in gs & ps:
            tp[e[2]] += 1
        for e in ps - gs:
            fp[e[2]] += 1
        for e in gs - ps:
            fn[e[2]] += 1

    def prf(t: int, f_p: int, f_n: int) -> dict:
        precision = t / (t + f_p) if t + f_p else 0.0
        recall = t / (t + f_n) if t + f_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": t + f_n}

    overall = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    overall["per_type"] = {t: prf(tp[t], fp[t], fn[t]) for t in ENTITY_TYPES}
    return overall


# -- baselines ----------------------------------------------------------------

def majority_baseline(train_labels: Sequence[str], n: int) -> list[str]:
    label = Counter(train_labels).most_common(1)[0][0] if train_labels else "other"
    return [label] * n


_CUES = [
    ("skepticism", re.compile(r"\b(doubt|not convinced|skeptic|sceptic|small sample|no control|placebo|bro.?science|"
                              r"scam|correlation|cherry.?pick|funded by|source\?|not buying|don'?t buy|mice (are|aren'?t) (not )?men|bs\b|"
                              r"overhyped|snake oil|marketing)", re.I)),
    ("other", re.compile(r"\?\s*$|^(thanks|thank you|thx|bump|hi|hey|welcome)\b", re.I)),
    ("hypothesis", re.compile(r"\b(might|may|could|maybe|perhaps|possibly|probably|hypothes\w*|theory|suspect|"
                              r"i think|i bet|my guess|would explain|what if)\b", re.I)),
    ("anecdote", re.compile(r"\b(i tried|i'?ve been|i have been|i started|i used|i was|my (derm|doctor|dr|friend|brother|"
                                r"sister|wife|husband|mom|dad)|been on|month \d|in my case|for me)\b", re.I)),
    ("finding", re.compile(r"\b(study|studies|trial|trials|showed|shown|found|significant\w*|p ?<|n ?=|"
                           r"mice|rats|patients|participants|placebo|reduced|increased|meta.?analysis)\b", re.I)),
]


def cue_word_baseline(texts: Sequence[str]) -> list[str]:
    """The rule a person writes first: look for cue words, in tie-break order."""
    out = []
    for text in texts:
        for label, pattern in _CUES:
            if pattern.search(text):
                out.append(label)
                break
        else:
            out.append("other")
    return out


def format_report(name: str, metrics: dict) -> str:
    lines = [f"{name}: macro-F1 {metrics['macro_f1']:.3f}  accuracy {metrics['accuracy']:.3f}  n={metrics['n']}"]
    if "ece" in metrics:
        lines[0] += f"  ECE {metrics['ece']:.3f}"
    return "\n".join(lines)


def format_full_report(metrics: dict, baselines: dict[str, dict]) -> str:
    lines = []
    lines.append(f"sentences: {metrics['n']}")
    lines.append(f"{'label':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for label, m in metrics["per_label"].items():
        lines.append(f"{label:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    lines.append(f"macro-F1 {metrics['macro_f1']:.3f}   accuracy {metrics['accuracy']:.3f}   "
                 f"ECE {metrics.get('ece', float('nan')):.3f}")
    lines.append("")
    lines.append("confusion (rows = gold, columns = predicted):")
    labels = metrics["confusion"]["labels"]
    lines.append(" " * 12 + "".join(f"{lab[:10]:>11}" for lab in labels))
    for lab, row in zip(labels, metrics["confusion"]["matrix"]):
        lines.append(f"{lab:<12}" + "".join(f"{v:>11}" for v in row))
    ents = metrics.get("entities")
    if ents:
        lines.append("")
        lines.append(f"entities: precision {ents['precision']:.3f}  recall {ents['recall']:.3f}  F1 {ents['f1']:.3f}")
        for t, m in ents["per_type"].items():
            lines.append(f"  {t:<10} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  (n={m['support']})")
    if baselines:
        lines.append("")
        lines.append("baselines on the same sentences:")
        lines.append(f"  {'claimtag':<22} macro-F1 {metrics['macro_f1']:.3f}  accuracy {metrics['accuracy']:.3f}")
        for name, m in baselines.items():
            lines.append(f"  {name:<22} macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}")
    return "\n".join(lines)
