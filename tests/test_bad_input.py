"""Hostile and broken inputs: exit code, message and conserved counts for each case."""
import builtins
import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pandas
import pytest

from tests.conftest import ROOT


def label(cli, *inputs, out, extra=()):
    code, stdout, stderr = cli("label", *inputs, "--out", out, "--jobs", "1", "--quiet", *extra)
    assert "Traceback" not in stdout + stderr
    return code, stderr


def manifest_entry(out, name):
    entry = json.loads((out / "manifest.json").read_text())["inputs"][name]
    assert entry["records_read"] == entry["records_labeled"] + entry["records_in_error"]
    return entry


def rows(path):
    return pandas.read_csv(path, keep_default_na=False)


def test_cp1252_bytes_are_decoded_and_noted(cli, tmp_path):
    src = tmp_path / "scrape.jsonl"
    src.write_bytes(b'{"id": "1", "text": "Caf\xe9 owner here, minoxidil \x96 5% \x96 worked for me."}\n'
                    b'{"id": "2", "text": "plain ascii post"}\n')
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    frame = rows(tmp_path / "out" / "scrape.jsonl.labeled.csv")
    first = frame[frame.post_id == 1]
    assert first["sentence"].iloc[0].startswith("Café owner here, minoxidil – 5% – worked")
    assert set(first["notes"]) == {"decoded as cp1252"}
    assert set(frame[frame.post_id == 2]["notes"]) == {""}
    entry = manifest_entry(tmp_path / "out", "scrape.jsonl")
    assert entry["record_notes"] == {"decoded as cp1252": 1}


def test_bom_is_ignored(cli, tmp_path):
    src = tmp_path / "bom.csv"
    src.write_bytes("\ufefftext,author\nfin works,al\n".encode("utf-8"))
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    assert list(rows(tmp_path / "out" / "bom.csv.labeled.csv")["author"]) == ["al"]


def test_nul_and_control_characters_are_removed_and_noted(cli, tmp_path):
    src = tmp_path / "nul.jsonl"
    src.write_bytes(b'{"text": "minox\\u0000 helped"}\n{"text": "raw\x00nul\x07 bytes here"}\n')
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    frame = rows(tmp_path / "out" / "nul.jsonl.labeled.csv")
    assert list(frame["sentence"]) == ["minox helped", "rawnul bytes here"]
    assert all("NUL/control" in n for n in frame["notes"])
    assert manifest_entry(tmp_path / "out", "nul.jsonl")["records_labeled"] == 2


@pytest.mark.parametrize("content", [b"", b"  \n\n\t  \n"])
def test_empty_and_whitespace_files_give_an_empty_csv(cli, tmp_path, content):
    src = tmp_path / "empty.jsonl"
    src.write_bytes(content)
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    frame = rows(tmp_path / "out" / "empty.jsonl.labeled.csv")
    assert len(frame) == 0 and "sentence" in frame.columns
    entry = manifest_entry(tmp_path / "out", "empty.jsonl")
    assert entry["records_read"] == 0


def test_post_with_empty_text_goes_to_the_errors_file(cli, tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text('post_id,text\n1,fin works\n2,"   "\n3,\n')
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 3
    errors = rows(tmp_path / "out" / "posts.csv.errors.csv")
    assert list(errors["reason"]) == ["empty text", "empty text"]
    assert list(errors["locator"]) == ["line 3", "line 4"]
    entry = manifest_entry(tmp_path / "out", "posts.csv")
    assert (entry["records_read"], entry["records_in_error"]) == (3, 2)


def test_a_5_mb_post_is_labeled(cli, tmp_path):
    sentence = "My derm put me on minoxidil and the shedding stopped after two months. "
    text = sentence * (5_000_000 // len(sentence))
    src = tmp_path / "huge.jsonl"
    src.write_text(json.dumps({"id": "big", "text": text}) + "\n")
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    entry = manifest_entry(tmp_path / "out", "huge.jsonl")
    assert entry["records_labeled"] == 1
    assert entry["sentences_written"] == text.count("months.")
    frame = rows(tmp_path / "out" / "huge.jsonl.labeled.csv")
    for start, end, sent in frame[["start", "end", "sentence"]].itertuples(index=False):
        assert text[start:end] == sent


def test_a_200000_character_run_on_is_force_split_and_flagged(cli, tmp_path):
    words = "im so tired of people saying minox does nothing because it clearly works for some of us "
    text = (words * (200_000 // len(words) + 1))[:200_000].strip()
    src = tmp_path / "runon.jsonl"
    src.write_text(json.dumps({"text": text}) + "\n")
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 0, err
    frame = rows(tmp_path / "out" / "runon.jsonl.labeled.csv")
    assert len(frame) >= 200
    assert (frame["sentence"].str.len() <= 1000).all()
    assert frame["notes"].str.contains("forced_split").all()
    assert "".join(text[s:e] for s, e in zip(frame["start"], frame["end"])).replace(" ", "") == text.replace(" ", "")


def test_broken_jsonl_records_are_listed_with_reasons(cli, tmp_path):
    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join([
        '{"text": "good one"}',
        '{"text": "broken',
        '["not", "an", "object"]',
        '{"text": 42}',
        '{"body": "no text key"}',
        '{"text": "good two"}',
    ]) + "\n")
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 3
    errors = rows(tmp_path / "out" / "mixed.jsonl.errors.csv")
    assert list(errors["locator"]) == ["line 2", "line 3", "line 4", "line 5"]
    reasons = list(errors["reason"])
    assert reasons[0].startswith("invalid JSON")
    assert "not a JSON object" in reasons[1]
    assert "'text' is not a string (got int)" in reasons[2]
    assert "missing 'text'" in reasons[3]
    entry = manifest_entry(tmp_path / "out", "mixed.jsonl")
    assert (entry["records_read"], entry["records_labeled"], entry["records_in_error"]) == (6, 2, 4)


def test_csv_without_text_column_is_fatal_and_names_the_columns(cli, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("id,body,author\n1,hello,me\n")
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 1
    assert "id, body, author" in err and "--text-column" in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "export.csv" not in manifest["inputs"]
    assert not (tmp_path / "out" / "export.csv.labeled.csv").exists()


def test_csv_ragged_rows_and_embedded_newlines_and_quotes(cli, tmp_path):
    src = tmp_path / "rag.csv"
    src.write_text('id,text\n1,"line one\nline two, with ""quotes"""\n2,too,many,fields\n3,fine\n')
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 3
    errors = rows(tmp_path / "out" / "rag.csv.errors.csv")
    assert list(errors["locator"]) == ["line 4"]
    assert "ragged row: 4 fields, header has 2" in errors["reason"][0]
    frame = rows(tmp_path / "out" / "rag.csv.labeled.csv")
    assert 'line two, with "quotes"' in " ".join(frame["sentence"])


def test_truncated_gzip_keeps_what_was_read(cli, tmp_path):
    payload = "".join(json.dumps({"id": str(i), "text": f"post number {i} about fin"}) + "\n" for i in range(2000))
    data = gzip.compress(payload.encode())
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) // 2])
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 3
    errors = rows(tmp_path / "out" / "cut.jsonl.errors.csv")
    assert len(errors) == 1 and "truncated gzip" in errors["reason"][0]
    entry = manifest_entry(tmp_path / "out", "cut.jsonl")
    assert 0 < entry["records_labeled"] < 2000 and entry["records_in_error"] == 1


def test_unknown_extension_is_a_usage_error(cli, tmp_path):
    src = tmp_path / "dump.xml"
    src.write_text("<posts/>")
    code, err = label(cli, src, out=tmp_path / "out")
    assert code == 2 and "--format" in err and ".xml" in err


def test_symlink_loop_in_a_directory(cli, tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.jsonl").write_text('{"text": "fin works"}\n')
    os.symlink(data, data / "sub" / "loop")
    code, err = label(cli, data, out=tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert list(manifest["inputs"]) == ["a.jsonl"]


def test_unreadable_file_fails_that_input_only(cli, tmp_path, monkeypatch):
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "fin works"}\n')
    locked = tmp_path / "locked.jsonl"
    locked.write_text('{"text": "secret"}\n')
    locked.chmod(0)
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):  # root ignores file modes, so deny like the OS would
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    code, err = label(cli, good, locked, out=tmp_path / "out")
    assert code == 1
    assert "locked.jsonl" in err and "Permission denied" in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert list(manifest["inputs"]) == ["good.jsonl"]


def test_unwritable_output_directory(cli, tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text('{"text": "fin works"}\n')
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = label(cli, src, out=blocker / "out")
    assert code == 1 and "cannot write to output directory" in err


# -- crash safety -----------------------------------------------------------------

def big_jsonl(path, n):
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": str(i), "text": f"Post {i}: been on fin 1mg for {i % 9 + 1} months. "
                                 "A trial found 12% more hair in men. Maybe DHT is not everything? lol no."}) + "\n")


def claimtag(*args):
    return [sys.executable, "-m", "pipeline.cli", "label", *map(str, args), "--jobs", "1", "--quiet"]


def as_in_a_terminal():
    # A shell starts background jobs with SIGINT ignored, and a child keeps
    # that; Ctrl-C in a terminal reaches a foreground process with the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_leaves_nothing_that_looks_complete_and_reruns_identically(tmp_path, sig):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a-small.jsonl").write_text('{"id": "1", "text": "thanks all"}\n')
    big_jsonl(inputs / "b-big.jsonl", 6000)
    out = tmp_path / "out"
    proc = subprocess.Popen(claimtag(inputs, "--out", out), cwd=ROOT, stderr=subprocess.PIPE,
                            preexec_fn=as_in_a_terminal)
    assert wait_for(lambda: (out / "b-big.jsonl.labeled.csv.partial").exists()
                    and (out / "b-big.jsonl.labeled.csv.partial").stat().st_size > 20_000)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert b"interrupted" in stderr and b"Traceback" not in stderr
        assert not (out / "b-big.jsonl.labeled.csv.partial").exists()
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not (out / "b-big.jsonl.labeled.csv").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["inputs"]) == ["a-small.jsonl"]

    rerun = subprocess.run(claimtag(inputs, "--out", out), cwd=ROOT, capture_output=True)
    assert rerun.returncode == 0, rerun.stderr
    assert not list(out.glob("*.partial"))
    clean = tmp_path / "clean"
    subprocess.run(claimtag(inputs, "--out", clean), cwd=ROOT, check=True, capture_output=True)
    for name in ("a-small.jsonl.labeled.csv", "b-big.jsonl.labeled.csv"):
        assert (out / name).read_bytes() == (clean / name).read_bytes()
