"""`claimtag report`: per-entity aggregate of labeled CSVs, HTML page and CSV."""
import csv
import html
import json
import re

import pandas
import pytest
import typer
from typer.testing import CliRunner

from pipeline.report import SUMMARY_COLUMNS, aggregate, collect, render_html, report_command

COLUMNS = [
    "source", "thread", "post_id", "author", "is_quote", "quoted_author", "sentence_index", "start", "end",
    "sentence", "label", "confidence", "p_finding", "p_hypothesis", "p_skepticism", "p_anecdote", "p_other",
    "entities", "model_version", "evidence_model", "notes",
]
BOTOX = ("TREATMENT", "botulinum toxin type A", "MESH:D019274")
MINOX = ("TREATMENT", "minoxidil", "MESH:D008914")
ALOPECIA = ("CONDITION", "alopecia", "MESH:D000505")
ROSEMARY = ("TREATMENT", "", None)  # no canonical: grouped by its lower-cased text
DHT = ("CHEMICAL", "dihydrotestosterone", "MESH:D013196")
MOUSE = ("SPECIES", "mouse", "MESH:D051379")
HUMAN = ("SPECIES", "human", "MESH:D006801")


def ents(sentence, *spans):
    """Entities JSON as the labeler writes it; each span is (surface text, (label, canonical, id))."""
    out, cursor = [], 0
    for text, (label, canonical, mesh) in spans:
        start = sentence.index(text, cursor)
        cursor = start + len(text)
        out.append({"text": text, "label": label, "start": start, "end": cursor, "canonical": canonical,
                    "id": mesh})
    return json.dumps(out, separators=(",", ":"))


def row(post, author, index, sentence, label, confidence, evidence, *spans, quote_of="", thread="Botox & hair"):
    probs = {k: round((1 - confidence) / 4, 4) for k in ("finding", "hypothesis", "skepticism", "anecdote", "other")}
    probs[label] = confidence
    return [
        "corpus/forum.txt", thread, post, author, "true" if quote_of else "false", quote_of, index, 0,
        len(sentence), sentence, label, f"{confidence:.4f}", *[f"{probs[k]:.4f}" for k in probs],
        ents(sentence, *spans), "ct-test", evidence, "",
    ]


# Two files of hand-written rows: Botox / BoNT-A share a canonical name, alice writes posts p1 and p2,
# bob's p3 starts with a quote of alice, findings rest on animal (p1, p3) and human (p2) evidence.
FILE_A = [
    row("p1", "alice", 0, "Botox regrew hair in mice.", "finding", 0.9, "animal",
        ("Botox", BOTOX), ("mice", MOUSE)),
    row("p1", "alice", 1, "BoNT-A also helped my alopecia.", "anecdote", 0.8, "unknown",
        ("BoNT-A", BOTOX), ("alopecia", ALOPECIA)),
    row("p2", "alice", 0, "A trial in 40 men found minoxidil grew hair.", "finding", 0.7, "human",
        ("men", HUMAN), ("minoxidil", MINOX)),
    row("p3", "bob", 0, "Botox regrew hair in mice.", "finding", 0.6, "animal",
        ("Botox", BOTOX), ("mice", MOUSE), quote_of="alice"),
    row("p3", "bob", 1, "Maybe botox works on alopecia via DHT.", "hypothesis", 0.55, "unknown",
        ("botox", BOTOX), ("alopecia", ALOPECIA), ("DHT", DHT)),
]
FILE_B = [
    row("p4", "", 0, "Rosemary Oil did nothing for me <3 & I tried.", "skepticism", 0.65, "unknown",
        ("Rosemary Oil", ROSEMARY), thread="<b>Oils</b>"),
    row("p4", "", 1, "Nice weather today.", "other", 0.9, "unknown"),
    row("p2", "alice", 1, "Minoxidil and minoxidil foam, I mean.", "other", 0.4, "unknown",
        ("Minoxidil", MINOX), ("minoxidil", MINOX)),
]

EXPECTED = pandas.DataFrame([
    # entity, type, mentions, posts, authors, n_finding..n_other, findings animal/human/in_vitro/unknown, mean
    ["botulinum toxin type A", "TREATMENT", 4, 2, 2, 2, 1, 0, 1, 0, 2, 0, 0, 0, 0.7125],
    ["alopecia", "CONDITION", 2, 2, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0.675],
    ["minoxidil", "TREATMENT", 2, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0.55],
    ["rosemary oil", "TREATMENT", 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0.65],
], columns=["entity", "type", "mentions", "posts", "authors", "n_finding", "n_hypothesis", "n_skepticism",
            "n_anecdote", "n_other", "findings_animal", "findings_human", "findings_in_vitro", "findings_unknown",
            "mean_confidence"])


def visible_text(page):
    """The page's text without tags or displacy's entity-label tags, whitespace collapsed."""
    page = re.sub(r"<span[^>]*>(?:TREATMENT|CHEMICAL|STRAIN|SPECIES|CONDITION|DOSE)</span>", "", page)
    page = re.sub(r"\s*<mark[^>]*>\s*", " ", page)
    page = re.sub(r"\s*</mark>\s*", " ", page)
    page = re.sub(r"<[^>]+>", "", page)
    return html.unescape(re.sub(r"\s+", " ", page)).replace(" .", ".")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


@pytest.fixture()
def out_dir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_csv(out / "a.txt.labeled.csv", FILE_A)
    write_csv(out / "b.jsonl.labeled.csv", FILE_B)
    # Neither is a labeled CSV: an errors file and the leftover of an interrupted run.
    (out / "b.jsonl.errors.csv").write_text("locator,reason,excerpt\r\nline 9,bad json,{\r\n", encoding="utf-8")
    write_csv(out / "c.txt.labeled.csv.partial", FILE_A)
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    return out


@pytest.fixture()
def run():
    app = typer.Typer(add_completion=False)
    app.command("report")(report_command)

    @app.command("version")  # a second command keeps "report" a named subcommand, as in the real CLI
    def version() -> None:
        pass

    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, ["report", *[str(a) for a in args]])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def test_aggregate_exact_counts(out_dir):
    summary = aggregate(out_dir)
    assert list(summary.columns) == SUMMARY_COLUMNS
    got = summary[EXPECTED.columns].reset_index(drop=True)
    pandas.testing.assert_frame_equal(got, EXPECTED, check_dtype=False)
    botox = summary.iloc[0]
    assert (botox.share_finding, botox.share_hypothesis, botox.share_anecdote) == (0.5, 0.25, 0.25)
    assert summary.loc[summary.entity == "minoxidil", "share_other"].item() == 0.5
    totals = summary.attrs["totals"]
    assert totals["files"] == 2  # the .partial leftover is not read
    assert totals["sentences"] == 8
    assert totals["posts"] == 4
    assert totals["quotes"] == 1
    assert totals["labels"] == {"finding": 3, "hypothesis": 1, "skepticism": 1, "anecdote": 1, "other": 2}
    assert totals["errors_files"] == ["b.jsonl.errors.csv"]


def test_examples_top_per_entity_and_label(out_dir):
    examples = aggregate(out_dir).attrs["examples"]
    botox_findings = examples[(examples.entity == "botulinum toxin type A") & (examples.label == "finding")]
    assert botox_findings["confidence"].tolist() == [0.9, 0.6]
    assert botox_findings["rank"].tolist() == [1, 2]
    first = botox_findings.iloc[0]
    assert (first.sentence, first.source, first.thread, first.post_id, first.sentence_index) == (
        "Botox regrew hair in mice.", "corpus/forum.txt", "Botox & hair", "p1", 0)
    assert json.loads(first.entities)[0]["text"] == "Botox"
    assert botox_findings.iloc[1].is_quote
    assert len(examples) == 9  # one per mention here: no (entity, label) has more than three sentences
    assert examples[examples.entity == "dihydrotestosterone"].empty


def test_heap_keeps_three_most_confident_with_deterministic_ties(tmp_path):
    rows = [row(f"q{i}", f"user{i}", 0, f"Minoxidil helped {i}.", "finding", conf, "human", ("Minoxidil", MINOX))
            for i, conf in enumerate([0.5, 0.8, 0.7, 0.8, 0.95, 0.6])]
    write_csv(tmp_path / "x.labeled.csv", rows)
    for chunksize in (1, 2, 4, 100):
        examples = collect(tmp_path, chunksize=chunksize).examples
        assert examples["confidence"].tolist() == [0.95, 0.8, 0.8]
        assert examples["post_id"].tolist() == ["q4", "q1", "q3"]  # the tie broken by post id


def test_chunked_reading_matches_whole_file(out_dir):
    small = collect(out_dir, chunksize=2)
    big = collect(out_dir, chunksize=1_000_000)
    pandas.testing.assert_frame_equal(small.summary, big.summary)
    pandas.testing.assert_frame_equal(small.examples, big.examples)
    assert small.totals == big.totals


def test_other_entity_types(out_dir):
    summary = aggregate(out_dir, entity_types=["chemical"])
    assert summary[["entity", "type", "mentions", "n_hypothesis"]].values.tolist() == [
        ["dihydrotestosterone", "CHEMICAL", 1, 1]]


def test_report_command_writes_html_and_csv(out_dir, tmp_path, run):
    html_path = tmp_path / "site" / "report.html"
    csv_path = tmp_path / "summary.csv"
    result = run(out_dir, "--html", html_path, "--csv", csv_path)
    assert result.exit_code == 0, result.stderr
    assert "2 file(s), 8 sentences, 4 entities" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
    assert not list(html_path.parent.glob("*.partial")) and not list(tmp_path.glob("*.partial"))

    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<img src="data:image/png;base64,' in page
    # no external resources: nothing is fetched from the network
    assert "<link" not in page and "src=\"http" not in page and "@import" not in page
    # one table row per entity
    assert page.count('<tr data-k="') == 4
    for name in ("botulinum toxin type A", "alopecia", "minoxidil", "rosemary oil"):
        assert f'<tr data-k="{name.lower()}">' in page
    # highlighted examples with displacy markup and the sentence text
    assert 'class="entities"' in page and '<mark class="entity"' in page
    text = visible_text(page)
    assert "Botox regrew hair in mice." in text
    assert "Maybe botox works on alopecia via DHT." in text
    assert "Botox\n" in page and "TREATMENT</span>" in page
    # escaped text, thread and post id shown, relative link to the labeled CSV
    assert "did nothing for me &lt;3 &amp; I tried." in page
    assert "<3 &" not in page and "<b>Oils</b>" not in page
    assert "&lt;b&gt;Oils&lt;/b&gt;" in page and "Botox &amp; hair" in page
    assert "<b>post</b> p3" in page
    assert 'href="../out/a.txt.labeled.csv"' in page

    written = pandas.read_csv(csv_path, keep_default_na=False)
    pandas.testing.assert_frame_equal(written, aggregate(out_dir), check_dtype=False)


def test_report_command_type_option(out_dir, tmp_path, run):
    result = run(out_dir, "--html", tmp_path / "r.html", "--type", "CHEMICAL", "--type", "treatment")
    assert result.exit_code == 0, result.stderr
    assert "4 entities (CHEMICAL, TREATMENT)" in result.stdout


def test_report_command_unknown_type_is_a_usage_error(out_dir, tmp_path, run):
    result = run(out_dir, "--html", tmp_path / "r.html", "--type", "DRUG")
    assert result.exit_code == 2
    assert "unknown entity type 'DRUG'" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_command_empty_folder(tmp_path, run):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text("{}", encoding="utf-8")
    result = run(empty, "--html", tmp_path / "r.html")
    assert result.exit_code == 1
    assert f"no *.labeled.csv files in {empty}; run `claimtag label ... --out {empty}` first" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_command_malformed_csv(tmp_path, run):
    (tmp_path / "x.labeled.csv").write_text("a,b\r\n1,2\r\n", encoding="utf-8")
    result = run(tmp_path, "--html", tmp_path / "r.html")
    assert result.exit_code == 1
    assert "not a labeled CSV" in result.stderr


def test_header_only_csv_gives_an_empty_report(tmp_path):
    write_csv(tmp_path / "x.labeled.csv", [])
    data = collect(tmp_path)
    assert data.summary.empty and data.totals["sentences"] == 0
    page = render_html(data.summary, data.examples, tmp_path / "r.html", totals=data.totals)
    assert "no entity of the selected types was found" in page
    assert data.totals["files"] == 1
