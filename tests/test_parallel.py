"""Parallel and distributed labeling give the same bytes as one process."""
import json

import pytest

from tests.conftest import SAMPLES


def labeled_files(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def manifest_inputs(out):
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    for entry in inputs.values():
        entry.pop("completed")
    return inputs


@pytest.fixture(scope="module")
def single_process(tmp_path_factory):
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path_factory.mktemp("jobs1")
    result = CliRunner().invoke(app, ["label", str(SAMPLES), "--out", str(out), "--jobs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_jobs_2_output_equals_jobs_1(cli, tmp_path, single_process):
    code, _, err = cli("label", SAMPLES, "--out", tmp_path, "--jobs", "2", "--quiet")
    assert code == 0, err
    assert labeled_files(tmp_path) == labeled_files(single_process)
    assert manifest_inputs(tmp_path) == manifest_inputs(single_process)


def test_small_chunks_across_workers_keep_row_order(cli, tmp_path, single_process):
    code, _, err = cli("label", SAMPLES, "--out", tmp_path, "--jobs", "2", "--chunk-posts", "3", "--quiet")
    assert code == 0, err
    assert labeled_files(tmp_path) == labeled_files(single_process)


def test_dask_engine_on_a_local_cluster_equals_the_local_engine(tmp_path, single_process):
    pytest.importorskip("dask.distributed")
    from pipeline.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["label", str(SAMPLES), "--out", str(tmp_path), "--engine", "dask",
                                      "--workers", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert labeled_files(tmp_path) == labeled_files(single_process)
    assert manifest_inputs(tmp_path) == manifest_inputs(single_process)


def test_dask_byte_ranges_of_a_large_jsonl_match_the_whole_file(tmp_path):
    pytest.importorskip("dask.distributed")
    from pipeline.dask_engine import jsonl_ranges
    from pipeline.ingest import read_records, read_records_range

    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"text": f"post {i} on fin"}) if i % 7 else "{broken" for i in range(1, 400)]
    path.write_text("\n".join(lines) + "\n")
    ranges = jsonl_ranges(str(path), partition_bytes=1000)
    assert len(ranges) > 5
    whole = list(read_records(str(path), "jsonl"))
    pieces = [r for start, end, line in ranges for r in read_records_range(str(path), start, end, line)]
    assert pieces == whole
