"""The ``claimtag`` command line: a thin layer over the pipeline modules."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Tag biomedical entities and label claim types in health-forum dumps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 every record labeled; 3 finished, but some records are listed in "
    "errors files; 2 usage error (bad option, unknown input format, missing input); "
    "1 fatal error (nothing is marked complete for the failing input); 130 interrupted."
)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def load_or_exit(model: Optional[str], trust_model: bool):
    """The pipeline for a command, or exit 1 with the loader's message (a model that cannot be used)."""
    from . import load
    from .model import ModelError

    try:
        return load(model, trust_model=trust_model)
    except ModelError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@app.command(epilog=EXIT_CODES_HELP)
def label(
    inputs: list[str] = typer.Argument(..., help="Files or directories (walked recursively); '-' reads stdin (needs --format)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory for labeled CSVs, errors files and manifest.json."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="forum-text, jsonl or csv; default: from the file name."),
    text_column: str = typer.Option("text", "--text-column", help="CSV column holding the post text."),
    no_split: bool = typer.Option(False, "--no-split", help="Treat every record as one sentence (gold sets, pre-split data)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or version (default: the current model in models/)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow a model from outside models/ (unpickling runs code)."),
    force: bool = typer.Option(False, "--force", help="Relabel inputs the manifest already lists as complete."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes; 0 = all cores."),
    engine: str = typer.Option("local", "--engine", help="local (process pool) or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (with --engine dask); default: a LocalCluster."),
    workers: int = typer.Option(2, "--workers", help="Workers of the LocalCluster started for --engine dask."),
    excel_safe: bool = typer.Option(False, "--excel-safe", help="Neutralise cells starting with = + - @ tab or CR (CSV injection)."),
    chunk_posts: int = typer.Option(200, "--chunk-posts", min=1, help="Posts per unit of work sent to a worker."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary."),
) -> None:
    """Label every sentence of every post in INPUTS and write one labeled CSV per input."""
    from .ingest import FORMATS, IngestFatal, detect_format, iter_input_files
    from .runner import EXIT_FATAL, EXIT_OK, EXIT_RECORD_ERRORS, EXIT_USAGE, Manifest, RunOptions, output_names
    from .write import remove_stale_partials

    if fmt is not None and fmt not in FORMATS:
        _err(f"error: unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
        raise typer.Exit(EXIT_USAGE)
    paths: list[str] = []
    for given in inputs:
        if given == "-":
            if fmt is None:
                _err("error: reading stdin ('-') needs --format (forum-text, jsonl or csv)")
                raise typer.Exit(EXIT_USAGE)
            paths.append("-")
            continue
        if not os.path.exists(given):
            _err(f"error: input {given} does not exist")
            raise typer.Exit(EXIT_USAGE)
        if os.path.isfile(given) and fmt is None:
            try:
                detect_format(given)
            except IngestFatal as exc:
                _err(f"error: {exc}")
                raise typer.Exit(EXIT_USAGE)
        try:
            paths.extend(iter_input_files([given]))
        except IngestFatal as exc:
            _err(f"error: {exc}")
            raise typer.Exit(EXIT_USAGE)
    if not paths:
        _err("error: no input files with a known extension (.txt, .jsonl, .csv, optionally .gz) were found")
        raise typer.Exit(EXIT_USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".claimtag-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        _err(f"error: cannot write to output directory {out}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_FATAL)

    if engine not in ("local", "dask"):
        _err("error: --engine must be local or dask")
        raise typer.Exit(EXIT_USAGE)
    jobs = jobs or (os.cpu_count() or 1)
    opts = RunOptions(out_dir=out, fmt=fmt, text_column=text_column, no_split=no_split, model=model,
                      trust_model=trust_model, force=force, jobs=jobs, excel_safe=excel_safe,
                      chunk_posts=chunk_posts)
    nlp = load_or_exit(model, trust_model)
    classifier = nlp.get_pipe("claimtag_classifier")
    remove_stale_partials(out)
    manifest = Manifest(out, classifier.version, classifier.sha256, opts.command)
    names = output_names(paths)

    if engine == "dask":
        from .dask_engine import run_dask

        results = run_dask(paths, names, opts, manifest, scheduler=scheduler, workers=workers, quiet=quiet)
    else:
        results = _run_local(paths, names, opts, manifest, nlp, quiet)
    manifest.save(finished=True)
    if not quiet:
        _print_summary(results, out)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise typer.Exit(EXIT_FATAL)
    if any(r.errors for r in results):
        raise typer.Exit(EXIT_RECORD_ERRORS)
    raise typer.Exit(EXIT_OK)


def _run_local(paths, names, opts, manifest, nlp, quiet):
    from .ingest import IngestFatal
    from .runner import ChunkLabeler, InputResult, label_input, open_pool

    labeler = ChunkLabeler(nlp, no_split=opts.no_split, make_excel_safe=opts.excel_safe) if opts.jobs <= 1 else None
    results = []
    pool = None
    progress = None
    show_progress = not quiet and sys.stderr.isatty()
    try:
        pool = open_pool(opts)
        if show_progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.fields[records]} records · {task.fields[sentences]} sentences"
                                           " · {task.fields[rate]}"),
                                TimeElapsedColumn(), console=_stderr_console(), transient=False)
            progress.start()
        for path in paths:
            name = names[path]
            callback = None
            if progress is not None:
                task = progress.add_task(name, total=None, records=0, sentences=0, rate="")
                import time

                t0 = time.perf_counter()
                counts = [0, 0]

                def report_progress(records, sentences, task=task, t0=t0, counts=counts):
                    counts[0] += records
                    counts[1] += sentences
                    dt = max(time.perf_counter() - t0, 1e-9)
                    progress.update(task, records=counts[0], sentences=counts[1],
                                    rate=f"{counts[0] / dt:,.0f} rec/s {counts[1] / dt:,.0f} sent/s")

                callback = report_progress
            try:
                result = label_input(path, name, opts, manifest, labeler, pool, callback)
            except IngestFatal as exc:
                _err(f"error: {path}: {exc}")
                result = InputResult(name, path, "failed", reason=str(exc))
            except OSError as exc:
                _err(f"error: {path}: cannot read: {exc.strerror or exc}")
                result = InputResult(name, path, "failed", reason=str(exc))
            results.append(result)
    except KeyboardInterrupt:
        if progress is not None:
            progress.stop()
        done = sum(r.status in ("complete", "skipped") for r in results)
        _err(f"\ninterrupted: {done} of {len(paths)} inputs are complete and listed in {manifest.path}; "
             "the input in progress was not written. Run the same command again to finish.")
        if pool is not None:
            pool.terminate()
        raise typer.Exit(130)
    finally:
        if progress is not None:
            progress.stop()
        if pool is not None:
            pool.close()
            pool.join()
    return results


def summary_table(results) -> str:
    """Sentences per label per input as an aligned plain-text table."""
    from .classify import LABELS

    head = ["input", "status", "records", "errors", "sentences", *LABELS]
    rows = [[r.name, r.status, str(r.records), str(r.errors), str(r.sentences),
             *[str(r.labels.get(label, 0)) for label in LABELS]] for r in results]
    widths = [max(len(x) for x in column) for column in zip(head, *rows)]

    def fmt(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    lines = [fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    return "\n".join(lines)


def _print_summary(results, out: Path) -> None:
    _err(summary_table(results))
    _err(f"outputs and manifest.json in {out}")


@app.command()
def train(
    annotations: Optional[list[Path]] = typer.Option(
        None, "--annotations", help="Files or folders of new annotations (ours, CSV, Prodigy, Label Studio, doccano)."),
    annotation_format: Optional[str] = typer.Option(None, "--annotation-format",
                                                    help="Force the annotation format instead of detecting it."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Drop invalid annotations (and say how many) instead of stopping."),
    promote: bool = typer.Option(False, "--promote", help="Make the new model current even if it is worse on the test split."),
    select: bool = typer.Option(False, "--select", help="With --annotations: choose the estimator again by cross-validation."),
    out: Optional[Path] = typer.Option(None, "--out", help="Model directory to write (default: models/, or models/<version>/ with --annotations)."),
    corpus: Path = typer.Option(None, "--corpus", help="Base annotation directory (default: corpus/annotations).", hidden=True),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print the final line."),
) -> None:
    """Train the claim classifier on corpus/annotations (test split excluded), deterministically.

    With --annotations the new annotations are validated, a fifth of them is
    held out, the rest is added to the corpus, and the new model is written to
    models/<version>/ and compared with the current one on the fixed test split
    and on the held-out fifth. It becomes current only if it is not worse on
    the test split (or with --promote).
    """
    import shutil
    import tempfile

    from .corpus import ANNOTATIONS_DIR, checksum_problems, load_split
    from .model import CURRENT_FILE, PROJECT_MODELS, ModelError, ModelFiles, resolve_model_dir
    from .train import comparison_table, compare_models
    from .train import train as run_training
    from .write import write_text_atomic

    log = (lambda *_: None) if quiet else typer.echo
    corpus_dir = corpus or ANNOTATIONS_DIR
    problems = checksum_problems(corpus_dir) if corpus is None else []
    if problems:
        for problem in problems:
            _err(problem)
        _err("corpus/annotations changed without its checksums; if intended run `make checksums`")
        raise typer.Exit(1)
    if not annotations:
        card = run_training(out or PROJECT_MODELS, annotations_dir=corpus_dir, log=log)
        if quiet:
            typer.echo(card["version"])
        return

    from .annotations import load_for_training, split_holdout
    from .nlp import build_entity_pipeline
    from .train import LEXICON_SOURCE

    tokenizer = build_entity_pipeline(LEXICON_SOURCE).tokenizer
    test_records = load_split("test", corpus_dir)
    try:
        records, problems, dropped = load_for_training(
            [str(p) for p in annotations], annotation_format, tokenizer, skip_invalid,
            reference=load_split("train", corpus_dir) + test_records)
    except Exception as exc:  # unreadable file, unknown format
        _err(f"error: {exc}")
        raise typer.Exit(2)
    if problems and not skip_invalid:
        for problem in problems:
            _err(str(problem))
        _err(f"{len(problems)} problem(s) in the annotations; fix them or pass --skip-invalid")
        raise typer.Exit(1)
    if dropped:
        _err(f"skipped {dropped} invalid annotation(s)")
    # The fixed test split stays out of training even when annotators re-label its sentences.
    test_texts = {" ".join(r["text"].split()) for r in test_records}
    leaked = [r for r in records if " ".join(r["text"].split()) in test_texts]
    if leaked:
        _err(f"left out {len(leaked)} annotation(s) whose text is in the held-out test split")
        records = [r for r in records if " ".join(r["text"].split()) not in test_texts]
    if not records:
        _err("error: no usable annotations")
        raise typer.Exit(1)
    new_train, holdout = split_holdout(records)
    current_dir = resolve_model_dir(None)
    try:
        params = None if select else ModelFiles(current_dir).read_card()["estimator"]["params"]
    except (ModelError, KeyError):
        params = None
    root = PROJECT_MODELS
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=out or root))
    try:
        card = run_training(staging, annotations_dir=corpus_dir, extra_records=new_train, log=log, params=params)
        target = (out or root) / card["version"]
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    scores = compare_models(current_dir, target, test_records, holdout)
    typer.echo(comparison_table(scores))
    better = scores["new"]["test"]["macro_f1"] >= scores["current"]["test"]["macro_f1"]
    if (better or promote) and out is None:
        write_text_atomic(root / CURRENT_FILE, card["version"] + "\n")
        why = "not worse on the test split" if better else "--promote"
        typer.echo(f"{card['version']} is now the current model ({why}); roll back with `claimtag models use VERSION`")
    elif out is None:
        typer.echo(f"kept {scores['current']['version']} as the current model: the new model is worse on the test "
                   f"split; `claimtag models use {card['version']}` or --promote to use it anyway")


models_app = typer.Typer(help="List trained model versions and choose the current one.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """Model versions in models/ with their metrics; * marks the current one."""
    from .model import PROJECT_MODELS, list_versions, resolve_model_dir

    current = resolve_model_dir(None).resolve()
    typer.echo(f"{'':2}{'version':<16}{'':<11}{'created':<22}{'train':>7}{'new':>6}{'test F1':>9}{'entity F1':>11}")
    for directory, card in list_versions(PROJECT_MODELS):
        mark = "*" if directory.resolve() == current else " "
        test = card.get("test", {})
        name = "(shipped)" if directory.resolve() == PROJECT_MODELS.resolve() else ""
        typer.echo(f"{mark:2}{card.get('version', '?'):<16}{name:<11}{card.get('created', ''):<22}"
                   f"{card.get('train_sentences', 0):>7}{card.get('extra_annotations', 0):>6}"
                   f"{test.get('macro_f1', float('nan')):>9.3f}{test.get('entities', {}).get('f1', float('nan')):>11.3f}")


@models_app.command("use")
def models_use(version: str = typer.Argument(..., help="A version from `claimtag models list`, or 'default'.")) -> None:
    """Make VERSION the model that `claimtag label` and pipeline.load() use (rollback)."""
    from .model import CURRENT_FILE, PROJECT_MODELS, list_versions
    from .write import write_text_atomic

    known = {card.get("version"): d for d, card in list_versions(PROJECT_MODELS)}
    root_card_version = next((c.get("version") for d, c in list_versions(PROJECT_MODELS)
                              if d.resolve() == PROJECT_MODELS.resolve()), None)
    if version == "default" or version == root_card_version:
        write_text_atomic(PROJECT_MODELS / CURRENT_FILE, "default\n")
        typer.echo("the shipped default model is now current")
        return
    if version not in known:
        _err(f"error: unknown model version {version!r}; see `claimtag models list`")
        raise typer.Exit(2)
    write_text_atomic(PROJECT_MODELS / CURRENT_FILE, version + "\n")
    typer.echo(f"{version} is now the current model")


@app.command()
def checksums(
    update: bool = typer.Option(False, "--update", help="Rewrite SHA256SUMS after an intentional edit."),
) -> None:
    """Check (or --update) the checksums of the annotation files in corpus/annotations."""
    from .corpus import checksum_problems, write_checksums

    if update:
        write_checksums()
        typer.echo("SHA256SUMS updated")
        return
    problems = checksum_problems()
    for problem in problems:
        _err(problem)
    if problems:
        _err("if the edit was intentional, run `claimtag checksums --update` (make checksums)")
        raise typer.Exit(1)
    typer.echo("annotation checksums OK")


@app.command()
def evaluate(
    gold: Path = typer.Argument(..., help="JSONL with text, label, entities [[start, end, TYPE]]; one sentence per line."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or version (default: current)."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Allow a model from outside models/."),
) -> None:
    """Score the model on a gold file: labels, calibration, entities, and two baselines."""
    from .evaluate import cue_word_baseline, format_full_report, label_metrics, majority_baseline
    from .corpus import read_jsonl
    from .classify import LABELS, mask_sentence, ordered_proba
    from .evaluate import entity_metrics
    from .train import annotate_unsplit

    try:
        records = read_jsonl(gold)
    except (OSError, json.JSONDecodeError) as exc:
        _err(f"error: cannot read {gold}: {exc}")
        raise typer.Exit(2)
    if not records:
        _err(f"error: {gold} has no records")
        raise typer.Exit(2)
    nlp = load_or_exit(model, trust_model)
    clf = nlp.get_pipe("claimtag_classifier")
    texts = [r["text"] for r in records]
    gold_labels = [r["label"] for r in records]
    with nlp.select_pipes(disable=["claimtag_classifier"]):
        ents = annotate_unsplit(nlp, texts)
    proba = ordered_proba(clf.estimator, [mask_sentence(t, e) for t, e in zip(texts, ents)])
    pred = [LABELS[i] for i in proba.argmax(axis=1)]
    metrics = label_metrics(gold_labels, pred, proba)
    metrics["entities"] = entity_metrics([[tuple(e) for e in r.get("entities", [])] for r in records], ents)
    train_counts = clf_card_label_counts(model)
    majority = majority_baseline(train_counts, len(records))
    baselines = {
        "majority class": label_metrics(gold_labels, majority),
        "cue-word rules": label_metrics(gold_labels, cue_word_baseline(texts)),
    }
    metrics["model_version"] = clf.version
    if as_json:
        out = {k: metrics[k] for k in ("macro_f1", "accuracy", "per_label", "confusion", "ece", "entities")}
        out["n"] = metrics["n"]
        out["model_version"] = clf.version
        out["baselines"] = {name: {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"]} for name, m in baselines.items()}
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(f"model {clf.version} on {gold}")
        typer.echo(format_full_report(metrics, baselines))


@app.command()
def bench(
    sentences: int = typer.Option(200_000, "--sentences", help="Size of the synthetic dump in sentences."),
    sample: int = typer.Option(5_000, "--sample", help="Sentences for the slow baselines (naive loop, sm architecture)."),
    memory_sentences: Optional[int] = typer.Option(None, "--memory-sentences",
                                                   help="N for the memory check at N and 10×N (default: sentences/10)."),
    out: Path = typer.Option(Path("out/bench.json"), "--out", help="Where to save the results as JSON."),
) -> None:
    """Benchmark claimtag against the spaCy floor, a naive loop and the en_core_web_sm architecture."""
    from .bench import format_table, run_benchmark
    from .write import write_text_atomic

    results = run_benchmark(sentences, sample=sample, memory_sentences=memory_sentences,
                            log=lambda m: typer.echo(m, err=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, json.dumps(results, indent=2) + "\n")
    typer.echo(format_table(results))
    typer.echo(f"saved {out}")


def clf_card_label_counts(model: Optional[str]) -> list[str]:
    """Training labels as a list (for the majority baseline), from the model card."""
    from .model import ModelFiles, resolve_model_dir

    card = ModelFiles(resolve_model_dir(model)).read_card()
    counts = card.get("train_label_counts", {})
    return [label for label, n in counts.items() for _ in range(n)]


def _register_optional_commands() -> None:
    from .report import report_command

    app.command("report")(report_command)
    try:
        from .suggest import suggest_command
    except ImportError:  # pragma: no cover - suggest is part of the package
        return
    app.command("suggest")(suggest_command)


_register_optional_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
