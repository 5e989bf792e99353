"""The shipped demonstrations replay: the observation a person saw is the one webqa shows now."""

from pathlib import Path

import pytest

from webqa import verify_citations
from webqa.trace import load_trace
from webqa.tracetools import replay

TRACES = sorted((Path(__file__).resolve().parent.parent / "demos" / "traces").glob("*.jsonl"))


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_demonstration_replays_and_cites_verbatim(path):
    trace = load_trace(path)
    assert trace.complete and trace.end["status"] == "answered"
    verdict = replay(trace)
    assert verdict.ok, verdict.report()
    assert all(check.verbatim for check in verify_citations(path))


def test_there_are_demonstrations():
    assert len(TRACES) >= 4
