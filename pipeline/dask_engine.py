"""``claimtag label --engine dask``: the same labeling on a Dask cluster.

Inputs are cut into partitions: whole files, and newline-aligned byte ranges
of large uncompressed JSONL files (CSV rows may contain newlines and
forum-text threads need their earlier posts, so those stay whole). Each
worker process loads the model once and turns a partition into finished CSV
text; the client writes partitions in input order through the same
:func:`pipeline.runner.label_input` bookkeeping, so outputs and manifest are
identical to the local engine's.

Needs the optional extra: ``pip install .[dask]``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from .runner import ChunkResult, InputResult, Manifest, RunOptions, chunked, label_input

PARTITION_BYTES = 64 * 1024 * 1024

_LABELERS: dict = {}


def _labeler(model, trust_model, no_split, excel_safe):
    """One loaded pipeline per worker process and configuration."""
    key = (model, trust_model, no_split, excel_safe)
    if key not in _LABELERS:
        from . import load
        from .runner import ChunkLabeler

        _LABELERS[key] = ChunkLabeler(load(model, trust_model=trust_model), no_split=no_split,
                                      make_excel_safe=excel_safe)
    return _LABELERS[key]


def jsonl_ranges(path: str, partition_bytes: int = PARTITION_BYTES) -> list[tuple[int, int, int]]:
    """(start, end, first line number) byte ranges of ``path`` cut after newlines."""
    size = os.path.getsize(path)
    ranges = []
    start, line = 0, 1
    with open(path, "rb") as fh:
        while start < size:
            fh.seek(min(start + partition_bytes, size))
            fh.readline()
            end = min(fh.tell(), size)
            fh.seek(start)
            lines_in_range = fh.read(end - start).count(b"\n")
            ranges.append((start, end, line))
            line += lines_in_range
            start = end
    return ranges


def label_partition(path: str, fmt: str, text_column: str, byte_range, opts_tuple, chunk_posts: int) -> ChunkResult:
    """Worker task: read one partition and label it into one ChunkResult."""
    from collections import Counter

    from .ingest import read_records, read_records_range

    labeler = _labeler(*opts_tuple)
    if byte_range is None:
        records = read_records(path, fmt, text_column=text_column)
    else:
        records = read_records_range(path, *byte_range, text_column=text_column)
    merged = ChunkResult("", [], 0, 0, 0, Counter(), Counter())
    parts = []
    for chunk in chunked(records, chunk_posts):
        result = labeler(chunk)
        parts.append(result.csv_text)
        merged.errors.extend(result.errors)
        merged.records += result.records
        merged.labeled += result.labeled
        merged.sentences += result.sentences
        merged.labels.update(result.labels)
        merged.notes.update(result.notes)
    merged.csv_text = "".join(parts)
    return merged


class DaskPool:
    """Quacks like the ``pool`` argument of :func:`pipeline.runner.run_chunks` for one input."""

    def __init__(self, client, path: str, fmt: str, opts: RunOptions, partition_bytes: int):
        self.client = client
        self.path = path
        self.fmt = fmt
        self.opts = opts
        self.partition_bytes = partition_bytes

    def partitions(self) -> list:
        if (self.fmt == "jsonl" and self.path != "-" and not self.path.endswith(".gz")
                and os.path.getsize(self.path) > self.partition_bytes):
            return jsonl_ranges(self.path, self.partition_bytes)
        return [None]

    def results(self) -> Iterator[ChunkResult]:
        opts = self.opts
        opts_tuple = (opts.model, opts.trust_model, opts.no_split, opts.excel_safe)
        futures = [self.client.submit(label_partition, self.path, self.fmt, opts.text_column, part, opts_tuple,
                                      opts.chunk_posts, pure=False)
                   for part in self.partitions()]
        for future in futures:  # in input order
            yield future.result()


def run_dask(paths: list[str], names: dict[str, str], opts: RunOptions, manifest: Manifest,
             scheduler: str | None = None, workers: int = 2, quiet: bool = False,
             partition_bytes: int = PARTITION_BYTES) -> list[InputResult]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit("error: --engine dask needs dask[distributed]: pip install '.[dask]'") from None
    from .ingest import IngestFatal, detect_format

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    results = []
    try:
        for path in paths:
            if path == "-":
                raise SystemExit("error: --engine dask cannot read stdin; write it to a file first")
            fmt = opts.fmt or detect_format(path)
            pool = DaskPool(client, path, fmt, opts, partition_bytes)
            try:
                results.append(label_input(path, names[path], opts, manifest, None, pool))
            except IngestFatal as exc:
                import typer

                typer.echo(f"error: {path}: {exc}", err=True)
                results.append(InputResult(names[path], path, "failed", reason=str(exc)))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results
