"""The reader of stdout went away (``... | head -3``): end the way well-behaved CLIs do.

A closed pipe is normal in a shell, not an error: Python ignores SIGPIPE, so a
write raises ``BrokenPipeError`` instead, and a command that lets it through
prints a traceback. Every command-line entry point (``sparktriage``, the
corpus tool) catches it and returns :func:`reader_gone`, and ends through
:func:`flushed`: what is still buffered when the command returns would meet
the closed pipe in Python's own exit, which prints "Exception ignored" and
exits 120.
"""

from __future__ import annotations

import os
import sys

SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a shell reports for a process SIGPIPE ended


def reader_gone() -> int:
    """Point stdout at /dev/null, so that Python's flush at exit meets no second
    broken pipe (and prints nothing), and return the status of a process ended
    by SIGPIPE, as ``cat``, ``grep`` and friends end."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return SIGPIPE_STATUS


def flushed(status: int) -> int:
    """``status``, once stdout's buffer is written; a reader gone by then: :func:`reader_gone`."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return reader_gone()
    return status

