"""Tests for pipeline.ingest (stdlib + pytest + hypothesis only)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.ingest import (  # noqa: E402
    FORMATS,
    BadRecord,
    IngestFatal,
    Post,
    Quote,
    detect_format,
    iter_input_files,
    read_records,
)

SAMPLES = ROOT / "corpus" / "samples"
TRUNC = "truncated gzip stream: file ends early"


def recs(path, fmt=None, **kw):
    return list(read_records(str(path), fmt, **kw))


def posts(records):
    return [r for r in records if isinstance(r, Post)]


def bads(records):
    return [r for r in records if isinstance(r, BadRecord)]


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# format detection


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("a.txt", "forum-text"),
        ("a.txt.gz", "forum-text"),
        ("dir/A.TXT", "forum-text"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.NDJSON.GZ", "jsonl"),
        ("a.csv", "csv"),
        ("a.csv.gz", "csv"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt
    assert fmt in FORMATS


@pytest.mark.parametrize("name,shown", [("dump.json", ".json"), ("dump.xml.gz", ".xml.gz"), ("README", "no extension")])
def test_detect_format_unknown_extension(name, shown):
    with pytest.raises(IngestFatal) as exc:
        detect_format(name)
    msg = str(exc.value)
    assert shown in msg and "--format" in msg and name in msg


def test_detect_format_stdin_needs_format():
    with pytest.raises(IngestFatal, match="--format"):
        detect_format("-")


def test_read_records_unknown_extension_is_fatal_before_any_record(tmp_path):
    p = write(tmp_path / "x.json", '{"text": "hi"}\n')
    with pytest.raises(IngestFatal, match=r"\.json"):
        next(read_records(str(p)))
    # an explicit format overrides the extension
    assert [r.text for r in posts(recs(p, "jsonl"))] == ["hi"]


def test_unknown_format_name(tmp_path):
    p = write(tmp_path / "x.jsonl", '{"text": "hi"}\n')
    with pytest.raises(IngestFatal, match="forum-text"):
        recs(p, "yaml")


def test_missing_file_is_fatal(tmp_path):
    with pytest.raises(IngestFatal, match="cannot open"):
        recs(tmp_path / "nope.jsonl")


def test_gz_name_without_gzip_data_is_fatal(tmp_path):
    p = tmp_path / "x.jsonl.gz"
    p.write_bytes(b'{"text": "plain"}\n')
    with pytest.raises(IngestFatal, match="not gzip"):
        recs(p)


def test_gzip_data_without_gz_name_is_decompressed(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(gzip.compress(b'{"text": "zipped"}\n'))
    assert [r.text for r in posts(recs(p))] == ["zipped"]


def test_utf16_is_fatal(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("text\nhello\n".encode("utf-16"))
    with pytest.raises(IngestFatal, match="UTF-16"):
        recs(p)


def test_empty_files(tmp_path):
    assert recs(write(tmp_path / "e.jsonl", b"")) == []
    assert recs(write(tmp_path / "e.txt", b"")) == []
    assert recs(write(tmp_path / "e.jsonl.gz", b"")) == []
    with pytest.raises(IngestFatal, match="header"):
        recs(write(tmp_path / "e.csv", b""))


# --------------------------------------------------------------------------
# jsonl


JSONL = (
    '{"id": "p1", "thread": "T", "author": "ann", "text": "Mice regrew hair.\\nHumans?"}\n'
    "\n"
    "   \n"
    '{"post_id": 17, "thread": 4, "author": 99, "text": "  padded  "}\n'
    '{"text": "no id here"}\n'
)


@pytest.mark.parametrize("name", ["a.jsonl", "a.ndjson", "a.jsonl.gz"])
def test_jsonl_basic(tmp_path, name):
    rs = recs(write(tmp_path / name, JSONL))
    assert bads(rs) == []
    a, b, c = rs
    assert (a.source, a.post_id, a.thread, a.author, a.locator) == (str(tmp_path / name), "p1", "T", "ann", "line 1")
    assert a.text == "Mice regrew hair.\nHumans?" and a.quotes == [] and a.notes == []
    assert (b.post_id, b.thread, b.author, b.text, b.locator) == ("17", "4", "99", "padded", "line 4")
    assert (c.post_id, c.thread, c.author, c.locator) == ("line 5", "", "", "line 5")


def test_jsonl_bad_lines(tmp_path):
    lines = [
        '{"text": "ok one"}',
        '{"text": "broken" "author": "x"}',
        '[1, 2, 3]',
        '"just a string"',
        '{"text": 42}',
        '{"text": null}',
        '{"body": "no text key"}',
        '{"text": ""}',
        '{"text": " \\n\\t "}',
        '{"text": "ok two", "author": ["a", "b"]}',
    ]
    rs = recs(write(tmp_path / "b.jsonl", "\n".join(lines) + "\n"))
    assert [r.text for r in posts(rs)] == ["ok one", "ok two"]
    by_loc = {r.locator: r for r in bads(rs)}
    assert by_loc["line 2"].reason.startswith("invalid JSON: Expecting ',' delimiter")
    assert by_loc["line 2"].excerpt == lines[1]
    assert by_loc["line 3"].reason == "line is not a JSON object (got list)"
    assert by_loc["line 4"].reason == "line is not a JSON object (got str)"
    assert by_loc["line 5"].reason == "'text' is not a string (got int)"
    assert by_loc["line 6"].reason == "'text' is not a string (got null)"
    assert by_loc["line 7"].reason == "missing 'text'"
    assert by_loc["line 8"].reason == "empty text"
    assert by_loc["line 9"].reason == "empty text"
    last = posts(rs)[-1]
    assert last.author == "" and any("ignored 'author'" in n for n in last.notes)


def test_jsonl_excerpt_is_capped(tmp_path):
    rs = recs(write(tmp_path / "b.jsonl", "{" + "x" * 1000 + "\n"))
    assert len(rs) == 1 and len(rs[0].excerpt) == 200


def test_jsonl_text_column(tmp_path):
    p = write(tmp_path / "b.jsonl", '{"body": "from body"}\n')
    assert posts(recs(p, text_column="body"))[0].text == "from body"


def test_jsonl_nul_escapes_and_raw_controls(tmp_path):
    raw = b'{"text": "a\\u0000b\\u0007c"}\x00\n{"text": "tab\there"}\n'
    rs = recs(write(tmp_path / "n.jsonl", raw))
    a, b = posts(rs)
    assert a.text == "abc" and "removed 3 NUL/control characters" in a.notes
    assert b.text == "tab\there" and b.notes == []


# --------------------------------------------------------------------------
# decoding: BOM, cp1252, NUL


def test_bom_is_stripped(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbftext,author\nhello,ann\n")
    (r,) = recs(p)
    assert r.text == "hello" and r.author == "ann" and r.notes == []
    p2 = tmp_path / "bom.jsonl"
    p2.write_bytes(b'\xef\xbb\xbf{"text": "hi"}\n')
    assert posts(recs(p2))[0].text == "hi"
    p3 = tmp_path / "bom.txt"
    p3.write_bytes("\ufeffTitle here\nann\nMember\nMar 3, 2021\n#1\nHello forum.\n".encode("utf-8"))
    (r3,) = recs(p3)
    assert r3.thread == "Title here" and r3.text == "Hello forum."


def test_cp1252_line_fallback(tmp_path):
    good = '{"text": "caf\u00e9 ok"}\n'.encode("utf-8")
    bad = '{"text": "it\u2019s 5\u20ac \u2014 na\u00efve"}\n'.encode("cp1252")
    undefined = b'{"text": "odd \x81 byte"}\n'  # 0x81 is not in cp1252 -> latin-1
    rs = recs(write(tmp_path / "c.jsonl", good + bad + undefined))
    a, b, c = posts(rs)
    assert a.text == "caf\u00e9 ok" and a.notes == []
    assert b.text == "it\u2019s 5\u20ac \u2014 na\u00efve" and b.notes == ["decoded as cp1252"]
    assert c.text == "odd \x81 byte" and c.notes == ["decoded as cp1252"]


def test_cp1252_in_csv_multiline_record(tmp_path):
    data = b'text,author\n"line one\nna\xefve line two",bob\nplain,ann\n'
    a, b = recs(write(tmp_path / "c.csv", data))
    assert a.text == "line one\nna\u00efve line two" and a.notes == ["decoded as cp1252"]
    assert b.notes == []


def test_nul_bytes_removed_with_note(tmp_path):
    p = tmp_path / "n.csv"
    p.write_bytes(b"text,author\nhe\x00llo\x00 there,ann\x0b\nclean,bob\n")
    a, b = recs(p)
    assert a.text == "hello there" and a.author == "ann"
    assert a.notes == ["removed 3 NUL/control characters"]
    assert b.notes == []


def test_nul_bytes_in_forum_text(tmp_path):
    p = tmp_path / "n.txt"
    p.write_bytes(b"T\nann\nMember\nMar 3, 2021\n#1\nHel\x00lo there.\n")
    (r,) = recs(p)
    assert r.text == "Hello there." and r.notes == ["removed 1 NUL/control character"]


# --------------------------------------------------------------------------
# csv


def make_csv(rows, header=("post_id", "thread", "author", "text")) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_csv_basic_embedded_newlines_quotes_commas(tmp_path, name):
    text1 = 'He said "it works", then:\nline two, with commas\r\nline three'
    data = make_csv([("p1", "T", "ann", text1), ("p2", "T", "bob", "short")])
    rs = recs(write(tmp_path / name, data))
    assert bads(rs) == []
    a, b = rs
    assert a.text == 'He said "it works", then:\nline two, with commas\nline three'
    assert (a.post_id, a.thread, a.author, a.locator) == ("p1", "T", "ann", "line 2")
    assert (b.post_id, b.locator) == ("p2", "line 5")  # physical line after the 3-line record


def test_csv_ragged_blank_and_empty(tmp_path):
    data = (
        "post_id,thread,author,text\n"
        "p1,T,ann,fine\n"
        "\n"
        "p2,T,bob,too,many\n"
        "p3,T,carl\n"
        'p4,T,dee,"   "\n'
        "p5,T,eve,also fine\n"
    )
    rs = recs(write(tmp_path / "r.csv", data))
    assert [(r.post_id, r.locator) for r in posts(rs)] == [("p1", "line 2"), ("p5", "line 7")]
    b = bads(rs)
    assert [(x.locator, x.reason) for x in b] == [
        ("line 4", "ragged row: 5 fields, header has 4"),
        ("line 5", "ragged row: 3 fields, header has 4"),
        ("line 6", "empty text"),
    ]
    assert b[0].excerpt.startswith("p2,T,bob,too,many")


def test_csv_missing_text_column_lists_columns(tmp_path):
    p = write(tmp_path / "m.csv", "id,body,author\n1,hello,ann\n")
    with pytest.raises(IngestFatal) as exc:
        next(read_records(str(p)))
    msg = str(exc.value)
    assert f"no column 'text' in {p}" in msg
    assert "columns found: id, body, author" in msg
    assert "--text-column" in msg
    (r,) = recs(p, text_column="body")
    assert (r.text, r.post_id, r.author) == ("hello", "1", "ann")


def test_csv_optional_columns_and_case(tmp_path):
    p = write(tmp_path / "o.csv", "Text,ID\nhello,7\n")
    (r,) = recs(p)
    assert (r.text, r.post_id, r.thread, r.author) == ("hello", "7", "", "")
    p2 = write(tmp_path / "o2.csv", "text\nhello\n")
    assert recs(p2)[0].post_id == "line 2"


def test_csv_semicolon_hint(tmp_path):
    p = write(tmp_path / "s.csv", "id;text\n1;hi\n")
    with pytest.raises(IngestFatal, match="';'-separated"):
        recs(p)


def test_csv_unterminated_quote_at_eof(tmp_path):
    p = write(tmp_path / "u.csv", 'text,author\nok,ann\n"never closed,bob\nmore\n')
    rs = recs(p)
    assert [r.text for r in posts(rs)] == ["ok"]
    (b,) = bads(rs)
    assert b.locator == "line 3" and "unterminated" in b.reason


def test_csv_10mb_field(tmp_path):
    big = "word " * (2 * 1024 * 1024 + 10)  # > 10 MiB
    p = tmp_path / "big.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        w.writerow([big])
        w.writerow(["small"])
    rs = recs(p)
    assert bads(rs) == []
    assert len(rs[0].text) == len(big.strip()) and rs[1].text == "small"


# --------------------------------------------------------------------------
# stdin


class FakeStdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def test_stdin_jsonl(monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b'{"text": "from stdin"}\n{"text": ""}\n'))
    rs = list(read_records("-", "jsonl"))
    assert rs[0].text == "from stdin" and rs[0].source == "-" and rs[0].locator == "line 1"
    assert rs[1].reason == "empty text"


def test_stdin_csv_and_gzip(monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(gzip.compress(b"text\nzipped via stdin\n")))
    (r,) = list(read_records("-", "csv"))
    assert r.text == "zipped via stdin"


def test_stdin_forum_text(monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(FORUM.encode()))
    rs = list(read_records("-", "forum-text"))
    assert len(posts(rs)) == 9 and bads(rs) == []


def test_stdin_requires_format(monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b'{"text": "x"}\n'))
    with pytest.raises(IngestFatal, match="--format"):
        list(read_records("-"))


# --------------------------------------------------------------------------
# directory walking


def test_iter_input_files_walk_sorted_with_symlink_loop(tmp_path):
    top = tmp_path / "top"
    (top / "b" / "deeper").mkdir(parents=True)
    (top / "a").mkdir()
    for rel in ["z.jsonl", "a/one.csv", "a/two.txt.gz", "b/deeper/x.ndjson", "b/readme.md", "m.TXT", ".hidden.csv"]:
        (top / rel).write_text("x")
    os.symlink(top, top / "b" / "loop")  # points back up: must not recurse forever
    os.symlink(top / "a", top / "c_alias")  # second route to an already visited dir
    got = list(iter_input_files([str(top)]))
    rel = [os.path.relpath(g, top) for g in got]
    assert rel == ["a/one.csv", "a/two.txt.gz", "b/deeper/x.ndjson", "m.TXT", "z.jsonl"]
    assert all(g.startswith(str(top)) for g in got)


def test_iter_input_files_passthrough(tmp_path):
    f = tmp_path / "given.weird"
    f.write_text("x")
    d = tmp_path / "d"
    d.mkdir()
    (d / "in.csv").write_text("text\nx\n")
    got = list(iter_input_files(["-", str(f), str(d), str(tmp_path / "missing.jsonl")]))
    assert got == ["-", str(f), str(d / "in.csv"), str(tmp_path / "missing.jsonl")]


# --------------------------------------------------------------------------
# truncated gzip


def truncated_gz(data: bytes) -> bytes:
    z = gzip.compress(data)
    return z[: len(z) // 2]


def random_words(rng, n):
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(n))


def test_truncated_gzip_jsonl(tmp_path):
    rng = random.Random(1)
    texts = [random_words(rng, 12) for _ in range(3000)]
    data = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(truncated_gz(data))
    rs = recs(p)
    ps, bs = posts(rs), bads(rs)
    assert 0 < len(ps) < len(texts)
    assert [r.text for r in ps] == texts[: len(ps)]
    assert len(bs) == 1 and rs[-1] is bs[0]
    assert bs[0].reason == TRUNC and bs[0].locator == f"line {len(ps) + 1}"


def test_truncated_gzip_csv(tmp_path):
    rng = random.Random(2)
    texts = [random_words(rng, 6) + "\n" + random_words(rng, 6) for _ in range(3000)]
    p = tmp_path / "t.csv.gz"
    p.write_bytes(truncated_gz(make_csv([(str(i), "T", "a", t) for i, t in enumerate(texts)]).encode()))
    rs = recs(p)
    ps, bs = posts(rs), bads(rs)
    assert 0 < len(ps) < len(texts)
    assert [r.text for r in ps] == texts[: len(ps)]
    assert len(bs) == 1 and rs[-1] is bs[0] and bs[0].reason == TRUNC


def test_truncated_gzip_forum_text(tmp_path):
    rng = random.Random(3)
    parts = ["A long thread", "Thread starter ann Start date Mar 3, 2021", ""]
    texts = []
    for i in range(1, 1500):
        t = random_words(rng, 10) + "."
        texts.append(t)
        parts += [f"user{i}", "Member", "Mar 3, 2021", f"#{i}", t, "", "Like 2", "Reply", ""]
    p = tmp_path / "t.txt.gz"
    p.write_bytes(truncated_gz("\n".join(parts).encode()))
    rs = recs(p)
    ps, bs = posts(rs), bads(rs)
    assert 0 < len(ps) < len(texts)
    assert [r.text for r in ps] == texts[: len(ps)]
    assert len(bs) == 1 and rs[-1] is bs[0] and bs[0].reason == TRUNC


def test_truncated_gzip_before_any_data(tmp_path):
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"text": "x"}\n')[:12])
    (b,) = recs(p)
    assert b.reason == TRUNC and b.locator == "line 1"


# --------------------------------------------------------------------------
# forum-text

FORUM = """\
Forums > Treatments
Botox and hair: mouse data
Thread starter alice Start date Mar 3, 2021
Page 1 of 2
Next

alice
Senior Member
Reaction score
12
Joined
Jan 1, 2020
Messages
1,204
Location
Ohio
Mar 3, 2021
#1
Botox made the mice regrow hair faster in this study.
The treated side entered anagen five days early.

I think acetylcholine is involved somehow.

Like 3
Reactions: bob, carol
Report
Reply

Member
Reaction score
3
Mar 4, 2021
#2
I tried it on my own scalp and nothing happened.
- no shedding change
- no regrowth

3 people like this
Reply

Mar 5, 2021
#3
alice said:
The treated side entered anagen five days early.
Click to expand...
Five days in a mouse means nothing for humans.

Last edited: Mar 6, 2021
Report

carol
Well-known member
Joined
Feb 2, 2019
Mar 6, 2021
#4
alice said:
The treated side entered anagen five days early.

I think acetylcholine is involved somehow.

I doubt it, the n was tiny.

Reply

Page 2 of 2
Botox and hair: mouse data
Thread starter alice Start date Mar 3, 2021
Prev

dave
Member
Mar 7, 2021
#5
zed said:
a claim from a post that is not in this dump
Click to expand...
Source?

Like
Reply

erin
Member
Mar 8, 2021
#6
zed said:
another lost claim here
second quoted line

My reply after the blank line.

Report
Reply

=====
Minoxidil sides
frank
Member
Messages
3
Jan 2, 2022
#1
Text of frank in thread two.
My derm said:
not a quote because it continues a paragraph.

Reply

Jan 3, 2022
#2
bob said:
I tried it on my own scalp and nothing happened.
Click to expand...
Cross-thread quotes are not repeats.

Reply

Jan 4, 2022
#3
Third post, no header lines except the date.
"""

UI_LINES = {
    "Forums > Treatments", "Thread starter alice Start date Mar 3, 2021", "Page 1 of 2", "Page 2 of 2",
    "Next", "Prev", "Senior Member", "Member", "Well-known member", "Reaction score", "12", "3", "Joined",
    "Jan 1, 2020", "Feb 2, 2019", "Messages", "1,204", "Location", "Ohio", "Mar 3, 2021", "Mar 4, 2021",
    "Mar 5, 2021", "Mar 6, 2021", "Mar 7, 2021", "Mar 8, 2021", "Jan 2, 2022", "Jan 3, 2022", "Jan 4, 2022",
    "#1", "#2", "#3", "#4", "#5", "#6", "Like 3", "Reactions: bob, carol", "Report", "Reply", "Like",
    "3 people like this", "Click to expand...", "Last edited: Mar 6, 2021", "=====", "alice said:", "zed said:",
    "bob said:", "alice", "carol", "dave", "erin", "frank",
}


@pytest.fixture
def forum(tmp_path):
    return recs(write(tmp_path / "f.txt", FORUM))


def test_forum_threads_and_ids(forum):
    assert bads(forum) == []
    ps = posts(forum)
    assert [p.post_id for p in ps] == ["1-1", "1-2", "1-3", "1-4", "1-5", "1-6", "2-1", "2-2", "2-3"]
    assert {p.thread for p in ps[:6]} == {"Botox and hair: mouse data"}  # page 2 continues thread 1
    assert {p.thread for p in ps[6:]} == {"Minoxidil sides"}
    assert ps[0].locator == "line 7" and ps[0].source.endswith("f.txt")


def test_forum_authors_missing_lines(forum):
    ps = {p.post_id: p for p in posts(forum)}
    assert ps["1-1"].author == "alice"
    assert ps["1-2"].text.startswith("I tried it")  # role line but no author line
    assert ps["1-3"].text == "Five days in a mouse means nothing for humans."  # neither author nor role
    assert ps["1-3"].author == ""
    assert ps["1-4"].author == "carol" and ps["1-5"].author == "dave" and ps["1-6"].author == "erin"
    assert ps["2-1"].author == "frank" and ps["2-3"].author == ""
    assert ps["2-3"].text == "Third post, no header lines except the date."


def test_forum_ui_lines_never_in_text(forum):
    for p in posts(forum):
        for line in p.text.split("\n"):
            assert line not in UI_LINES, (p.post_id, line)
        for q in p.quotes:
            for line in q.text.split("\n"):
                assert line not in UI_LINES


def test_forum_text_keeps_paragraphs_and_bullets(forum):
    ps = {p.post_id: p for p in posts(forum)}
    assert ps["1-1"].text == (
        "Botox made the mice regrow hair faster in this study.\n"
        "The treated side entered anagen five days early.\n\n"
        "I think acetylcholine is involved somehow."
    )
    assert ps["1-2"].text == "I tried it on my own scalp and nothing happened.\n- no shedding change\n- no regrowth"


def test_forum_quote_with_click_to_expand_repeats_earlier_post(forum):
    p = {p.post_id: p for p in posts(forum)}["1-3"]
    assert p.quotes == [Quote("alice", "The treated side entered anagen five days early.", "1-1")]


def test_forum_quote_without_click_to_expand_uses_matching(forum):
    p = {p.post_id: p for p in posts(forum)}["1-4"]
    # the quote spans a blank line; the first-blank rule alone would cut it short
    assert p.quotes == [
        Quote(
            "alice",
            "The treated side entered anagen five days early.\n\nI think acetylcholine is involved somehow.",
            "1-1",
        )
    ]
    assert p.text == "I doubt it, the n was tiny."


def test_forum_quote_of_unknown_post(forum):
    ps = {p.post_id: p for p in posts(forum)}
    assert ps["1-5"].quotes == [Quote("zed", "a claim from a post that is not in this dump", None)]
    assert ps["1-5"].text == "Source?"
    # no "Click to expand...": the quote ends at the first blank line
    assert ps["1-6"].quotes == [Quote("zed", "another lost claim here\nsecond quoted line", None)]
    assert ps["1-6"].text == "My reply after the blank line."
    # only earlier posts of the same thread count
    assert ps["2-2"].quotes == [Quote("bob", "I tried it on my own scalp and nothing happened.", None)]


def test_forum_said_inside_paragraph_is_not_a_quote(forum):
    p = {p.post_id: p for p in posts(forum)}["2-1"]
    assert p.quotes == []
    assert "My derm said:" in p.text


def test_forum_author_inference(tmp_path):
    text = """\
Thread title
Thread starter opener Start date Mar 3, 2021

Member
Mar 3, 2021
#1
Opening post with enough words to match.

Reply

Member
Mar 4, 2021
#2
Second post that someone quotes later on.

Reply

quoter
Member
Mar 5, 2021
#3
ghost said:
Second post that someone quotes later on.
Click to expand...
Reply text.
"""
    ps = posts(recs(write(tmp_path / "i.txt", text)))
    assert [p.author for p in ps] == ["opener", "ghost", "quoter"]
    assert ps[0].notes == ["author taken from the 'Thread starter' line"]
    assert ps[1].notes == ["author taken from a quote in post 1-3"]


def test_forum_separator_and_starter_variants(tmp_path):
    text = """\
First thread title
alice
Member
Mar 3, 2021
#1
Hello one.

=====
Second thread title
Thread starter
bob
Start date
Mar 4, 2021

B
bob
New Member
Mar 4, 2021
#1
Hello two.

Third thread title
Discussion in 'Alopecia' started by carol, Mar 5, 2021.

carol
Moderator
Staff member
Messages: 10
Likes Received: 2
Location: Leeds, UK
Mar 5, 2021 #1
Hello three.
"""
    ps = posts(recs(write(tmp_path / "s.txt", text)))
    assert [(p.thread, p.post_id, p.author, p.text) for p in ps] == [
        ("First thread title", "1-1", "alice", "Hello one."),
        ("Second thread title", "2-1", "bob", "Hello two."),
        ("Third thread title", "3-1", "carol", "Hello three."),
    ]


def test_forum_no_post_numbers_and_duplicate_numbers(tmp_path):
    text = """\
T
ann
Member
Mar 3, 2021
First.

bob
Member
Mar 3, 2021
#1
Second, claims number one.

cat
Member
Yesterday at 4:12 PM
Third.
"""
    ps = posts(recs(write(tmp_path / "d.txt", text)))
    assert [p.post_id for p in ps] == ["1-1", "1-1.2", "1-3"]
    assert len({p.post_id for p in ps}) == 3


def test_forum_empty_post_and_preamble(tmp_path):
    text = """\
Some site banner text
Real title
Thread starter ann Start date Mar 3, 2021
ann
Member
Mar 3, 2021
#1

Reply

bob
Member
Mar 3, 2021
#2
Actual text.
"""
    rs = recs(write(tmp_path / "e.txt", text))
    assert [type(r).__name__ for r in rs] == ["BadRecord", "BadRecord", "Post"]
    assert rs[0].reason.startswith("text before the first thread header") and rs[0].locator == "line 1"
    assert rs[1].reason == "empty text" and rs[1].locator == "line 4"
    assert rs[2].post_id == "1-2" and rs[2].text == "Actual text."


def test_forum_cr_only_line_endings(tmp_path):
    p = tmp_path / "cr.txt"
    p.write_bytes(b"Title\rann\rMember\rMar 3, 2021\r#1\rHello there.\r")
    (r,) = recs(p)
    assert (r.thread, r.author, r.text) == ("Title", "ann", "Hello there.")


@pytest.mark.parametrize("name", ["f.txt", "f.txt.gz"])
def test_forum_gz(tmp_path, name):
    rs = recs(write(tmp_path / name, FORUM))
    assert len(posts(rs)) == 9 and bads(rs) == []


# --------------------------------------------------------------------------
# sample files


def test_sample_forum_text():
    rs = recs(SAMPLES / "hairloss-forum.txt")
    assert bads(rs) == []
    ps = posts(rs)
    threads = list(dict.fromkeys(p.thread for p in ps))
    assert len(threads) == 3
    assert [sum(p.thread == t for p in ps) for t in threads] == [7, 6, 6]
    assert len({p.post_id for p in ps}) == len(ps)
    quotes = [(p.post_id, q) for p in ps for q in p.quotes]
    assert len(quotes) >= 3
    assert any(q.repeats_post_id is None for _, q in quotes)
    assert sum(q.repeats_post_id is not None for _, q in quotes) >= 2
    by_id = {p.post_id: p for p in ps}
    # the quote in 1-6 has no "Click to expand..." and spans a blank line
    assert by_id["1-6"].quotes[0].repeats_post_id == "1-3"
    assert "\n\n" in by_id["1-6"].quotes[0].text
    assert by_id["2-3"].quotes[0].repeats_post_id is None
    texts = "\n".join(p.text for p in ps)
    for needle in ["e.g.", "vs.", "et al.", "BoNT/A", "C57BL/6J", "0.5mg", "https://", "...", "😅", "•"]:
        assert needle in texts, needle
    for ui in ["Reaction score", "Click to expand", "Joined", "Like 4", "Report", "Reply\n", "#1", "Thread starter"]:
        assert ui not in texts, ui


def test_sample_jsonl():
    rs = recs(SAMPLES / "other-forums.jsonl")
    assert bads(rs) == []
    ps = posts(rs)
    assert len(ps) == 40
    assert len({p.thread for p in ps}) == 10
    assert all(p.author and p.thread and p.post_id for p in ps)
    assert any("\n" in p.text for p in ps)


def test_sample_csv():
    rs = recs(SAMPLES / "hairloss-export.csv")
    assert bads(rs) == []
    ps = posts(rs)
    assert len(ps) == 30
    assert len({p.thread for p in ps}) == 5
    assert any("\n" in p.text for p in ps) and any('"' in p.text for p in ps)
    assert any("," in p.thread for p in ps) or any("," in p.text for p in ps)


# --------------------------------------------------------------------------
# property tests

CLEAN_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07"
                           "\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"),
    max_size=60,
)


def expected_text(t: str) -> str:
    return t.replace("\r\n", "\n").replace("\r", "\n").strip()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(CLEAN_TEXT, min_size=1, max_size=6))
def test_property_csv_roundtrip(tmp_path, texts):
    p = tmp_path / "h.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "text"])
        for i, t in enumerate(texts):
            w.writerow([f"id{i}", t])
    rs = recs(p)
    assert len(rs) == len(texts)
    for r, t in zip(rs, texts):
        if expected_text(t):
            assert isinstance(r, Post) and r.text == expected_text(t)
        else:
            assert isinstance(r, BadRecord) and r.reason == "empty text"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(CLEAN_TEXT, min_size=1, max_size=6))
def test_property_jsonl_roundtrip(tmp_path, texts):
    p = tmp_path / "h.jsonl"
    p.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    rs = recs(p)
    assert len(rs) == len(texts)
    for r, t in zip(rs, texts):
        assert (r.text == expected_text(t)) if expected_text(t) else (r.reason == "empty text")


FORUM_VOCAB = sorted(UI_LINES) + [
    "", "", "", "Some text line about minoxidil.", "short", "Another claim, with a comma.", "x said:",
    "Thread starter zz Start date Mar 3, 2021", "=====", "A title line",
]


FREE_IN_TEXT = {"alice", "carol", "dave", "erin", "frank", "Ohio"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from(FORUM_VOCAB), max_size=40))
def test_property_forum_text_is_total(tmp_path, lines):
    p = tmp_path / "h.txt"
    p.write_text("\n".join(lines), encoding="utf-8")
    rs = recs(p)
    ids = [r.post_id for r in rs if isinstance(r, Post)]
    assert len(ids) == len(set(ids))
    for r in rs:
        assert isinstance(r, (Post, BadRecord))
        if isinstance(r, Post):
            assert r.text.strip()
            for line in r.text.split("\n"):
                # names, "X said:" and a location value are ordinary text outside a post header
                assert line not in UI_LINES or line in FREE_IN_TEXT or line.endswith(" said:")
