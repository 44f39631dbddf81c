"""End-to-end tests of `claimtag label` through the CLI."""
import gzip
import io
import json
import shutil
import subprocess
import sys

import pandas
import pytest

from pipeline.write import COLUMNS
from tests.conftest import ROOT, SAMPLES

EXPECTED_COLUMNS = [
    "source", "thread", "post_id", "author", "is_quote", "quoted_author", "sentence_index", "start", "end",
    "sentence", "label", "confidence", "p_finding", "p_hypothesis", "p_skepticism", "p_anecdote", "p_other",
    "entities", "model_version", "evidence_model", "notes",
]

JSONL_POSTS = [
    {"id": "a1", "thread": "fin sides", "author": "ann", "text": "Been on fin 1mg for two years. Hairline held!"},
    {"id": "a2", "thread": "fin sides", "author": "bob",
     "text": "A trial in 40 men found 12% more hair at week 24.\nMaybe DHT is not the whole story though."},
    {"id": "a3", "thread": "fin sides", "author": "cy", "text": "anyone tried this?"},
]


def read(path):
    return pandas.read_csv(path, keep_default_na=False)


def write_jsonl(path, posts):
    path.write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")


def test_samples_label_with_exact_columns_and_offsets(cli, tmp_path):
    code, _, err = cli("label", SAMPLES, "--out", tmp_path, "--jobs", "1", "--quiet")
    assert code == 0, err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"hairloss-forum.txt", "other-forums.jsonl", "hairloss-export.csv"}
    for name, entry in manifest["inputs"].items():
        frame = read(tmp_path / entry["output"])
        assert list(frame.columns) == EXPECTED_COLUMNS == COLUMNS
        assert entry["records_read"] == entry["records_labeled"] + entry["records_in_error"]
        assert entry["sentences_written"] == len(frame)
        assert entry["status"] == "complete" and len(entry["sha256"]) == 64
        assert set(frame["label"]) <= {"finding", "hypothesis", "skepticism", "anecdote", "other"}
        probs = frame[["p_finding", "p_hypothesis", "p_skepticism", "p_anecdote", "p_other"]].sum(axis=1)
        assert ((probs - 1).abs() < 0.002).all()
        for _, row in frame.iterrows():
            for ent in json.loads(row["entities"]):
                assert row["sentence"][ent["start"]:ent["end"]] == ent["text"]
                assert set(ent) == {"text", "label", "start", "end", "canonical", "id"}
    assert manifest["model"]["version"].startswith("ct-") and len(manifest["model"]["sha256"]) == 64
    assert manifest["finished"] and manifest["command"]


def test_offsets_reproduce_the_sentences_of_each_post(cli, tmp_path):
    src = tmp_path / "posts.jsonl"
    write_jsonl(src, JSONL_POSTS)
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--jobs", "1", "--quiet")
    assert code == 0, err
    frame = read(tmp_path / "out" / "posts.jsonl.labeled.csv")
    texts = {p["id"]: p["text"] for p in JSONL_POSTS}
    for _, row in frame.iterrows():
        assert texts[row["post_id"]][row["start"]:row["end"]] == row["sentence"]
    assert list(frame[frame.post_id == "a2"]["sentence"]) == [
        "A trial in 40 men found 12% more hair at week 24.", "Maybe DHT is not the whole story though."]
    assert list(frame["author"].unique()) == ["ann", "bob", "cy"]
    assert list(frame["thread"].unique()) == ["fin sides"]


def test_csv_gz_and_text_column(cli, tmp_path):
    src = tmp_path / "export.csv.gz"
    with gzip.open(src, "wt", encoding="utf-8", newline="") as fh:
        fh.write('post_id,body\n1,"Mice regrew fur, they said.\nI doubt it."\n2,thanks all\n')
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--text-column", "body", "--jobs", "1", "--quiet")
    assert code == 0, err
    frame = read(tmp_path / "out" / "export.csv.labeled.csv")
    assert list(frame["post_id"].astype(str)) == ["1", "1", "2"]


def test_jsonl_gz_and_forum_text_gz(cli, tmp_path):
    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(JSONL_POSTS[0]) + "\n")
    shutil.copy(SAMPLES / "hairloss-forum.txt", tmp_path / "forum.txt")
    with open(tmp_path / "forum.txt", "rb") as src, gzip.open(tmp_path / "b.txt.gz", "wb") as dst:
        dst.write(src.read())
    (tmp_path / "forum.txt").unlink()
    code, _, err = cli("label", tmp_path, "--out", tmp_path / "out", "--jobs", "1", "--quiet")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["inputs"]["a.jsonl"]["sentences_written"] == 2
    plain = read_forum_sample(cli, tmp_path)
    gz = read(tmp_path / "out" / "b.txt.labeled.csv")
    assert list(gz["sentence"]) == list(plain["sentence"])


def read_forum_sample(cli, tmp_path):
    out = tmp_path / "plain-out"
    code, _, _ = cli("label", SAMPLES / "hairloss-forum.txt", "--out", out, "--jobs", "1", "--quiet")
    assert code == 0
    return read(out / "hairloss-forum.txt.labeled.csv")


def test_stdin_needs_format_and_then_works(tmp_path):
    cmd = [sys.executable, "-m", "pipeline.cli", "label", "-", "--out", str(tmp_path), "--jobs", "1", "--quiet"]
    data = "".join(json.dumps(p) + "\n" for p in JSONL_POSTS).encode()
    missing = subprocess.run(cmd, input=data, capture_output=True, cwd=ROOT)
    assert missing.returncode == 2 and b"--format" in missing.stderr
    done = subprocess.run(cmd + ["--format", "jsonl"], input=data, capture_output=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert len(read(tmp_path / "stdin.labeled.csv")) == 5


FORUM_THREAD = """\
Does botox on the scalp work?
Thread starter scalpdoc Start date Mar 3, 2021

Member
Reaction score
12
Mar 3, 2021
#1
A small trial injected 150 units into the scalp of 40 men. Hair counts went up at week 24.

Like 3
Report

Established Member
Reaction score
900
Mar 4, 2021
#2
scalpdoc said:
A small trial injected 150 units into the scalp of 40 men. Hair counts went up at week 24.
Click to expand...
No placebo arm, so I doubt it means much.

Reactions: scalpdoc
Report

Member
Reaction score
5
Mar 5, 2021
#3
ghostposter said:
Mice are not men and never will be.
Click to expand...
lol this
"""


def test_forum_text_without_author_lines_and_with_quotes(cli, tmp_path):
    src = tmp_path / "thread.txt"
    src.write_text(FORUM_THREAD, encoding="utf-8")
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--jobs", "1", "--quiet")
    assert code == 0, err
    frame = read(tmp_path / "out" / "thread.txt.labeled.csv")
    sentences = list(frame["sentence"])
    # the quote of post #1 is not labeled a second time
    assert sentences.count("Hair counts went up at week 24.") == 1
    # a quote of a post that is not in the dump is labeled and flagged
    quoted = frame[frame["is_quote"]]
    assert list(quoted["sentence"]) == ["Mice are not men and never will be."]
    assert list(quoted["quoted_author"]) == ["ghostposter"]
    assert not frame[~frame["is_quote"]]["quoted_author"].astype(bool).any()
    for ui in ("Reaction score", "Member", "Click to expand", "Report", "Reactions", "#2", "Like 3"):
        assert not any(ui in s for s in sentences), ui
    assert "No placebo arm, so I doubt it means much." in sentences


def test_rerun_skips_finished_inputs_and_force_redoes_them(cli, tmp_path):
    src = tmp_path / "posts.jsonl"
    write_jsonl(src, JSONL_POSTS)
    out = tmp_path / "out"
    assert cli("label", src, "--out", out, "--jobs", "1", "--quiet")[0] == 0
    first = (out / "posts.jsonl.labeled.csv").read_bytes()
    completed = json.loads((out / "manifest.json").read_text())["inputs"]["posts.jsonl"]["completed"]
    code, _, err = cli("label", src, "--out", out, "--jobs", "1")
    assert code == 0 and "skipped" in err
    assert json.loads((out / "manifest.json").read_text())["inputs"]["posts.jsonl"]["completed"] == completed
    write_jsonl(src, JSONL_POSTS[:2])  # the input changed: relabeled
    assert cli("label", src, "--out", out, "--jobs", "1", "--quiet")[0] == 0
    assert (out / "posts.jsonl.labeled.csv").read_bytes() != first
    code, _, err = cli("label", src, "--out", out, "--jobs", "1", "--force")
    assert code == 0 and "complete" in err


def test_one_bad_jsonl_line_gives_exit_3_and_an_errors_file(cli, tmp_path):
    src = tmp_path / "dump.jsonl"
    lines = [json.dumps(JSONL_POSTS[0]), '{"id": "broken", "text": "unterminated', json.dumps(JSONL_POSTS[2])]
    src.write_text("\n".join(lines) + "\n")
    code, _, err = cli("label", src, "--out", tmp_path / "out", "--jobs", "1", "--quiet")
    assert code == 3
    errors = read(tmp_path / "out" / "dump.jsonl.errors.csv")
    assert list(errors.columns) == ["locator", "reason", "excerpt"]
    assert list(errors["locator"]) == ["line 2"]
    assert "invalid JSON" in errors["reason"][0]
    labeled = read(tmp_path / "out" / "dump.jsonl.labeled.csv")
    assert set(labeled["post_id"]) == {"a1", "a3"}
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]["dump.jsonl"]
    assert (entry["records_read"], entry["records_labeled"], entry["records_in_error"]) == (3, 2, 1)
    assert entry["errors_file"] == "dump.jsonl.errors.csv"


def test_no_split_keeps_each_record_one_sentence(cli, tmp_path):
    src = tmp_path / "gold.jsonl"
    write_jsonl(src, [{"text": "First part. Second part? Third!"}])
    assert cli("label", src, "--out", tmp_path / "out", "--no-split", "--jobs", "1", "--quiet")[0] == 0
    frame = read(tmp_path / "out" / "gold.jsonl.labeled.csv")
    assert list(frame["sentence"]) == ["First part. Second part? Third!"]


def test_help_documents_exit_codes(cli):
    code, out, _ = cli("label", "--help")
    assert code == 0
    assert "Exit codes" in out and "3" in out


def test_usage_errors_exit_2(cli, tmp_path):
    assert cli("label", tmp_path / "missing.jsonl", "--out", tmp_path)[0] == 2
    (tmp_path / "notes.docx").write_text("x")
    code, _, err = cli("label", tmp_path / "notes.docx", "--out", tmp_path / "o")
    assert code == 2 and "--format" in err
    assert cli("label", SAMPLES, "--out", tmp_path, "--format", "xml")[0] == 2
