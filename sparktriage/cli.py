"""The ``sparktriage`` command: the parser, the dispatch, the error policy.

Each command is one handler registered with ``@command(name, help, example,
args=[arg(...)])`` in ``sparktriage.commands``; the handler resolves its inputs,
calls one library function and prints. The handlers are grouped by side in
that package: ``stream`` (worker, repack, broker, replay, classify, evaluate, rules,
deliver, demo), ``history`` (relabel, label, seed, train, unknowns, retention,
dashboard), ``watch`` (watch), ``api`` (api, token). Here a command is parsed,
run, and a user's mistake said in one or two lines (``commands.mistakes``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from sparktriage.commands import COMMANDS
from sparktriage.commands import api, history, stream, watch  # noqa: F401 - each registers its commands
from sparktriage.commands.mistakes import explain
from sparktriage.pipes import flushed, reader_gone

if TYPE_CHECKING:  # loaded once a command's inputs are known to be there (``commands.Check``)
    from sparktriage.settings import Settings

#: Flags shared by every command, mapped onto Settings fields.
_GLOBAL_FLAGS = {
    "bootstrap": "Kafka bootstrap servers, host:port[,host:port] (SPARKTRIAGE_BOOTSTRAP)",
    "db": "store URL, SQLAlchemy form: sqlite:///path.db or postgresql+psycopg://... (SPARKTRIAGE_DB)",
    "rules_dir": "directory of extra YAML rule packs extending the built-in one (SPARKTRIAGE_RULES_DIR)",
    "model": "model directory models/<name>/<version> (default: the shipped model) (SPARKTRIAGE_MODEL)",
}

class _Parser(argparse.ArgumentParser):
    """A wrong flag or argument: two lines (what, and where the help is), not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\nsee '{self.prog} --help'\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """``--help`` ends here too: its text is flushed where a closed pipe can be caught."""
        super().exit(flushed(status), message)


def _add_global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    """The global flags, on the main parser and again on every sub-command (``sparktriage worker --db URL``,
    as git, kubectl and docker accept them); a sub-command's copies default to SUPPRESS so that
    they never overwrite a value given before the sub-command."""
    parser.add_argument("--config", default=default, help="TOML settings file (SPARKTRIAGE_CONFIG)")
    for name, help_ in _GLOBAL_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=default, help=help_)
    parser.add_argument("--wait-for-broker", dest="wait_for_broker", action="store_const", const=True,
                        default=default, help="keep trying an unreachable Kafka broker (SPARKTRIAGE_WAIT_FOR_BROKER)")
    parser.add_argument("--debug", action="store_const", const=True, default=default,
                        help="show the traceback of an error")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparktriage",
        description="Why did my Spark job fail? Root causes of Spark failures from driver and executor logs.",
    )
    _add_global_flags(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        p = sub.add_parser(
            cmd.name,
            help=cmd.help,
            description=f"{cmd.help}\n\nexample:\n  {cmd.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for flags, options in cmd.args:
            p.add_argument(*flags, **options)
        _add_global_flags(p, argparse.SUPPRESS)
    return parser


def _settings_from(args: argparse.Namespace) -> Settings:
    from sparktriage.settings import Settings, load_settings

    flags = {name: getattr(args, name, None) for name in _GLOBAL_FLAGS}
    # Command flags whose dest is a Settings field (e.g. --port -> broker_port via dest) override too.
    flags.update({k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__ and k not in flags})
    return load_settings(flags, config_file=args.config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"sparktriage {args.command}"
    cmd = COMMANDS[args.command]
    try:
        if cmd.check is not None:
            cmd.check(args)
        return flushed(cmd.run(args, _settings_from(args)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sparktriage classify app.log | head -3`: the reader had enough
        return reader_gone()
    except Exception as exc:
        if args.debug:
            raise
        lines, status = explain(exc, prog)
        print("\n".join(lines), file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
