"""The full pipeline on the sentences the NLP-stages issue names, plus the evaluate command."""
import json

import pytest

from pipeline.classify import LABELS, mask_sentence
from pipeline.evaluate import cue_word_baseline, entity_metrics, expected_calibration_error, label_metrics

EXAMPLES = [
    ("Treated C57BL/6J mice regrew dorsal fur within three weeks of the minoxidil application.", "finding",
     {("C57BL/6J", "STRAIN"), ("mice", "SPECIES"), ("minoxidil", "TREATMENT")}),
    ("maybe substance P is what keeps the follicles stuck in catagen", "hypothesis", {("substance P", "CHEMICAL")}),
    ("lol mice aren't men, wake me up when there's a human trial", "skepticism", set()),
    ("been on fin 1mg for 2 yrs, hairline held", "anecdote", {("1mg", "DOSE")}),
    ("anyone tried this?", "other", set()),
]


@pytest.mark.parametrize("text, label, entities", EXAMPLES)
def test_required_examples(nlp, text, label, entities):
    doc = nlp(text)
    (sent,) = list(doc.sents)
    assert sent._.label == label, sent._.label_probs
    assert entities <= {(e.text, e.label_) for e in doc.ents}
    probs = sent._.label_probs
    assert set(probs) == set(LABELS) and abs(sum(probs.values()) - 1) < 1e-6


def test_pipe_labels_every_sentence_of_every_doc(nlp):
    texts = ["Been on fin for a year. It worked! Did it work for you?", "", "   ", "Mice regrew fur."]
    docs = list(nlp.pipe(texts, batch_size=2))
    assert [len([s for s in d.sents if s.text.strip()]) for d in docs] == [3, 0, 0, 1]
    for doc in docs:
        for sent in doc.sents:
            if sent.text.strip():
                assert sent._.label in LABELS


def test_labeling_is_deterministic(nlp):
    text = "A small trial in 40 men found 12% more hair. I doubt it though. Anyone tried it?"
    first = [(s._.label, s._.label_probs) for s in nlp(text).sents]
    second = [(s._.label, s._.label_probs) for s in nlp(text).sents]
    assert first == second


def test_masking_hides_entities_numbers_and_links():
    masked = mask_sentence("been on fin 1mg for 2 yrs https://x.io/a", [(8, 11, "TREATMENT"), (12, 15, "DOSE")])
    assert masked.split() == ["been", "on", "TREATMENT", "DOSE", "for", "0", "yrs", "URL"]


def test_metrics_on_a_hand_computed_example():
    gold = ["finding", "finding", "other", "anecdote"]
    pred = ["finding", "other", "other", "anecdote"]
    m = label_metrics(gold, pred)
    assert m["accuracy"] == 0.75
    assert m["per_label"]["finding"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["per_label"]["other"]["precision"] == 0.5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)
    ents = entity_metrics([[(0, 3, "TREATMENT"), (4, 7, "DOSE")]], [[(0, 3, "TREATMENT"), (4, 6, "DOSE")]])
    assert (ents["precision"], ents["recall"]) == (0.5, 0.5)
    assert ents["per_type"]["TREATMENT"]["f1"] == 1.0 and ents["per_type"]["DOSE"]["f1"] == 0.0


def test_ece_is_zero_for_perfect_confident_predictions_and_positive_otherwise():
    import numpy

    confident = numpy.eye(5)[[0, 1, 2]]
    assert expected_calibration_error(["finding", "hypothesis", "skepticism"], confident) == 0.0
    assert expected_calibration_error(["other", "other", "other"], confident) == pytest.approx(1.0)


def test_cue_baseline_follows_the_tie_break_order():
    assert cue_word_baseline(["I doubt the study showed anything", "Did a study show it?", "maybe it works",
                              "I tried it", "The trial found 12% more hair", "nice weather"]) == [
        "skepticism", "other", "hypothesis", "anecdote", "finding", "other"]


def test_evaluate_json_reports_everything(cli, nlp, tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [{"text": t, "label": label, "entities": []} for t, label, _ in EXAMPLES]
    rows[0]["entities"] = [[8, 16, "STRAIN"], [17, 21, "SPECIES"], [66, 75, "TREATMENT"]]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli("evaluate", gold, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"macro_f1", "accuracy", "per_label", "confusion", "ece", "entities"} <= set(result)
    assert {"precision", "recall", "f1", "per_type"} <= set(result["entities"])
    predicted = [list(nlp(t).sents)[0]._.label for t, _, _ in EXAMPLES]
    expected_accuracy = sum(p == label for p, (_, label, _) in zip(predicted, EXAMPLES)) / len(EXAMPLES)
    assert result["accuracy"] == pytest.approx(expected_accuracy)
    assert result["entities"]["recall"] == 1.0
    assert result["baselines"]["majority class"]["accuracy"] == pytest.approx(1 / 5)
    code, out, _ = cli("evaluate", gold)
    assert code == 0 and "confusion" in out and "cue-word rules" in out and "majority class" in out
