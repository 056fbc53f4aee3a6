"""The ``sparktriage`` sub-commands, grouped by side: ``stream``, ``history``,
``watch``, ``api`` (and ``mistakes``, a user's mistake in words). This module is
their registry, apart from ``cli`` so that every module declaring commands
registers into the same table, whichever module runs as ``__main__``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings load after a command's inputs are checked
    from sparktriage.settings import Settings

Handler = Callable[[argparse.Namespace, "Settings"], int]
#: Resolves a command's inputs (files, stdin) before the settings and any library load: a user's
#: mistake in them (a missing file) is said in milliseconds. It may put what it opened on the namespace.
Check = Callable[[argparse.Namespace], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    example: str
    args: tuple[tuple[tuple[Any, ...], dict[str, Any]], ...]
    run: Handler
    check: Check | None = None


COMMANDS: dict[str, Command] = {}


def arg(*flags: Any, **options: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One ``add_argument`` call, declared next to the command that uses it."""
    return flags, options


def command(name: str, help: str, example: str, args: Sequence[Any] = (),
            check: Check | None = None) -> Callable[[Handler], Handler]:
    """Register a sub-command; its help ends with ``example``; ``check`` runs first (``Check``)."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, example, tuple(args), run, check)
        return run

    return register
