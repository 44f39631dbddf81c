import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpus" / "samples"


@pytest.fixture(scope="session")
def nlp():
    import pipeline

    return pipeline.load()


@pytest.fixture(scope="session")
def entity_nlp():
    from pipeline.nlp import build_entity_pipeline

    return build_entity_pipeline(ROOT / "models" / "lexicon.jsonl")


@pytest.fixture()
def cli():
    """Run ``claimtag`` in-process; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()

    def run(*args, input=None):
        result = runner.invoke(app, [str(a) for a in args], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run
