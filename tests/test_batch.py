"""Batched records (many lines of one stream per Kafka record): folded through the fast path, they give
the worker exactly the events and the assembler state of feeding the same lines one by one."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.batch import batch_events
from ingest.endings import EndWatch
from logtext.assembly import Assembler
from logtext.events import to_event
from logtext.shapes import Shapes
from logtext.signals import DEFAULT_SIGNALS, Signals
from tests.loggen import generate_log
from tests.test_assembly import POOL
from tests.test_endings import K8S_PYTHON_FAILED, YARN_CLUSTER_FAILED
from tests.test_events import DIAGNOSTICS, NEAR_MISS, NO_HYPERSCAN, NOISE, RULE_SIGNALS, WHERE, WIDE


def events(records, signals: Signals) -> list[dict]:
    found = (to_event(r, **WHERE, signals=signals) for r in records)
    return [e.to_dict() for e in found if e is not None]


def fold(lines: list[str], cuts: list[int], signals: Signals, *, batched: bool,
         shapes: Shapes | None = None) -> tuple[list[dict], dict]:
    """The events of ``lines`` sent in records cut at ``cuts``, and the assembler's state at the end
    (through a JSON round trip after each record, as the worker checkpoints it). ``shapes``: the stretches
    the batches share (by default, one kept for this fold)."""
    asm, found = Assembler(max_record_lines=30), []
    shapes = shapes or Shapes(signals, max_record_lines=30)
    where = (WHERE["app_id"], 1, WHERE["container_id"], WHERE["role"], WHERE["host"])
    bounds = sorted({0, len(lines), *(c for c in cuts if c <= len(lines))})
    for lo, hi in zip(bounds, bounds[1:]):
        text = "\n".join(lines[lo:hi])
        if batched:
            found += [event.to_dict() for event in batch_events(asm, text, shapes, where)]
        else:
            found += events(asm.feed([text]), signals)
        asm = Assembler.from_dict(json.loads(json.dumps(asm.to_dict())))
    state = asm.to_dict()
    return found + events(asm.flush(), signals), state


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(POOL + NOISE + DIAGNOSTICS + [NEAR_MISS] + WIDE), max_size=120),
       cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=6), hs=st.booleans(), rules=st.booleans())
def test_a_batch_gives_the_events_and_the_state_of_its_lines_fed_one_by_one(
        lines: list[str], cuts: list[int], hs: bool, rules: bool) -> None:
    signals = RULE_SIGNALS if rules else DEFAULT_SIGNALS
    with pytest.MonkeyPatch.context() as mp:
        if not hs:
            mp.setattr(Signals, "hyperscan_db", NO_HYPERSCAN)
        assert fold(lines, cuts, signals, batched=True) == fold(lines, cuts, signals, batched=False)


def test_hundred_line_records_of_a_long_log() -> None:
    lines = generate_log(5_000, 0.02, seed=7).split("\n")
    cuts = list(range(0, len(lines), 100))
    shapes = Shapes(RULE_SIGNALS, max_record_lines=30)
    batched = fold(lines, cuts, RULE_SIGNALS, batched=True, shapes=shapes)
    assert batched == fold(lines, cuts, RULE_SIGNALS, batched=False)
    assert len(batched[0]) > 50, "the log has errors to find"
    assert shapes._seen, "stretches were shared"
    again = fold(lines, cuts, RULE_SIGNALS, batched=True, shapes=shapes)  # every stretch seen before
    assert again == batched


def test_stretches_are_shared_with_a_bounded_memory() -> None:
    lines = generate_log(3_000, 0.05, seed=11).split("\n")
    cuts = list(range(0, len(lines), 50))
    shapes = Shapes(RULE_SIGNALS, max_record_lines=30, max_keys=3)
    assert fold(lines, cuts, RULE_SIGNALS, batched=True, shapes=shapes) == \
        fold(lines, cuts, RULE_SIGNALS, batched=False)
    assert 0 < len(shapes._seen) <= 3


def test_an_assembler_of_other_caps_is_not_given_the_shared_shapes() -> None:
    """Stretches cut into records at another record cap are not those of the shared shapes' cap."""
    lines = []
    for n in range(6):  # a trace of 60 frames, repeated with other numbers: longer than fold's cap of 30 lines
        lines += [f"24/03/12 10:11:1{n} INFO Executor: Running task {n}.0 in stage 2.0 (TID 1{n})",
                  f"24/03/12 10:11:1{n} ERROR Executor: Exception in task {n}.0 in stage 2.0 (TID 1{n})",
                  f"java.lang.IllegalStateException: bad state {n}"]
        lines += [f"\tat org.example.Job{k}.run(Job{k}.java:{n + 10})" for k in range(60)]
        lines += [f"24/03/12 10:11:1{n} INFO Executor: Finished task {n}.0 in stage 2.0 (TID 1{n})"]
    cuts = list(range(0, len(lines), 150))
    shapes = Shapes(RULE_SIGNALS)  # the worker's: 200 lines a record, where fold's assembler keeps 30
    assert fold(lines, cuts, RULE_SIGNALS, batched=True, shapes=shapes) == \
        fold(lines, cuts, RULE_SIGNALS, batched=False)


ENDING_LINES = [line for text in (YARN_CLUSTER_FAILED, K8S_PYTHON_FAILED) for line in text.strip("\n").split("\n")]


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(ENDING_LINES + NOISE + POOL), max_size=60),
       cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=5), role=st.sampled_from(["driver", "executor"]))
def test_a_batch_tells_the_end_as_its_lines_one_by_one(lines: list[str], cuts: list[int], role: str) -> None:
    """Only the lines with a closing word are read in a batch: the watch ends exactly as line by line."""
    one_by_one, batched = EndWatch(), EndWatch()
    for line in lines:
        one_by_one.fold(line, role)
    bounds = sorted({0, len(lines), *(c for c in cuts if c <= len(lines))})
    changed = []
    for lo, hi in zip(bounds, bounds[1:]):
        before = batched.to_dict()
        batched.fold("\n".join(lines[lo:hi]), role)
        changed.append(batched.changed == (batched.to_dict() != before))
    assert batched.to_dict() == one_by_one.to_dict()
    assert all(changed), "changed says whether the batch changed the watch"
