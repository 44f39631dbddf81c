"""Annotation imports: every tool's export reaches the same corpus records, and every problem names file:line."""
import json
import shutil

import pytest

from pipeline.annotations import (FORMATS, AnnotationFormatError, ImportSummary, detect_annotation_format,
                                  load_for_training, read_annotations, split_holdout, validate_annotations)
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "annotations"
TOOLS = FIXTURES / "tools"
INVALID = FIXTURES / "invalid"

# The five sentences every file in tests/fixtures/annotations/tools/ annotates.
EXPECTED = sorted([
    ("A 2019 trial of Botox in 40 patients reduced scalp sweating by 80%.", "finding",
     [[16, 21, "TREATMENT"], [28, 36, "SPECIES"], [51, 59, "CONDITION"]]),
    ("Maybe minoxidil works by opening potassium channels in the follicle.", "hypothesis",
     [[6, 15, "TREATMENT"], [33, 51, "CHEMICAL"]]),
    ("Mice aren't men, so I doubt the C57BL/6J data will hold up.", "skepticism",
     [[0, 4, "SPECIES"], [12, 15, "SPECIES"], [32, 40, "STRAIN"]]),
    ("Been on fin 1mg daily for 6 months \N{THUMBS UP SIGN} and my hair loss stopped.", "anecdote",
     [[8, 11, "TREATMENT"], [12, 21, "DOSE"], [44, 53, "CONDITION"]]),
    ("Thanks for posting this, bump!", "other", []),
])

BOTOX = EXPECTED[0][0]
FIN = EXPECTED[1][0]
assert "Botox" in BOTOX and "hair loss" in FIN

TOOL_FILES = {
    "claimtag.jsonl": "claimtag",
    "annotations.csv": "csv",
    "prodigy.jsonl": "prodigy",
    "labelstudio.json": "labelstudio",
    "doccano.jsonl": "doccano",
}


def triples(records):
    return sorted((r["text"], r["label"], sorted(r["entities"])) for r in records)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path, *objects):
    return write(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))


# -- detection -----------------------------------------------------------------

@pytest.mark.parametrize("name,fmt", sorted(TOOL_FILES.items()))
def test_format_is_detected_from_content_not_name(tmp_path, name, fmt):
    assert detect_annotation_format(TOOLS / name) == fmt
    misleading = tmp_path / "export.txt"  # the name says nothing (or lies): the content decides
    shutil.copyfile(TOOLS / name, misleading)
    assert detect_annotation_format(misleading) == fmt


def test_formats_constant_covers_the_fixtures():
    assert set(TOOL_FILES.values()) == set(FORMATS)


def test_unknown_content_is_a_clear_error(tmp_path):
    with pytest.raises(AnnotationFormatError, match=r"keys \[body, tags\]"):
        detect_annotation_format(jsonl(tmp_path / "x.jsonl", {"body": "hi", "tags": ["a"]}))
    with pytest.raises(AnnotationFormatError, match="not a CSV header with 'text' and 'label'"):
        detect_annotation_format(write(tmp_path / "y.csv", "sentence_text,claim\nhello,other\n"))
    with pytest.raises(AnnotationFormatError, match="is empty"):
        detect_annotation_format(write(tmp_path / "z.jsonl", "\n\n"))
    with pytest.raises(AnnotationFormatError, match="JSON-MIN"):
        detect_annotation_format(write(tmp_path / "min.json", json.dumps(
            [{"id": 1, "text": "hi", "claim": "other", "annotator": 1, "annotation_id": 3}])))


def test_detection_survives_a_broken_first_line(tmp_path):
    path = write(tmp_path / "p.jsonl", '{"text": "Fin works", \n' + json.dumps(
        {"text": "Fin works.", "label": "anecdote", "answer": "accept"}) + "\n")
    assert detect_annotation_format(path) == "prodigy"
    records, problems = read_annotations([path])
    assert [r["text"] for r in records] == ["Fin works."]
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [(1, "bad JSON")]


# -- conversion ----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TOOL_FILES))
def test_each_tool_export_gives_the_same_records(entity_nlp, name):
    records, problems = read_annotations([TOOLS / name])
    assert problems == []
    assert triples(records) == EXPECTED
    assert validate_annotations(records, entity_nlp.tokenizer) == []
    for r in records:
        assert r["_file"] == str(TOOLS / name) and isinstance(r["_line"], int)


def test_the_whole_folder_agrees_with_itself(entity_nlp):
    summary = ImportSummary()
    records, problems = read_annotations([FIXTURES / "tools"], summary=summary)
    assert problems == []
    assert len(records) == 25
    # The rejected Prodigy "finding" for the skepticism sentence was not used:
    # otherwise the validator would report conflicting labels.
    assert validate_annotations(records, entity_nlp.tokenizer) == []
    assert list(summary.formats.values()) == ["csv", "claimtag", "doccano", "labelstudio", "prodigy"]
    assert summary.skipped == {
        "Prodigy examples answered 'reject'": 1,
        "Prodigy examples answered 'ignore'": 1,
        "Label Studio tasks without annotations": 1,
        "doccano examples without annotations": 1,
    }
    assert f"5 records from {TOOLS / 'prodigy.jsonl'} (prodigy)" in str(summary)


def test_labelstudio_latest_valid_annotation_wins_and_lines_are_task_starts():
    records, _ = read_annotations([TOOLS / "labelstudio.json"])
    by_text = {r["text"]: r for r in records}
    # Task 201: an older valid annotation (finding) and a newer *cancelled* one (other).
    assert by_text[BOTOX]["label"] == "finding"
    # Task 202: the newest by updated_at (hypothesis) wins although it is listed first; the
    # older one said anecdote. Task 201's prediction (other) is ignored.
    assert by_text["Maybe minoxidil works by opening potassium channels in the follicle."]["label"] == "hypothesis"
    lines = (TOOLS / "labelstudio.json").read_text(encoding="utf-8").splitlines()
    task_starts = [number for number, line in enumerate(lines, 1) if line == "  {"]
    assert [r["_line"] for r in records] == task_starts[:5]


def test_labelstudio_ground_truth_then_time_decide(tmp_path):
    def ann(label, updated, **extra):
        return {"result": [{"type": "choices", "from_name": "claim", "to_name": "text",
                            "value": {"choices": [label]}}], "was_cancelled": False,
                "updated_at": updated, **extra}

    task = {"data": {"text": "Fin works."}, "annotations": [
        ann("anecdote", "2024-01-01T00:00:00Z", ground_truth=True),
        ann("other", "2024-06-01T00:00:00Z"),
    ]}
    records, _ = read_annotations([write(tmp_path / "t.json", json.dumps([task]))])
    assert records[0]["label"] == "anecdote"


def test_labelstudio_utf16_offsets_are_converted_and_mismatches_reported(tmp_path):
    text = FIN  # an emoji before "hair loss": UTF-16 offsets are one higher there

    def task(start, end, span_text):
        return {"data": {"text": text}, "annotations": [{"was_cancelled": False, "result": [
            {"type": "labels", "from_name": "entities", "to_name": "text",
             "value": {"start": start, "end": end, "text": span_text, "labels": ["CONDITION"]}},
            {"type": "choices", "from_name": "claim", "to_name": "text", "value": {"choices": ["anecdote"]}},
        ]}]}

    path = write(tmp_path / "t.json", json.dumps([task(45, 54, "hair loss"), task(45, 54, "hairloss")], indent=1))
    records, problems = read_annotations([path])
    assert records[0]["entities"] == [[44, 53, "CONDITION"]]
    assert len(problems) == 1 and "'hairloss' in the annotation" in problems[0].reason
    assert problems[0].file == str(path) and problems[0].line > 1


def test_labelstudio_extra_choice_controls_do_not_hide_the_claim(tmp_path):
    task = {"data": {"text": "Fin works."}, "annotations": [{"was_cancelled": False, "result": [
        {"type": "choices", "from_name": "claim", "to_name": "text", "value": {"choices": ["anecdote"]}},
        {"type": "choices", "from_name": "review", "to_name": "text", "value": {"choices": ["unsure"]}},
    ]}]}
    records, problems = read_annotations([write(tmp_path / "t.json", json.dumps([task]))])
    assert problems == [] and records[0]["label"] == "anecdote"


def test_prodigy_rejected_or_ignored_examples_are_never_positives(tmp_path):
    path = jsonl(tmp_path / "p.jsonl",
                 {"text": "Fin works.", "label": "finding", "answer": "reject"},
                 {"text": "Fin works.", "accept": ["finding"], "answer": "reject"},
                 {"text": "Fin works.", "accept": ["other"], "answer": "ignore"})
    summary = ImportSummary()
    records, problems = read_annotations([path], summary=summary)
    assert records == [] and problems == []
    assert sum(summary.skipped.values()) == 3


def test_prodigy_problems(tmp_path):
    path = jsonl(tmp_path / "p.jsonl",
                 {"text": "Fin works.", "accept": ["finding", "other"], "answer": "accept"},
                 {"text": "Fin works.", "accept": [], "answer": "accept"},
                 {"text": "Fin works.", "spans": [{"start": 0, "end": 3, "label": "TREATMENT"}], "answer": "accept"},
                 {"text": "Fin works.", "label": "anecdote", "answer": "accept",
                  "spans": [{"start": 0, "end": 3, "text": "Fix", "label": "TREATMENT"}]},
                 {"text": "Fin works.", "label": "anecdote", "answer": "maybe"})
    records, problems = read_annotations([path])
    assert records == []
    assert [str(p) for p in problems] == [
        f"{path}:1: 2 class labels ['finding', 'other'], expected exactly one",
        f"{path}:2: no class label (no option accepted in the choice)",
        f"{path}:3: no class label (expected \"label\" or a choice \"accept\")",
        f"{path}:4: span 0-3 is 'Fin' in the text but 'Fix' in the annotation",
        f"{path}:5: unknown Prodigy answer 'maybe' (expected accept, reject or ignore)",
    ]


def test_doccano_export_variants(tmp_path):
    seq = jsonl(tmp_path / "seq.jsonl",  # sequence labeling project: spans only
                {"id": 1, "text": "Fin works.", "label": [[0, 3, "TREATMENT"]], "Comments": []})
    records, problems = read_annotations([seq])
    assert records == [] and [p.line for p in problems] == [1] and "no class label" in problems[0].reason
    cls = jsonl(tmp_path / "cls.jsonl",  # text classification project
                {"id": 1, "text": "Fin works.", "label": ["anecdote"], "Comments": []},
                {"id": 2, "text": "Thanks!", "label": ["other", "finding"], "Comments": []},
                {"id": 3, "text": "Hm.", "label": [], "Comments": []})
    records, problems = read_annotations([cls])
    assert triples(records) == [("Fin works.", "anecdote", [])]
    assert [(p.line, p.reason) for p in problems] == [(2, "2 class labels ['other', 'finding'], expected exactly one")]
    both = jsonl(tmp_path / "both.jsonl",  # spans in "label", class in "cats"; relation export's span objects
                 {"text": "Fin works.", "label": [[0, 3, "TREATMENT"]], "cats": ["anecdote"]},
                 {"text": "Fin works!", "entities": [{"id": 0, "start_offset": 0, "end_offset": 3,
                                                      "label": "TREATMENT"}], "cats": ["anecdote"]})
    records, problems = read_annotations([both])
    assert problems == []
    assert triples(records) == [("Fin works!", "anecdote", [[0, 3, "TREATMENT"]]),
                                ("Fin works.", "anecdote", [[0, 3, "TREATMENT"]])]


def test_csv_variants_and_line_numbers(tmp_path):
    # the labeled CSV of `claimtag label` (sentence column, entity objects) reads too;
    # a quoted field with a newline shifts the next record's line
    path = write(tmp_path / "labeled.csv",
                 "post_id,sentence,label,entities\r\n"
                 "p1,\"Fin works.\",anecdote,\"[{\"\"text\"\":\"\"Fin\"\",\"\"label\"\":\"\"TREATMENT\"\",\"\"start\"\":0,\"\"end\"\":3}]\"\r\n"
                 "p2,\"Two\nlines.\",other,\r\n"
                 "\r\n"
                 "p3,\"Bad entities.\",other,\"[[0, 3]\"\r\n"
                 "p4,ragged\r\n"
                 "p5,\"Keto helps.\",anecdote,\"[[0, 4, \"\"TREATMENT\"\"]]\"\r\n")
    assert detect_annotation_format(path) == "csv"
    records, problems = read_annotations([path])
    assert [(r["_line"], r["post_id"], r["text"], r["entities"]) for r in records] == [
        (2, "p1", "Fin works.", [[0, 3, "TREATMENT"]]),
        (3, "p2", "Two\nlines.", []),
        (8, "p5", "Keto helps.", [[0, 4, "TREATMENT"]]),
    ]
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [
        (6, "entities is not JSON"), (7, "ragged row")]


# -- validation: every error names file and line ---------------------------------

def test_validation_errors_name_file_and_line(entity_nlp):
    records, problems = read_annotations([INVALID])
    assert problems == []
    messages = [str(p) for p in validate_annotations(records, entity_nlp.tokenizer)]
    batch1, batch2, tasks = (str(INVALID / name) for name in ("batch1.jsonl", "batch2.csv", "tasks.json"))
    expected_starts = [
        f"{batch1}:2: unknown label 'theory'",
        f"{batch1}:3: empty or missing text",
        f"{batch1}:4: span 0-30 is outside the text (length 10)",
        f"{batch1}:5: span 0-4 'Roga' is not on token boundaries",
        f"{batch1}:6: spans 7-10 and 7-14 overlap",
        f"{batch2}:3: same text labeled 'finding' here and 'anecdote' at {batch1}:1",
        f"{tasks}:17: unknown label 'rumour'",  # line 17: where the second task starts
    ]
    assert len(messages) == len(expected_starts)
    for message, start in zip(messages, expected_starts):
        assert message.startswith(start), (message, start)


def test_conversion_errors_name_file_and_line(tmp_path):
    path = write(tmp_path / "ours.jsonl",
                 json.dumps({"text": "Fin works.", "label": "anecdote", "entities": []}) + "\n"
                 "\n"
                 "{not json\n"
                 "[1, 2]\n")
    records, problems = read_annotations([path])
    assert len(records) == 1
    assert [(p.file, p.line) for p in problems] == [(str(path), 3), (str(path), 4)]
    broken = write(tmp_path / "ls.json", '[\n  {"data": {"text": "a"}, "annotations": []},\n  {"data": \n')
    records, problems = read_annotations([broken])
    assert records == [] and [(p.line, p.reason.split(":")[0]) for p in problems] == [(4, "bad JSON")]


def test_inputs_folders_and_errors(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copyfile(TOOLS / "doccano.jsonl", tmp_path / "a" / "b" / "z.jsonl")
    shutil.copyfile(TOOLS / "annotations.csv", tmp_path / "a" / "m.csv")
    write(tmp_path / "a" / "notes.txt", "not annotations")
    write(tmp_path / "a" / ".hidden.jsonl", "garbage")
    write(tmp_path / "a" / "out.jsonl.partial", "garbage")
    summary = ImportSummary()
    records, problems = read_annotations([tmp_path / "a"], summary=summary)
    assert problems == [] and len(records) == 10
    assert list(summary.formats) == [str(tmp_path / "a" / "b" / "z.jsonl"), str(tmp_path / "a" / "m.csv")]
    with pytest.raises(AnnotationFormatError, match="does not exist"):
        read_annotations([tmp_path / "missing.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnnotationFormatError, match="holds no annotation files"):
        read_annotations([tmp_path / "empty"])
    with pytest.raises(AnnotationFormatError, match="unknown annotation format 'brat'"):
        read_annotations([TOOLS], fmt="brat")
    # an explicit format is applied to every file
    records, problems = read_annotations([TOOLS / "doccano.jsonl"], fmt="doccano")
    assert len(records) == 5 and problems == []


# -- load_for_training ---------------------------------------------------------------

def test_load_for_training_without_skip_returns_problems_and_keeps_records(entity_nlp):
    records, problems, dropped = load_for_training([INVALID], tokenizer=entity_nlp.tokenizer)
    assert dropped == 0
    assert len(records) == 11 and len(problems) == 7


def test_skip_invalid_drops_and_counts(entity_nlp, tmp_path):
    broken = shutil.copytree(INVALID, tmp_path / "inv")
    with open(broken / "batch1.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{broken json\n")  # an item that cannot even be converted counts as dropped too
    records, problems, dropped = load_for_training([broken], tokenizer=entity_nlp.tokenizer, skip_invalid=True)
    kept = sorted((r["_file"].rsplit("/", 1)[1], r["_line"]) for r in records)
    # both sides of the Botox conflict are gone, not only the one the validator points at
    assert kept == [("batch1.jsonl", 7), ("batch2.csv", 2), ("tasks.json", 2)]
    assert dropped == 5 + 2 + 1 + 1  # five bad records, the conflicting pair, the rumour task, the bad JSON line
    assert len(problems) == 8  # still returned, for the caller to show


def test_reference_records_are_checked_but_never_returned(entity_nlp, tmp_path):
    corpus = [{"text": "Fin works.", "label": "anecdote", "entities": [], "_file": "train.jsonl", "_line": 9}]
    path = jsonl(tmp_path / "new.jsonl", {"text": "Fin  works.", "label": "finding", "entities": []},
                 {"text": "Keto helps.", "label": "anecdote", "entities": []})
    records, problems, dropped = load_for_training([path], tokenizer=entity_nlp.tokenizer, reference=corpus)
    assert [str(p) for p in problems] == [
        f"{path}:1: same text labeled 'finding' here and 'anecdote' at train.jsonl:9"]
    records, problems, dropped = load_for_training([path], tokenizer=entity_nlp.tokenizer, reference=corpus,
                                                   skip_invalid=True)
    assert [r["text"] for r in records] == ["Keto helps."] and dropped == 1


# -- holdout split --------------------------------------------------------------------

def test_split_holdout_is_deterministic_by_text():
    records = [{"text": f"sentence number {i}", "label": "other"} for i in range(1000)]
    train, holdout = split_holdout(records, 0.2, seed=0)
    assert len(train) + len(holdout) == 1000 and 150 < len(holdout) < 250
    held = {r["text"] for r in holdout}
    # same side whatever the order, the company, or the whitespace
    train2, holdout2 = split_holdout(list(reversed(records[:300])), 0.2, seed=0)
    assert {r["text"] for r in holdout2} == held & {r["text"] for r in records[:300]}
    spaced = [{"text": "  " + r["text"].replace(" ", "   "), "label": "x"} for r in holdout[:20]]
    assert split_holdout(spaced, 0.2)[1] == spaced
    assert {r["text"] for r in split_holdout(records, 0.2, seed=1)[1]} != held
    assert split_holdout(records, 0.0) == (records, [])
    with pytest.raises(ValueError):
        split_holdout(records, 1.0)
