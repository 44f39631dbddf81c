"""`claimtag suggest`: choosing what to annotate next, and the round trip through the annotation tools."""
import csv
import io
import json
import random
from collections import Counter

import pytest
import typer

from pipeline.annotations import ImportSummary, read_annotations, validate_annotations
from pipeline.classify import LABELS
from pipeline.suggest import (LABEL_STUDIO_CONFIG, collect_candidates, select_uncertain, suggest_command,
                              write_suggestions)
from tests.conftest import SAMPLES


def row(text, post, margin, label="finding", runner_up="other"):
    """A candidate whose top two probabilities differ by ``margin``."""
    probs = dict.fromkeys(LABELS, 0.0)
    probs[label] = (1 + margin) / 2
    probs[runner_up if runner_up != label else "hypothesis"] = (1 - margin) / 2
    return {"text": text, "source": "forum.txt", "post_id": post, "label": label, "probs": probs,
            "entities": []}


WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def sentence(i):
    """Sentences that share no near-duplicate trigrams with each other."""
    return f"{WORDS[i % 26]} {WORDS[(i * 7 + 3) % 26]} {WORDS[(i * 11 + 5) % 26]} number {i * 7919}"


# -- select_uncertain --------------------------------------------------------------

def test_picks_the_most_uncertain_first():
    rows = [row(sentence(i), f"p{i}", margin=m) for i, m in enumerate([0.9, 0.05, 0.5, 0.01, 0.3, 0.2, 0.7])]
    chosen = select_uncertain(rows, 3)
    assert [r["text"] for r in chosen] == [sentence(3), sentence(1), sentence(5)]
    assert select_uncertain(rows, 0) == [] and select_uncertain([], 5) == []


def test_spreads_over_posts():
    rows = [row(sentence(i), "A", margin=0.01 * i) for i in range(6)]  # post A holds the 6 most uncertain
    rows += [row(sentence(10 + i), f"p{i}", margin=0.5 + 0.01 * i) for i in range(5)]
    chosen = select_uncertain(rows, 6)
    per_post = Counter(r["post_id"] for r in chosen)
    assert len(chosen) == 6 and per_post["A"] == 2
    assert [r["text"] for r in chosen if r["post_id"] == "A"] == [sentence(0), sentence(1)]


def test_few_posts_still_fill_n():
    rows = [row(sentence(i), "A" if i % 2 else "B", margin=0.01 * i) for i in range(20)]
    chosen = select_uncertain(rows, 8)  # 2 posts: at most ceil(8 / 2) = 4 each
    assert len(chosen) == 8 and Counter(r["post_id"] for r in chosen) == {"A": 4, "B": 4}


def test_spreads_over_predicted_labels():
    rows = [row(sentence(i), f"f{i}", margin=0.01 * (i + 1), label="finding") for i in range(20)]
    rows += [row(sentence(30 + i), f"o{i}", margin=0.3 + 0.01 * i, label="other", runner_up="finding")
             for i in range(3)]
    rows += [row(sentence(40 + i), f"a{i}", margin=0.5 + 0.01 * i, label="anecdote") for i in range(2)]
    chosen = select_uncertain(rows, 6)
    # margin alone would take six findings; labels take turns within the 4n most uncertain
    assert [r["label"] for r in chosen] == ["finding", "other", "anecdote", "finding", "other", "finding"]
    assert [r["text"] for r in chosen if r["label"] == "finding"] == [sentence(0), sentence(1), sentence(2)]


def test_skips_near_duplicates():
    rows = [
        row("Minoxidil works for me.", "p1", 0.01),
        row("minoxidil WORKS for me!!", "p2", 0.02),        # same normalised text
        row("Minoxidil works for me too.", "p3", 0.03),     # trigram Jaccard > 0.8
        row("Finasteride did nothing for my crown.", "p4", 0.04),
    ]
    assert [r["post_id"] for r in select_uncertain(rows, 3)] == ["p1", "p4"]


def test_deterministic_whatever_the_input_order():
    rows = [row(sentence(i), f"p{i % 9}", margin=round(0.1 * (i % 4), 2), label=LABELS[i % 5]) for i in range(60)]
    first = select_uncertain(rows, 15, seed=3)
    for k in range(5):
        shuffled = rows[:]
        random.Random(k).shuffle(shuffled)
        assert [r["text"] for r in select_uncertain(shuffled, 15, seed=3)] == [r["text"] for r in first]
    # the seed only breaks ties (many equal margins here)
    assert [r["text"] for r in select_uncertain(rows, 15, seed=4)] != [r["text"] for r in first]


def test_accepts_probability_arrays_and_missing_labels():
    rows = [{"text": "Keto shampoo twice a week.", "post": ("f", 1), "probs": [0.1, 0.2, 0.3, 0.35, 0.05]},
            {"text": "Fin works.", "post": ("f", 2), "probs": [0.9, 0.05, 0.05, 0.0, 0.0]},
            {"text": "Source?", "post": ("f", 3), "margin": 0.2}]
    assert [r["text"] for r in select_uncertain(rows, 2)] == ["Keto shampoo twice a week.", "Source?"]


# -- candidates and the round trip ------------------------------------------------------

@pytest.fixture(scope="module")
def candidates(nlp):
    return collect_candidates(nlp, [str(SAMPLES)])


def test_candidates_match_what_label_writes(nlp, candidates):
    from pipeline.ingest import Post, read_records
    from pipeline.runner import ChunkLabeler

    assert {r["source"] for r in candidates} == {str(p) for p in sorted(SAMPLES.iterdir())}
    for r in candidates:
        assert r["text"] == r["text"].strip() and r["label"] in LABELS
        assert abs(sum(r["probs"].values()) - 1) < 1e-6
        top = sorted(r["probs"].values(), reverse=True)
        assert r["margin"] == pytest.approx(top[0] - top[1])
        for start, end, _type in r["entities"]:
            assert 0 <= start < end <= len(r["text"])
    path = str(SAMPLES / "other-forums.jsonl")
    posts = [p for p in read_records(path, "jsonl") if isinstance(p, Post)]
    labeled = [x for rows in ChunkLabeler(nlp).label_posts(posts) for x in rows]
    ours = [r for r in candidates if r["source"] == path]
    assert [(r["post_id"], r["sentence_index"], r["text"], r["label"]) for r in ours] == \
        [(x["post_id"], x["sentence_index"], x["sentence"], x["label"]) for x in labeled]
    assert [r["entities"] for r in ours] == \
        [[[e["start"], e["end"], e["label"]] for e in json.loads(x["entities"])] for x in labeled]


def test_limit_and_stats(nlp):
    stats = Counter()
    rows = collect_candidates(nlp, [str(SAMPLES / "other-forums.jsonl")], limit=3, stats=stats)
    assert stats["posts"] == 3 and {r["post_id"] for r in rows} == {"acne-1001", "acne-1002", "acne-1003"}


def as_triples(records):
    return sorted((r["text"], r["label"], sorted(map(list, r["entities"]))) for r in records)


def ls_export(task_list):
    """What Label Studio exports after an annotator submitted each pre-annotated task unchanged."""
    exported = []
    for k, task in enumerate(task_list, 1):
        result = [dict(item, origin="prediction") for item in task["predictions"][0]["result"]]
        exported.append({"id": k, "data": task["data"], "meta": task["meta"],
                         "predictions": task["predictions"], "drafts": [], "project": 1,
                         "annotations": [{"id": k, "completed_by": 1, "result": result, "was_cancelled": False,
                                          "ground_truth": False, "created_at": "2025-01-02T10:00:00.000000Z",
                                          "updated_at": "2025-01-02T10:00:00.000000Z", "lead_time": 4.2,
                                          "task": k, "project": 1}]})
    return exported


def other_label(label):
    return "other" if label != "other" else "finding"


@pytest.fixture(scope="module")
def chosen(candidates):
    picked = select_uncertain(candidates, 40)
    assert len(picked) == 40
    return picked


@pytest.mark.parametrize("fmt,name", [("labelstudio", "s.json"), ("prodigy", "s.jsonl"), ("csv", "s.csv")])
def test_round_trip_through_each_format(nlp, chosen, tmp_path, fmt, name):
    path = tmp_path / name
    write_suggestions(chosen, path, fmt, prefill=(fmt == "labelstudio"))
    assert not list(tmp_path.glob("*.partial"))
    records, problems = read_annotations([path])
    assert problems == [] and validate_annotations(records, nlp.tokenizer) == []
    assert as_triples(records) == as_triples(chosen)

    # an annotator changes the label of the first sentence
    target = chosen[0]
    new_label = other_label(target["label"])
    if fmt == "labelstudio":
        tasks = json.loads(path.read_text(encoding="utf-8"))
        for item in tasks[0]["annotations"][0]["result"]:
            if item["type"] == "choices":
                item["value"]["choices"] = [new_label]
        tasks[0]["annotations"][0]["updated_at"] = "2025-01-03T09:00:00Z"
        path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    elif fmt == "prodigy":
        lines = path.read_text(encoding="utf-8").splitlines()
        first = json.loads(lines[0])
        first["label"] = new_label
        path.write_text("\n".join([json.dumps(first, ensure_ascii=False)] + lines[1:]) + "\n", encoding="utf-8")
    else:
        table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        table[1][table[0].index("label")] = new_label
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(table)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    edited, problems = read_annotations([path])
    assert problems == []
    expected = as_triples([dict(r, label=new_label) if r is target else r for r in chosen])
    assert as_triples(edited) == expected


def test_labelstudio_predictions_are_not_annotations_until_submitted(chosen, tmp_path):
    path = tmp_path / "tasks.json"
    write_suggestions(chosen, path, "labelstudio")
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert all("annotations" not in t and t["predictions"][0]["result"] for t in tasks)
    assert tasks[0]["predictions"][0]["model_version"] == chosen[0]["model_version"]
    for item in tasks[0]["predictions"][0]["result"]:  # names match the labeling config
        assert f'name="{item["from_name"]}"' in LABEL_STUDIO_CONFIG
    summary = ImportSummary()
    records, problems = read_annotations([path], summary=summary)
    assert records == [] and problems == []
    assert summary.skipped == {"Label Studio tasks without annotations": 40}

    # the annotators submit every task; on the first one a second annotator later corrects the label
    export = ls_export(tasks)
    correction = json.loads(json.dumps(export[0]["annotations"][0]))
    new_label = other_label(chosen[0]["label"])
    for item in correction["result"]:
        if item["type"] == "choices":
            item["value"]["choices"] = [new_label]
    correction.update(id=999, created_at="2025-01-05T10:00:00Z", updated_at="2025-01-05T10:00:00Z")
    export[0]["annotations"].append(correction)
    export_path = tmp_path / "project-1-at-2025-01-05.json"
    export_path.write_text(json.dumps(export, indent=2, ensure_ascii=False), encoding="utf-8")
    records, problems = read_annotations([export_path])
    assert problems == []
    assert as_triples(records) == as_triples([dict(r, label=new_label) if i == 0 else r
                                              for i, r in enumerate(chosen)])


def test_prodigy_and_csv_carry_score_and_post(chosen, tmp_path):
    write_suggestions(chosen[:3], tmp_path / "p.jsonl", "prodigy")
    first = json.loads((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["answer"] == "accept" and first["label"] == chosen[0]["label"]
    assert first["meta"]["post_id"] == chosen[0]["post_id"] and first["meta"]["source"] == chosen[0]["source"]
    assert first["meta"]["score"] == round(max(chosen[0]["probs"].values()), 4)
    write_suggestions(chosen[:3], tmp_path / "s.csv", "csv")
    header = (tmp_path / "s.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:6] == ["text", "label", "entities", "source", "post_id", "sentence_index"]
    with pytest.raises(ValueError, match="unknown suggestion format"):
        write_suggestions(chosen, tmp_path / "x", "brat")
    assert not (tmp_path / "x").exists()


# -- the command -------------------------------------------------------------------------

@pytest.fixture()
def suggest():
    from typer.testing import CliRunner

    app = typer.Typer()
    app.callback()(lambda: None)  # keep "suggest" a subcommand, as in the real CLI
    app.command("suggest")(suggest_command)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["suggest", *map(str, args)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def test_command_writes_suggestions(suggest, tmp_path):
    out = tmp_path / "next" / "batch.json"
    code, _, err = suggest(SAMPLES, "--n", 12, "--out", out)
    assert code == 0, err
    assert "wrote 12 suggestions" in err
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 12
    assert (tmp_path / "next" / "batch.label_config.xml").read_text(encoding="utf-8") == LABEL_STUDIO_CONFIG
    code, _, err = suggest(SAMPLES / "other-forums.jsonl", "--n", 5, "--out", tmp_path / "b.csv", "--format", "csv")
    assert code == 0, err
    assert len((tmp_path / "b.csv").read_text(encoding="utf-8").splitlines()) == 6


@pytest.mark.parametrize("args,message", [
    (["--format", "brat"], "unknown --format 'brat'"),
    (["--n", "0"], "--n must be at least 1"),
    (["--format", "csv", "--prefill-annotations"], "only applies to --format labelstudio"),
    (["--input-format", "xml"], "unknown --input-format"),
])
def test_command_usage_errors_exit_2(suggest, tmp_path, args, message):
    code, _, err = suggest(SAMPLES, "--out", tmp_path / "x.json", *args)
    assert code == 2 and message in err
    assert not (tmp_path / "x.json").exists()


def test_command_input_errors_exit_2(suggest, tmp_path):
    code, _, err = suggest(tmp_path / "missing.txt", "--out", tmp_path / "x.json")
    assert code == 2 and "does not exist" in err
    (tmp_path / "dump.xml").write_text("<posts/>")
    code, _, err = suggest(tmp_path / "dump.xml", "--out", tmp_path / "x.json")
    assert code == 2 and "unknown extension" in err
    code, _, err = suggest(SAMPLES, "--out", tmp_path)
    assert code == 2 and "is a directory" in err
