"""``claimtag bench``: speed and memory of claimtag against what a user would otherwise run.

Measured in one run, on the same deterministic synthetic dump (corpus
sentences recombined into posts with a fixed seed):

* floor: ``spacy.blank("en")`` tokenizer + ``sentencizer`` (what spaCy cannot go below);
* naive: the loop a user might write: per post ``nlp(text)``, per sentence
  ``predict_proba([sentence])``, ``csv.writer`` per row;
* sm architecture: spaCy's en_core_web_sm design (tok2vec + tagger + parser +
  ner, ``spacy init config -p tagger,parser,ner -o efficiency``), initialized
  with random weights, which do not change its speed;
* claimtag: ``claimtag label`` end to end as a subprocess, ``--jobs 1`` and ``--jobs 2``;
* memory: peak RSS of ``claimtag label --jobs 1`` at N and 10×N sentences.

The slow baselines run on a sample of the dump and are reported as rates.
"""
from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .corpus import load_split


def synthetic_posts(n_sentences: int, seed: int = 7) -> list[dict]:
    """Posts of 1-8 corpus sentences, deterministic for a given seed."""
    sentences = [r["text"] for r in load_split("train")] + [r["text"] for r in load_split("test")]
    rng = random.Random(seed)
    posts = []
    made = 0
    while made < n_sentences:
        k = min(rng.randint(1, 8), n_sentences - made)
        chosen = [sentences[rng.randrange(len(sentences))] for _ in range(k)]
        separator = rng.choice([" ", " ", "\n", "\n\n"])
        posts.append({"id": f"p{len(posts)}", "thread": f"t{len(posts) // 20}", "author": f"u{rng.randrange(500)}",
                      "text": separator.join(chosen)})
        made += k
    return posts


def write_jsonl(posts: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for post in posts:
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")


def count_words(texts) -> int:
    return sum(len(t.split()) for t in texts)


def rate(words: int, sentences: int, seconds: float) -> dict:
    return {"seconds": round(seconds, 3), "words": words, "sentences": sentences,
            "words_per_s": round(words / seconds, 1), "sentences_per_s": round(sentences / seconds, 1)}


def bench_floor(texts: list[str]) -> dict:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    start = time.perf_counter()
    sentences = sum(len(list(doc.sents)) for doc in nlp.pipe(texts, batch_size=256))
    return rate(count_words(texts), sentences, time.perf_counter() - start)


def bench_naive(texts: list[str], nlp) -> dict:
    import csv
    import io

    from .classify import masked_sentences

    classifier = nlp.get_pipe("claimtag_classifier")
    estimator = classifier.estimator
    sink = io.StringIO()
    writer = csv.writer(sink)
    sentences = 0
    start = time.perf_counter()
    with nlp.select_pipes(disable=["claimtag_classifier"]):
        for text in texts:
            doc = nlp(text)
            for sent, s, e, masked in masked_sentences(doc):
                label = estimator.predict_proba([masked])
                writer.writerow([s, e, sent.text, label.tolist()])
                sentences += 1
    return rate(count_words(texts), sentences, time.perf_counter() - start)


def bench_sm_architecture(texts: list[str], n_sentences: int) -> dict:
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.training import Example

    config = init_config(lang="en", pipeline=["tagger", "parser", "ner"], optimize="efficiency")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    words = ["Mice", "regrew", "fur", "after", "minoxidil", "."]
    example = Example.from_dict(nlp.make_doc(" ".join(words)), {
        "words": words, "tags": ["NNS", "VBD", "NN", "IN", "NN", "."], "heads": [1, 1, 1, 1, 3, 1],
        "deps": ["nsubj", "ROOT", "dobj", "prep", "pobj", "punct"], "entities": ["U-SPECIES", "O", "O", "O", "U-TREATMENT", "O"],
    })
    nlp.initialize(lambda: [example])
    start = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=256):
        pass
    # an untrained parser's sentence splits are noise: count the dump's sentences
    return rate(count_words(texts), n_sentences, time.perf_counter() - start)


def run_label(path: Path, out: Path, jobs: int) -> dict:
    """``claimtag label`` as a subprocess; returns rate and the peak RSS of its processes."""
    script = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:])\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'seconds': dt, 'rc': p.returncode, 'peak_rss_kb': rss}))\n"
    )
    cmd = [sys.executable, "-c", script, sys.executable, "-m", "pipeline.cli", "label", str(path), "--out", str(out),
           "--jobs", str(jobs), "--quiet", "--force"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if measured["rc"] not in (0, 3):
        raise RuntimeError(f"claimtag label failed: {result.stderr}")
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(iter(manifest["inputs"].values()))
    return {**measured, "sentences": entry["sentences_written"]}


def run_benchmark(n_sentences: int = 200_000, sample: int = 5_000, memory_sentences: int | None = None,
                  log=print) -> dict:
    from . import load

    memory_n = memory_sentences or max(n_sentences // 10, 1000)
    posts = synthetic_posts(n_sentences)
    texts = [p["text"] for p in posts]
    words = count_words(texts)
    sample_posts = synthetic_posts(sample, seed=11)
    sample_texts = [p["text"] for p in sample_posts]
    results: dict = {"sentences": n_sentences, "words": words, "posts": len(posts), "sample_sentences": sample,
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}
    with tempfile.TemporaryDirectory(prefix="claimtag-bench-") as tmp:
        tmp = Path(tmp)
        dump = tmp / "dump.jsonl"
        write_jsonl(posts, dump)
        log(f"synthetic dump: {len(posts):,} posts, {n_sentences:,} sentences, {words:,} words")
        results["floor"] = bench_floor(texts)
        log(f"floor (blank tokenizer + sentencizer): {results['floor']['words_per_s']:,.0f} words/s")
        nlp = load()
        results["naive"] = bench_naive(sample_texts, nlp)
        log(f"naive loop (sample): {results['naive']['words_per_s']:,.0f} words/s")
        results["sm_architecture"] = bench_sm_architecture(sample_texts, sample)
        log(f"sm architecture (sample): {results['sm_architecture']['words_per_s']:,.0f} words/s")
        for jobs in (1, 2):
            measured = run_label(dump, tmp / f"out{jobs}", jobs)
            results[f"claimtag_jobs{jobs}"] = {**rate(words, measured["sentences"], measured["seconds"]),
                                               "peak_rss_mb": round(measured["peak_rss_kb"] / 1024, 1)}
            log(f"claimtag label --jobs {jobs}: {results[f'claimtag_jobs{jobs}']['words_per_s']:,.0f} words/s, "
                f"peak RSS {results[f'claimtag_jobs{jobs}']['peak_rss_mb']} MB")
        same = (tmp / "out1" / "dump.jsonl.labeled.csv").read_bytes() == (tmp / "out2" / "dump.jsonl.labeled.csv").read_bytes()
        results["jobs_outputs_identical"] = same
        memory = {}
        for n in (memory_n, memory_n * 10):
            path = tmp / f"mem{n}.jsonl"
            write_jsonl(synthetic_posts(n, seed=3), path)
            measured = run_label(path, tmp / f"mem{n}", 1)
            memory[str(n)] = round(measured["peak_rss_kb"] / 1024, 1)
            log(f"peak RSS at {n:,} sentences (--jobs 1): {memory[str(n)]} MB")
        results["memory_peak_rss_mb"] = memory
    c1 = results["claimtag_jobs1"]["words_per_s"]
    c2 = results["claimtag_jobs2"]["words_per_s"]
    best = max(c1, c2)
    small, large = memory[str(memory_n)], memory[str(memory_n * 10)]
    results["ratios"] = {
        "claimtag_over_naive": round(best / results["naive"]["words_per_s"], 2),
        "claimtag_over_sm_architecture": round(best / results["sm_architecture"]["words_per_s"], 2),
        "floor_over_claimtag": round(results["floor"]["words_per_s"] / best, 2),
        "jobs2_over_jobs1": round(c2 / c1, 2),
        "memory_growth_10x": round(large / small - 1, 3),
    }
    return results


def format_table(results: dict) -> str:
    rows = [("floor: blank tokenizer + sentencizer", results["floor"]),
            ("naive loop", results["naive"]),
            ("en_core_web_sm architecture", results["sm_architecture"]),
            ("claimtag label --jobs 1", results["claimtag_jobs1"]),
            ("claimtag label --jobs 2", results["claimtag_jobs2"])]
    lines = [f"{'pipeline':<38} {'words/s':>12} {'sentences/s':>12} {'peak RSS MB':>12}"]
    for name, r in rows:
        lines.append(f"{name:<38} {r['words_per_s']:>12,.0f} {r['sentences_per_s']:>12,.0f} "
                     f"{str(r.get('peak_rss_mb', '')):>12}")
    lines.append("")
    for key, value in results["ratios"].items():
        lines.append(f"{key}: {value}")
    lines.append(f"memory peak RSS (MB) by sentences: {results['memory_peak_rss_mb']}")
    lines.append(f"--jobs 2 output identical to --jobs 1: {results['jobs_outputs_identical']}")
    return "\n".join(lines)
