"""The per-record gate (``ingest.gates``): the Hyperscan scan and the plain ``str.find`` path find exactly
the lines that hold one of each group's words, and the worker's batched progress reading (the gate's
lines only) folds as its lines one by one do, read through the worker's gate as it reads them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.endings import GATE_WORDS
from ingest.gates import LineGate
from ingest.stalls import PROGRESS_WORDS, Progress
from tests.test_stalls import FINISHED, LOST, REGISTERED, STARTED, STARVED, fold

GROUPS = (GATE_WORDS, PROGRESS_WORDS, ("abab", "ba"))  # the last: words that overlap and repeat in one line
PIECES = [*GATE_WORDS, *PROGRESS_WORDS, "abab", "ba", "x", " ", "ü ✓", "\r", "\ud800", "INFO noise", ""]


def reference(text: str, words: tuple[str, ...]) -> list[str]:
    return [line for line in text.split("\n") if any(word in line for word in words)]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.lists(st.sampled_from(PIECES), max_size=5).map("".join), max_size=30))
def test_both_paths_find_the_lines_holding_a_word_of_each_group(lines: list[str]) -> None:
    text = "\n".join(lines)
    expected = [reference(text, words) for words in GROUPS]
    assert LineGate(*GROUPS).lines(text) == expected
    assert LineGate(*GROUPS, use_hyperscan=False).lines(text) == expected


def test_hyperscan_is_what_the_default_gate_uses() -> None:
    """The fast path is the one under test above (hyperscan is installed where the tests run)."""
    assert LineGate(GATE_WORDS)._database is not None
    assert LineGate(GATE_WORDS, use_hyperscan=False)._database is None


PROGRESS_LINES = [STARVED, REGISTERED.format(n=1), REGISTERED.format(n=2), LOST.format(n=1), LOST.format(n=2),
                  STARTED.format(n=3), FINISHED.format(n=3), "24/03/12 10:11:40 INFO Executor: noise"]


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.sampled_from(PROGRESS_LINES), min_size=1, max_size=40), role=st.sampled_from(["driver", "executor"]))
def test_a_batch_tells_the_progress_of_its_lines_one_by_one(lines: list[str], role: str) -> None:
    one_by_one, batched = Progress(), Progress()
    for line in lines:
        fold(one_by_one, line, role, 5.0)
    fold(batched, "\n".join(lines), role, 5.0)
    assert batched == one_by_one
