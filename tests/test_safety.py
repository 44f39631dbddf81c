"""Safe model loading, CSV injection, and properties of the pipeline on arbitrary text."""
import json
import shutil

import pandas
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import pipeline
from pipeline.model import ModelError, ModelFiles, load_estimator
from pipeline.write import excel_safe
from tests.conftest import ROOT



@pytest.fixture()
def outside_model(tmp_path):
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    for path in (ROOT / "models").iterdir():
        if path.is_file():
            shutil.copy(path, directory / path.name)
    return directory


def test_model_from_outside_models_needs_trust(outside_model, cli, tmp_path):
    with pytest.raises(ModelError, match="--trust-model"):
        pipeline.load(outside_model)
    assert pipeline.load(outside_model, trust_model=True).get_pipe("claimtag_classifier").version.startswith("ct-")
    src = tmp_path / "a.jsonl"
    src.write_text('{"text": "fin works"}\n')
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--model", outside_model, "--jobs", "1")
    assert code == 1 and "unpickling" in err and "--trust-model" in err
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--model", outside_model, "--trust-model",
                       "--jobs", "1", "--quiet")
    assert code == 0, err


def test_tampered_joblib_is_refused_before_unpickling(outside_model):
    with open(outside_model / "claim-classifier.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256.*make train"):
        load_estimator(ModelFiles(outside_model), trust_model=True)


def test_tampered_span_typer_is_refused_before_unpickling(outside_model):
    typer = outside_model / "entity-typer.joblib"
    assert typer.exists(), "the shipped model should carry its span typer"
    with open(typer, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="entity-typer.joblib has sha256.*make train"):
        pipeline.load(outside_model, trust_model=True)


def test_library_version_mismatch_says_what_to_do(outside_model):
    card_path = outside_model / "claim-classifier.json"
    card = json.loads(card_path.read_text())
    card["libraries"]["scikit-learn"] = "1.4.2"
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"scikit-learn .* trained with 1\.4\.2.*make train"):
        load_estimator(ModelFiles(outside_model), trust_model=True)


def test_missing_card_says_to_train(outside_model):
    (outside_model / "claim-classifier.json").unlink()
    with pytest.raises(ModelError, match="make train"):
        load_estimator(ModelFiles(outside_model), trust_model=True)


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1 for fin", "'+1 for fin"),
    ("-fin works", "'-fin works"), ("@mod pls", "'@mod pls"), ("\tindent", "'\tindent"), ("\rcr", "'\rcr"),
    ("fin = good", "fin = good"), ("", ""),
])
def test_excel_safe_cells(cell, expected):
    assert excel_safe(cell) == expected


def test_excel_safe_flag_neutralises_formula_cells_only_when_asked(cli, tmp_path):
    src = tmp_path / "inject.jsonl"
    src.write_text(json.dumps({"author": "=cmd|' /C calc'!A0", "text": "=1+1 is my regimen. fin works."}) + "\n")
    code, _, err = cli("label", src, "--out", tmp_path / "plain", "--jobs", "1", "--quiet")
    assert code == 0, err
    plain = pandas.read_csv(tmp_path / "plain" / "inject.jsonl.labeled.csv", keep_default_na=False)
    assert plain["sentence"][0] == "=1+1 is my regimen."
    code, _, err = cli("label", src, "--out", tmp_path / "safe", "--excel-safe", "--jobs", "1", "--quiet")
    assert code == 0, err
    safe = pandas.read_csv(tmp_path / "safe" / "inject.jsonl.labeled.csv", keep_default_na=False)
    assert safe["sentence"][0] == "'=1+1 is my regimen."
    assert safe["author"][0].startswith("'=")
    assert safe["sentence"][1] == "fin works."


forum_text = st.lists(
    st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
              st.sampled_from([" ", "\n", ". ", "? ", "!", "(", ")", "-", "/", "BoNT/A", "C57BL/6J", "fin", "5%",
                               "mice", " (TE) ", "telogen effluvium", "1mg daily"])),
    max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=forum_text)
def test_entities_lie_inside_their_sentence_and_labeling_is_repeatable(nlp, text):
    doc = nlp(text)
    for ent in doc.ents:
        sent = ent.sent
        assert sent.start <= ent.start and ent.end <= sent.end
        assert text[ent.start_char:ent.end_char] == ent.text
    first = [(s.start_char, s.end_char, s._.label, s._.label_probs) for s in doc.sents if s.text.strip()]
    again = nlp(text)
    assert first == [(s.start_char, s.end_char, s._.label, s._.label_probs) for s in again.sents if s.text.strip()]
