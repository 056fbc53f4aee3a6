"""The registry of ``sparktriage`` sub-commands, apart from ``cli`` so that every
module declaring commands registers into the same table, whichever module runs as
``__main__``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sparktriage.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    example: str
    args: tuple[tuple[tuple[Any, ...], dict[str, Any]], ...]
    run: Handler


COMMANDS: dict[str, Command] = {}


def arg(*flags: Any, **options: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One ``add_argument`` call, declared next to the command that uses it."""
    return flags, options


def command(name: str, help: str, example: str, args: Sequence[Any] = ()) -> Callable[[Handler], Handler]:
    """Register a sub-command; its help ends with ``example``."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, example, tuple(args), run)
        return run

    return register
