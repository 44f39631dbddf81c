"""The retrain loop end to end: suggest → edit → train --annotations → compare → models use."""
import csv
import json
import shutil

import pytest

import pipeline
import pipeline.model as model_module
from pipeline.corpus import load_split
from tests.conftest import ROOT, SAMPLES


@pytest.fixture()
def models_root(tmp_path, monkeypatch):
    """A private copy of models/ so promotion and rollback never touch the real one."""
    root = tmp_path / "models"
    root.mkdir()
    for path in (ROOT / "models").iterdir():
        if path.is_file():
            shutil.copy(path, root / path.name)
    monkeypatch.setattr(model_module, "PROJECT_MODELS", root)
    return root


@pytest.fixture()
def mini_corpus(tmp_path):
    """A small base corpus (a slice of ours) so the test trains in seconds."""
    directory = tmp_path / "mini-corpus"
    directory.mkdir()
    for split, stride in (("train", 20), ("test", 15)):
        rows = load_split(split)[::stride]
        with open(directory / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n")
    return directory


def test_suggest_edit_retrain_compare_and_roll_back(cli, tmp_path, models_root, mini_corpus):
    suggestions = tmp_path / "suggest.csv"
    code, _, err = cli("suggest", SAMPLES, "--n", "20", "--out", suggestions, "--format", "csv")
    assert code == 0, err
    with open(suggestions, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20
    # the annotator corrects two labels
    rows[0]["label"] = "skepticism" if rows[0]["label"] != "skepticism" else "other"
    rows[1]["label"] = "anecdote" if rows[1]["label"] != "anecdote" else "finding"
    edited = tmp_path / "edited.csv"
    with open(edited, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    code, out, err = cli("train", "--annotations", edited, "--corpus", mini_corpus)
    assert code == 0, err
    assert "macro-F1" in out and "entity F1" in out
    assert "test: current" in out and "holdout: new" in out
    versions = [p for p in models_root.iterdir() if p.is_dir()]
    assert len(versions) == 1
    new_version = versions[0].name
    card = json.loads((versions[0] / "claim-classifier.json").read_text())
    assert card["version"] == new_version
    assert 12 <= card["extra_annotations"] < 20  # about a fifth of the 20 is held out for the comparison

    code, _, err = cli("models", "use", new_version)
    assert code == 0, err
    assert pipeline.load().get_pipe("claimtag_classifier").version == new_version
    code, listing, _ = cli("models", "list")
    assert code == 0 and f"* {new_version}" in listing
    code, _, _ = cli("models", "use", "default")
    assert code == 0
    shipped = json.loads((models_root / "claim-classifier.json").read_text())["version"]
    assert pipeline.load().get_pipe("claimtag_classifier").version == shipped
    assert cli("models", "use", "ct-nonexistent")[0] == 2


def test_invalid_annotations_stop_training_with_file_and_line(cli, tmp_path, models_root, mini_corpus):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "fin works", "label": "finding", "entities": []}) + "\n"
                   + json.dumps({"text": "dut works", "label": "rumour", "entities": []}) + "\n")
    code, _, err = cli("train", "--annotations", bad, "--corpus", mini_corpus)
    assert code == 1
    assert f"{bad}:2: unknown label 'rumour'" in err and "--skip-invalid" in err
    assert not [p for p in models_root.iterdir() if p.is_dir()]
    code, _, err = cli("train", "--annotations", bad, "--corpus", mini_corpus, "--skip-invalid")
    assert code == 0, err
    assert "skipped 1 invalid annotation" in err


def test_test_split_sentences_never_enter_training(cli, tmp_path, models_root, mini_corpus):
    test_sentence = json.loads((mini_corpus / "test.jsonl").read_text().splitlines()[0])
    ann = tmp_path / "ann.jsonl"
    ann.write_text(json.dumps({"text": test_sentence["text"], "label": test_sentence["label"], "entities": []}) + "\n"
                   + json.dumps({"text": "been on keto shampoo twice a week, itch gone", "label": "anecdote",
                                 "entities": []}) + "\n")
    code, _, err = cli("train", "--annotations", ann, "--corpus", mini_corpus)
    assert code == 0, err
    assert "left out 1 annotation(s) whose text is in the held-out test split" in err


def test_training_is_deterministic_across_processes(tmp_path, mini_corpus):
    """Same corpus and code → the same joblib bytes, whatever the hash seed of the process."""
    import os
    import subprocess
    import sys

    digests = []
    for seed in ("1", "2"):
        out = tmp_path / f"model-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "pipeline.cli", "train", "--corpus", str(mini_corpus), "--out", str(out),
                        "--quiet"], cwd=ROOT, env=env, check=True, capture_output=True)
        card = json.loads((out / "claim-classifier.json").read_text())
        digests.append((card["sha256"], card["span_typer_sha256"]))
    assert digests[0] == digests[1]
