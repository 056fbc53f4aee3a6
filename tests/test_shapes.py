"""Stretches identical but for their digits, taken apart once (``logtext.shapes``).

Sharing is exact only because every pattern and string test on the way from
lines to an event treats all digits alike; the first test holds each module of
that path to it (a ``[1-9]`` or a literal ``137`` added there fails it). The
others compare the shared path with taking every record apart (``extract_events``).
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import logtext.assembly
import logtext.events
import logtext.signals
import sparktriage.redact
from logtext import events as events_module
from logtext.events import extract_events
from logtext.runs import extract_runs
from logtext.shapes import KEPT_DIGITS, digit_key
from logtext.signals import DEFAULT_SIGNALS, Signals
from rules.literals import digit_blind
from tests.loggen import _TRACES
from tests.test_assembly import POOL
from tests.test_events import NOISE, RULE_SIGNALS, WHERE

TAKE_APART = (logtext.assembly, logtext.events, logtext.signals, sparktriage.redact)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, frozenset)):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("module", TAKE_APART, ids=lambda m: m.__name__)
def test_every_pattern_and_word_on_the_take_apart_path_reads_all_digits_alike(module) -> None:
    """Compiled patterns, and string constants (words, prefixes, pattern sources) of each module."""
    patterns = [v for v in vars(module).values() if isinstance(v, re.Pattern)]
    assert patterns
    assert [p.pattern for p in patterns if not digit_blind(p.pattern)] == []
    words = [s for name, v in vars(module).items() if name.isupper() or name.startswith("_")
             if not name.startswith("__") for s in _strings(v)]
    assert [w for w in words if not _blind(w) and not any(kept in w for kept in KEPT_DIGITS)] == []


def _blind(word: str) -> bool:
    """A string constant read as a pattern (pattern sources are strings too), else as words."""
    try:
        return digit_blind(word)
    except re.error:
        return not any(ch.isdigit() for ch in word)


def test_digit_blind_tells_patterns_that_read_digits() -> None:
    assert digit_blind(r"\s+at ([\w$.<>/\-]+)\(") and digit_blind(r"\.\.\. \d+ more") and digit_blind(r"[^\s:]+")
    assert digit_blind(r"[0-9a-fA-F]{8}") and digit_blind(r"[^0-9]") and digit_blind(r"(?i)killed")
    assert not digit_blind(r"exit code 137") and not digit_blind(r"exitCode: -10[34]\b")
    assert not digit_blind(r"[1-9]\d*") and not digit_blind(r"(\d)\1") and not digit_blind(r"(?:x|5)")


def test_digit_key_is_the_same_exactly_for_texts_that_differ_in_their_digits() -> None:
    assert digit_key("task 12.0 (TID 345) ü") == digit_key("task 98.7 (TID 000) ü")
    assert digit_key("task 12.0") != digit_key("task 1.20") != digit_key("task a2.0")
    assert digit_key("at py4j.Gateway(x:12)") == digit_key("at py4j.Gateway(x:34)")
    assert digit_key("at py5j.Gateway(x:12)") is None, "digits the take-apart path reads are not shared"


def test_digit_keys_are_equal_only_for_texts_equal_but_for_their_digits() -> None:
    chars = [chr(c) for c in range(32, 127)] + ["\n", "\t", "ü", "\u0663", "\u00a0"]  # U+0663: an Arabic-Indic three
    for one in chars:
        for other in chars:
            same = one == other or (one in "0123456789" and other in "0123456789")
            assert (digit_key(f"at x{one}y") == digit_key(f"at x{other}y")) == same, (one, other)


def _traces(n: int, seed: int) -> str:
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        a, b, c = rnd.randrange(10, 100), rnd.randrange(10, 100), rnd.randrange(1000, 10000)  # as many digits
        lines = [t.format(a=a, b=b, c=c) for t in _TRACES[k % len(_TRACES)]]
        if lines[0].startswith(("ERROR", "WARN")):
            lines[0] = f"24/03/12 10:{k % 60:02d}:{a % 60:02d} {lines[0]}"
        out += lines + [f"24/03/12 10:00:00 INFO Executor: Finished task {b}.0 in stage {a}.0 (TID {c})"]
    return "\n".join(out) + "\n"


def test_traces_differing_in_their_numbers_are_taken_apart_once_each_and_give_every_event(monkeypatch) -> None:
    text = _traces(60, seed=1)
    reference = [e.to_dict() for e in extract_events(text, **WHERE, signals=RULE_SIGNALS)]
    calls = []
    shape_of = events_module.shape_of
    monkeypatch.setattr(events_module, "shape_of", lambda *a: calls.append(1) or shape_of(*a))
    runs = extract_runs(text, **WHERE, signals=RULE_SIGNALS)
    assert [e.to_dict() for e in runs.events()] == reference
    assert len(runs) == len(reference) > 40, "each trace has numbers of its own: an event each"
    assert len(calls) <= len(_TRACES) + 2, "and each kind of trace is taken apart once"


def test_a_rule_that_reads_digits_is_asked_again_for_each_record() -> None:
    """An INFO line without an error word is an event only where a rule matches it: here one reading 137."""
    signals = Signals(words=("finished with",), matches=lambda text: "with 137" in text)
    lines = [f"24/03/12 10:00:0{n} INFO Runner: container 4{n} finished with 13{n}" for n in (7, 8, 7, 1, 7)]
    for order in (lines, lines[::-1]):
        text = "\n".join(order) + "\n"
        got = [e.to_dict() for e in extract_runs(text, **WHERE, signals=signals).events()]
        assert got == [e.to_dict() for e in extract_events(text, **WHERE, signals=signals)]
        assert [e["text"][-3:] for e in got] == ["137"] * 3


def _renumbered(part: str, rnd: random.Random) -> str:
    """``part`` with other digits, and now and then a letter changed (a text that must not be shared)."""
    part = re.sub(r"\d", lambda _: str(rnd.randrange(10)), part)
    letters = [m.start() for m in re.finditer(r"[a-zA-Z]", part)]
    if letters and rnd.random() < 0.3:
        at = rnd.choice(letters)
        part = part[:at] + rnd.choice("aeEX") + part[at + 1:]
    return part


@settings(max_examples=120, deadline=None)
@given(parts=st.lists(st.sampled_from(POOL + NOISE), max_size=40), repeat=st.integers(2, 4),
       seed=st.integers(0, 1000), crlf=st.booleans(), rules=st.booleans())
def test_shared_shapes_give_per_record_events_on_any_mix(parts: list[str], repeat: int, seed: int, crlf: bool,
                                                         rules: bool) -> None:
    rnd = random.Random(seed)
    text = ("\r\n" if crlf else "\n").join(_renumbered(p, rnd) for _ in range(repeat) for p in parts)
    signals = RULE_SIGNALS if rules else DEFAULT_SIGNALS
    runs = extract_runs(text, **WHERE, signals=signals)
    assert [e.to_dict() for e in runs.events()] == [e.to_dict() for e in extract_events(text, **WHERE, signals=signals)]
