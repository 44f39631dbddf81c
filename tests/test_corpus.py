"""The annotated corpus: schema, counts, held-out split hygiene, and the model built from it."""
import json
from collections import Counter

import numpy
import pytest

from pipeline.corpus import ANNOTATIONS_DIR, corpus_sha256, load_split, validate_records
from pipeline.model import PROJECT_MODELS, ModelFiles, sha256_file
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def train():
    return load_split("train")


@pytest.fixture(scope="module")
def test_split():
    return load_split("test")


def test_every_record_is_valid(entity_nlp, train, test_split):
    problems = validate_records(train + test_split, tokenizer=entity_nlp.tokenizer)
    assert not problems, "\n".join(map(str, problems[:20]))


def test_size_and_coverage_targets(train, test_split):
    records = train + test_split
    labels = Counter(r["label"] for r in records)
    styles = Counter(r["style"] for r in records)
    types = Counter(e[2] for r in records for e in r["entities"])
    assert len(records) >= 2000
    assert all(labels[label] >= 300 for label in ("finding", "hypothesis", "skepticism", "anecdote"))
    assert labels["other"] >= 200
    assert styles["forum"] >= 1500 and styles["abstract"] >= 300
    assert sum(types.values()) >= 1500
    assert set(types) == {"TREATMENT", "CHEMICAL", "STRAIN", "SPECIES", "CONDITION", "DOSE"}
    assert sum(r["domain"] == "other" for r in records) >= 400
    assert len(test_split) >= 400


def test_test_split_is_held_out_by_post(train, test_split):
    assert not {r["post_id"] for r in train} & {r["post_id"] for r in test_split}
    assert not {r["id"] for r in train} & {r["id"] for r in test_split}


def test_no_test_sentence_has_a_near_duplicate_in_train(train, test_split):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True)
    train_matrix = vectorizer.fit_transform([r["text"] for r in train])
    test_matrix = vectorizer.transform([r["text"] for r in test_split])
    similarity = (test_matrix @ train_matrix.T).max(axis=1).toarray().ravel()
    worst = int(numpy.argmax(similarity))
    assert similarity[worst] < 0.9, f"{test_split[worst]['text']!r} has a near-duplicate in train"


def test_validator_names_file_line_and_reason(tmp_path, entity_nlp):
    rows = [
        {"id": "a", "text": "fin works", "label": "anecdote", "entities": [[0, 3, "TREATMENT"]]},
        {"id": "a", "text": "fin works", "label": "finding", "entities": [[0, 2, "TREATMENT"], [1, 3, "DRUG"]]},
        {"id": "c", "text": "", "label": "other", "entities": []},
        {"id": "d", "text": "x y", "label": "rumour", "entities": [[2, 9, "DOSE"]]},
    ]
    for i, r in enumerate(rows, 1):
        r["_file"], r["_line"] = "bad.jsonl", i
    problems = [str(p) for p in validate_records(rows, tokenizer=entity_nlp.tokenizer)]
    joined = "\n".join(problems)
    assert "bad.jsonl:2: duplicate id 'a'" in joined
    assert "bad.jsonl:2: same text labeled 'finding' here and 'anecdote' at bad.jsonl:1" in joined
    assert "bad.jsonl:2: span 0-2 'fi' is not on token boundaries" in joined
    assert "bad.jsonl:2: unknown entity type 'DRUG'" in joined
    assert "bad.jsonl:2: spans 0-2 and 1-3 overlap" in joined
    assert "bad.jsonl:3: empty or missing text" in joined
    assert "bad.jsonl:4: unknown label 'rumour'" in joined
    assert "bad.jsonl:4: span 2-9 is outside the text" in joined


def test_shipped_model_was_trained_on_this_corpus_and_lexicon():
    card = ModelFiles(PROJECT_MODELS).read_card()
    assert card["corpus_sha256"] == corpus_sha256(ANNOTATIONS_DIR), "corpus changed: run `make train`"
    assert card["lexicon_sha256"] == sha256_file(ROOT / "corpus" / "lexicon.jsonl"), "lexicon changed: run `make train`"
    assert card["sha256"] == sha256_file(PROJECT_MODELS / "claim-classifier.joblib")


def test_annotation_checksums_match():
    from pipeline.corpus import checksum_problems, read_checksums

    assert set(read_checksums()) == {p.name for p in ANNOTATIONS_DIR.glob("*.jsonl")}
    assert checksum_problems() == []
