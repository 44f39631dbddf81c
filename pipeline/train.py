"""Train the claim classifier on the corpus (test split excluded) and write the model.

Model selection uses the training split only, with two cross-validations:

* grouped 5-fold by post (sentences of one post never straddle folds), and
* grouped by source, where each source is a batch of posts written in one
  register about one group of topics (post-id prefix): no source is in two
  folds (leave-one-source-out up to :data:`SOURCE_FOLDS` sources, that many
  folds of whole sources beyond). This is the closer estimate of how the
  model does on text from forums it has never seen, so it decides between
  candidates.

The held-out test split is scored once, after the choice, and only reported.

The entity stage's span typer (see :mod:`pipeline.entities`) is fitted first,
on the same training sentences, and kept only if grouped cross-validation by
post says it beats the rules alone; the classifier then trains on sentences
masked with the entities the chosen entity stage finds.
"""
from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy

from .classify import LABELS, build_estimator, mask_sentence, ordered_proba
from .entities import NO_ENTITY, build_span_typer, span_features
from .segment import SentenceSegmenter
from .corpus import ANNOTATIONS_DIR, CORPUS_DIR, corpus_sha256, load_split
from .evaluate import entity_metrics, label_metrics
from .model import CARD_FILE, ESTIMATOR_FILE, LEXICON_FILE, SPAN_TYPER_FILE, sha256_file

SEED = 0
LEXICON_SOURCE = CORPUS_DIR / "lexicon.jsonl"

# Candidates compared by cross-validation (name, build_estimator kwargs).
CANDIDATES: list[tuple[str, dict]] = [
    ("logreg words+chars", {"model": "logreg", "use_chars": True, "use_cues": False, "C": 4.0}),
    ("logreg words+chars+cues C=4", {"model": "logreg", "use_chars": True, "use_cues": True, "C": 4.0}),
    ("logreg words+chars+cues C=16", {"model": "logreg", "use_chars": True, "use_cues": True, "C": 16.0}),
    ("linear svm words+chars+cues", {"model": "svm", "use_chars": True, "use_cues": True, "C": 4.0}),
    ("linear svm words+chars across words+cues",
     {"model": "svm", "use_chars": True, "char_analyzer": "char", "use_cues": True, "C": 4.0}),
]


SOURCE_FOLDS = 10


def source_of(record: dict) -> str:
    return str(record.get("post_id", "")).split("-")[0] or "unknown"


def annotate_unsplit(nlp, texts: Sequence[str], batch_size: int = 256):
    """Entities of each text, each text treated as one sentence."""
    segmenter = nlp.get_pipe("claimtag_segmenter")
    before = segmenter.split
    segmenter.split = False
    try:
        out = []
        for doc in nlp.pipe(texts, batch_size=batch_size):
            out.append([(e.start_char, e.end_char, e.label_) for e in doc.ents])
        return out
    finally:
        segmenter.split = before


def masked_corpus(nlp, records: Sequence[dict]) -> tuple[list[str], list[list[tuple[int, int, str]]]]:
    texts = [r["text"] for r in records]
    ents = annotate_unsplit(nlp, texts)
    return [mask_sentence(t, e) for t, e in zip(texts, ents)], ents


def span_typer_examples(nlp, records: Sequence[dict]) -> tuple[list[dict], list[str], list[int]]:
    """One example per rule candidate: features, gold type (or NONE), index of its record."""
    tagger = nlp.get_pipe("claimtag_entities")
    one_sentence = SentenceSegmenter(split=False)  # each record is one sentence, as in annotate_unsplit
    X, y, owner = [], [], []
    for k, record in enumerate(records):
        doc = one_sentence(nlp.make_doc(record["text"]))
        spans, keeps, treatment_tokens = tagger.rule_candidates(doc)
        gold = {(s, e): t for s, e, t in record.get("entities", [])}
        for span, keep in zip(spans, keeps):
            X.append(span_features(span, keep, treatment_tokens))
            y.append(gold.get((span.start_char, span.end_char), NO_ENTITY))
            owner.append(k)
    return X, y, owner


def choose_span_typer(nlp, records: Sequence[dict], log=print, folds: int = 5):
    """Fit the span typer if grouped CV by post says it beats the rules; returns ``(typer or None, report)``."""
    from sklearn.model_selection import GroupKFold

    tagger = nlp.get_pipe("claimtag_entities")
    before = tagger.typer
    X, y, owner = span_typer_examples(nlp, records)
    posts = [str(r.get("post_id", i)) for i, r in enumerate(records)]
    gold = [[tuple(e) for e in r.get("entities", [])] for r in records]
    texts = [r["text"] for r in records]
    rules = entity_metrics(gold, annotate_unsplit(nlp, texts))
    predicted: list = [None] * len(records)
    try:
        for train_idx, test_idx in GroupKFold(n_splits=folds).split(texts, groups=posts):
            train_set = set(train_idx.tolist())
            rows = [i for i, k in enumerate(owner) if k in train_set]
            tagger.typer = build_span_typer(random_state=SEED).fit([X[i] for i in rows], [y[i] for i in rows])
            for k, ents in zip(test_idx, annotate_unsplit(nlp, [texts[k] for k in test_idx])):
                predicted[k] = ents
    finally:
        tagger.typer = before
    typed = entity_metrics(gold, predicted)
    report = {"examples": len(X), "cv_by_post_rules": _entity_summary(rules), "cv_by_post_typer": _entity_summary(typed)}
    log(f"  entity stage: rules F1 {rules['f1']:.3f}, rules + span typer F1 {typed['f1']:.3f} "
        f"(CV by post, {len(X)} candidates)")
    if typed["f1"] <= rules["f1"]:
        report["chosen"] = "rules"
        return None, report
    report["chosen"] = "rules + span typer"
    return build_span_typer(random_state=SEED).fit(X, y), report


def _entity_summary(metrics: dict) -> dict:
    return {"precision": metrics["precision"], "recall": metrics["recall"], "f1": metrics["f1"],
            "per_type_f1": {t: v["f1"] for t, v in metrics["per_type"].items()}}


def _fit_predict(params: dict, X_train: list[str], y_train, X_test: list[str]):
    # Selection compares uncalibrated models: calibration barely moves the
    # argmax and would cost five inner fits per fold.
    estimator = build_estimator(**{**params, "calibrate": False}, random_state=SEED)
    estimator.fit(X_train, y_train)
    return estimator.predict(X_test)


def drop_fit_only_state(estimator):
    """Remove what prediction does not need and would make the pickle vary between runs or grow.

    TfidfVectorizer keeps the terms cut by ``min_df`` in ``stop_words_``, a
    Python set whose order follows the per-process string hash seed; pickled
    as is, the same training run gives different bytes (and versions) each
    time. scikit-learn documents the attribute as safe to drop. Its
    ``_stop_words_id`` cache holds a memory address and goes too.
    """
    stack = [estimator]
    while stack:
        node = stack.pop()
        if hasattr(node, "stop_words_"):
            node.stop_words_ = None
        if hasattr(node, "_stop_words_id"):  # an id() of a Python object: a memory address
            del node._stop_words_id
        for attr in ("steps", "transformer_list"):
            stack.extend(step for _, step in getattr(node, attr, []))
        # Linear weights are stored as float32: one weight per n-gram and
        # label is most of the file, and float64 noise does not compress.
        # Half the bytes; decision values move by about 1e-7.
        for calibrated in getattr(node, "calibrated_classifiers_", []):
            stack.append(calibrated.estimator)
        if getattr(node, "coef_", None) is not None:
            node.coef_ = numpy.asarray(node.coef_, dtype=numpy.float32)
    return estimator


def cross_validate(params: dict, X: Sequence[str], y: Sequence[str], groups: Sequence[str], splitter,
                   n_jobs: int = -1) -> dict:
    from joblib import Parallel, delayed
    from sklearn.metrics import f1_score

    X = numpy.asarray(X, dtype=object)
    y = numpy.asarray(y)
    folds = list(splitter.split(X, y, groups))
    predictions = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(params, list(X[tr]), y[tr], list(X[te])) for tr, te in folds)
    predicted = numpy.empty(len(y), dtype=object)
    fold_scores = []
    for (_, test_idx), pred in zip(folds, predictions):
        predicted[test_idx] = pred
        fold_scores.append(f1_score(y[test_idx], pred, labels=list(LABELS), average="macro", zero_division=0))
    pooled = f1_score(y, predicted.astype(str), labels=list(LABELS), average="macro", zero_division=0)
    return {"macro_f1": float(pooled), "fold_macro_f1": [float(s) for s in fold_scores]}


def select_model(X, y, posts, sources, log=print) -> tuple[str, dict, list[dict]]:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    results = []
    n_sources = len(set(sources))
    # Leaving out one source at a time costs a fit per source; beyond
    # SOURCE_FOLDS sources, folds of several whole sources measure the same
    # thing (text from sources the model never saw) in bounded time.
    source_folds = min(n_sources, SOURCE_FOLDS)
    for name, params in CANDIDATES:
        by_post = cross_validate(params, X, y, posts, StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED))
        # with a single source there is nothing to leave out: fall back to CV by post
        by_source = (cross_validate(params, X, y, sources, GroupKFold(n_splits=source_folds))
                     if n_sources > 1 else by_post)
        results.append({"name": name, "params": params, "cv_by_post": by_post,
                        "cv_by_source": {**by_source, "folds": source_folds, "sources": n_sources}})
        log(f"  {name:<26} CV by post macro-F1 {by_post['macro_f1']:.3f}   "
            f"by source ({source_folds} folds of {n_sources} sources) macro-F1 {by_source['macro_f1']:.3f}")
    best = max(results, key=lambda r: (r["cv_by_source"]["macro_f1"], r["cv_by_post"]["macro_f1"]))
    return best["name"], best["params"], results


def evaluate_estimator(estimator, nlp, records: Sequence[dict]) -> dict:
    X, pred_ents = masked_corpus(nlp, records)
    proba = ordered_proba(estimator, X)
    pred = [LABELS[i] for i in proba.argmax(axis=1)]
    metrics = label_metrics([r["label"] for r in records], pred, proba)
    gold_ents = [[tuple(e) for e in r.get("entities", [])] for r in records]
    metrics["entities"] = entity_metrics(gold_ents, pred_ents)
    return metrics


def train(
    out_dir: Path,
    annotations_dir: Path = ANNOTATIONS_DIR,
    lexicon: Path = LEXICON_SOURCE,
    extra_records: Sequence[dict] = (),
    log=print,
    params: dict | None = None,
) -> dict:
    """Fit, write ``claim-classifier.joblib``/``.json`` and ``lexicon.jsonl`` to ``out_dir``; return the card.

    With ``params`` the estimator configuration is taken as given (the retrain
    loop reuses the shipped model's choice); without, it is chosen by
    cross-validation on the training split.
    """
    import joblib
    import sklearn
    import spacy

    from .nlp import build_entity_pipeline

    started = time.time()
    train_records = load_split("train", annotations_dir) + list(extra_records)
    test_records = load_split("test", annotations_dir)
    nlp = build_entity_pipeline(lexicon)
    # Imports cannot tell "no entities" from "entities not annotated": only
    # records with at least one span teach the entity stage.
    entity_records = load_split("train", annotations_dir) + [r for r in extra_records if r.get("entities")]
    log("entity stage (training split only):")
    span_typer, entity_report = choose_span_typer(nlp, entity_records, log=log)
    nlp.get_pipe("claimtag_entities").typer = span_typer
    X, _ = masked_corpus(nlp, train_records)
    y = [r["label"] for r in train_records]
    posts = [str(r.get("post_id", i)) for i, r in enumerate(train_records)]
    sources = [source_of(r) for r in train_records]
    log(f"training on {len(X)} sentences from {len(set(posts))} posts, {len(set(sources))} sources"
        + (f" ({len(extra_records)} from new annotations)" if extra_records else ""))
    if params is None:
        log("model selection (training split only):")
        name, params, results = select_model(X, y, posts, sources, log=log)
        log(f"chosen: {name}")
    else:
        name, results = "given", []
    estimator = drop_fit_only_state(build_estimator(**params, random_state=SEED).fit(X, y))

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (ESTIMATOR_FILE + ".partial")
    joblib.dump(estimator, tmp, compress=3)
    tmp.replace(out_dir / ESTIMATOR_FILE)
    if Path(lexicon).resolve() != (out_dir / LEXICON_FILE).resolve():
        shutil.copyfile(lexicon, out_dir / LEXICON_FILE)
    typer_sha256 = None
    if span_typer is not None:
        tmp = out_dir / (SPAN_TYPER_FILE + ".partial")
        joblib.dump(span_typer, tmp, compress=3)
        tmp.replace(out_dir / SPAN_TYPER_FILE)
        typer_sha256 = sha256_file(out_dir / SPAN_TYPER_FILE)
    elif (out_dir / SPAN_TYPER_FILE).exists():
        (out_dir / SPAN_TYPER_FILE).unlink()
    digest = sha256_file(out_dir / ESTIMATOR_FILE)
    test_metrics = evaluate_estimator(estimator, nlp, test_records)
    card = {
        "version": f"ct-{digest[:10]}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "labels": list(LABELS),
        "sha256": digest,
        "lexicon_sha256": sha256_file(out_dir / LEXICON_FILE),
        "span_typer_sha256": typer_sha256,
        "entity_stage": entity_report,
        "corpus_sha256": corpus_sha256(annotations_dir),
        "extra_annotations": len(extra_records),
        "python": platform.python_version(),
        "libraries": {"spacy": spacy.__version__, "scikit-learn": sklearn.__version__,
                      "numpy": numpy.__version__, "joblib": joblib.__version__},
        "estimator": {"name": name, "params": params, "seed": SEED},
        "train_sentences": len(X),
        "train_label_counts": {label: y.count(label) for label in LABELS},
        "model_selection": results,
        "cv": next((r for r in results if r["name"] == name), None),
        "test": test_metrics,
        "training_seconds": round(time.time() - started, 1),
    }
    tmp_card = out_dir / (CARD_FILE + ".partial")
    tmp_card.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    tmp_card.replace(out_dir / CARD_FILE)
    log(f"test split ({test_metrics['n']} sentences, reported only): macro-F1 {test_metrics['macro_f1']:.3f}, "
        f"entity F1 {test_metrics['entities']['f1']:.3f}")
    log(f"wrote {out_dir / ESTIMATOR_FILE} (version {card['version']})")
    return card


# -- the retrain loop: new annotations, comparison, promotion ----------------------

def compare_models(current_dir: Path, new_dir: Path, test_records: Sequence[dict],
                   holdout_records: Sequence[dict]) -> dict:
    """Score both models on the same sentences: the fixed test split and the held-out new annotations."""
    from .model import ModelFiles, load_estimator
    from .nlp import build_entity_pipeline

    scores = {}
    for role, directory in (("current", current_dir), ("new", new_dir)):
        files = ModelFiles(directory)
        estimator, card = load_estimator(files, trust_model=True)
        nlp = build_entity_pipeline(model_dir=directory, trust_model=True)
        scores[role] = {"version": card.get("version"),
                        "test": evaluate_estimator(estimator, nlp, test_records)}
        if holdout_records:
            scores[role]["holdout"] = evaluate_estimator(estimator, nlp, holdout_records)
    return scores


def comparison_table(scores: dict) -> str:
    """Current and new model side by side: macro-F1, per-label F1, entity F1."""
    current, new = scores["current"], scores["new"]
    sets = [name for name in ("test", "holdout") if name in new]
    width = 17
    header = f"{'':<22}" + "".join(f"{f'{s}: current':>{width}}{f'{s}: new':>{width}}" for s in sets)
    lines = [f"current = {current['version']}, new = {new['version']}", header]

    def cell(value) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"

    def row(name, get):
        return f"{name:<22}" + "".join(cell(get(current[s])) + cell(get(new[s])) for s in sets)

    lines.append(row("macro-F1", lambda m: m["macro_f1"]))
    lines.append(row("accuracy", lambda m: m["accuracy"]))
    for label in LABELS:
        lines.append(row(f"F1 {label}", lambda m, label=label: m["per_label"][label]["f1"]
                         if m["per_label"][label]["support"] else None))
    lines.append(row("entity F1", lambda m: m["entities"]["f1"] if m["entities"]["support"] else None))
    lines.append(f"{'sentences':<22}" + "".join(f"{current[s]['n']:>{width}}{new[s]['n']:>{width}}" for s in sets))
    return "\n".join(lines)
