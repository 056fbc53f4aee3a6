"""A user's mistake in one or two lines: what is wrong, then what to do.

``sparktriage`` prints what :func:`explain` returns instead of a traceback for
the mistakes people make (a wrong flag, an unreachable broker or database, a
bad URL, a missing, unreadable, empty or binary file, bad TOML); anything else
is a bug and says so in two lines, pointing at ``--debug`` for the traceback.
"""

from __future__ import annotations

from sparktriage.errors import BadInput, ConfigError

DEBUG_HINT = "run it again with --debug for the traceback"


def explain(exc: BaseException, prog: str) -> tuple[list[str], int]:
    """The lines to print on stderr and the exit status for ``exc`` raised by command ``prog``."""
    if isinstance(exc, ConfigError):
        if len(exc.problems) == 1:
            lines = [f"{prog}: {exc.problems[0]}"]
        else:  # every problem of a configuration at once (the settings' promise)
            lines = [f"{prog}: refusing to start:"] + [f"  {p}" for p in exc.problems]
        return lines + ([exc.hint] if exc.hint else []), 2
    if isinstance(exc, BadInput):
        return [f"{prog}: {exc.detail or exc.reason}"], 2
    if isinstance(exc, OSError) and exc.filename is not None:
        return [f"{prog}: cannot read {exc.filename}: {exc.strerror or exc}"], 2
    kafka = _kafka_problem(exc)
    if kafka is not None:
        return [f"{prog}: the Kafka broker did not answer: {kafka}",
                "check --bootstrap / SPARKTRIAGE_BOOTSTRAP and that it is a Kafka broker"], 2
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return [f"{prog}: unexpected {type(exc).__name__}{': ' + first if first else ''}", DEBUG_HINT], 1


def _kafka_problem(exc: BaseException) -> str | None:
    """A Kafka client's error (kafka-python or aiokafka) in words, else None."""
    module = type(exc).__module__ or ""
    if module.startswith(("kafka.", "aiokafka.")):
        return str(exc) or type(exc).__name__
    return None
