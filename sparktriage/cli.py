"""The ``sparktriage`` command: parse, call the library, print.

Each command is one handler registered with ``@command(name, help, example,
args=[arg(...)])``; the handler resolves its inputs, calls one library
function and prints. Library modules are imported inside the handlers so that ``--help``
stays fast and a command only loads what it uses.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from collections.abc import Callable, Sequence
from typing import Any

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings, load_settings

#: Flags shared by every command, mapped onto Settings fields.
_GLOBAL_FLAGS = {
    "bootstrap": "Kafka bootstrap servers, host:port[,host:port] (SPARKTRIAGE_BOOTSTRAP)",
    "db": "store URL, SQLAlchemy form: sqlite:///path.db or postgresql+psycopg://... (SPARKTRIAGE_DB)",
    "rules_dir": "directory of extra YAML rule packs extending the built-in one (SPARKTRIAGE_RULES_DIR)",
    "model": "model directory models/<name>/<version> (default: the shipped model) (SPARKTRIAGE_MODEL)",
}

Handler = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    example: str
    args: tuple[tuple[tuple[Any, ...], dict[str, Any]], ...]
    run: Handler


_COMMANDS: dict[str, _Command] = {}


def arg(*flags: Any, **options: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One ``add_argument`` call, declared next to the command that uses it."""
    return flags, options


def command(name: str, help: str, example: str, args: Sequence[Any] = ()) -> Callable[[Handler], Handler]:
    """Register a sub-command; its help ends with ``example``."""

    def register(run: Handler) -> Handler:
        _COMMANDS[name] = _Command(name, help, example, tuple(args), run)
        return run

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparktriage",
        description="Why did my Spark job fail? Root causes of Spark failures from driver and executor logs.",
    )
    parser.add_argument("--config", help="TOML settings file (SPARKTRIAGE_CONFIG)")
    for name, help_ in _GLOBAL_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=help_)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in _COMMANDS.values():
        p = sub.add_parser(
            cmd.name,
            help=cmd.help,
            description=f"{cmd.help}\n\nexample:\n  {cmd.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for flags, options in cmd.args:
            p.add_argument(*flags, **options)
    return parser


def _settings_from(args: argparse.Namespace) -> Settings:
    flags = {name: getattr(args, name, None) for name in _GLOBAL_FLAGS}
    # Command flags whose dest is a Settings field (e.g. --port -> broker_port via dest) override too.
    flags.update({k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__ and k not in flags})
    return load_settings(flags, config_file=args.config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings_from(args)
        return _COMMANDS[args.command].run(args, settings)
    except ConfigError as exc:
        print("sparktriage: refusing to start:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# --------------------------------------------------------------------------
# Commands. Keep each handler to: resolve inputs, call the library, print.
# --------------------------------------------------------------------------

# Each command: @command(name, help, example, args=[arg(...)]) on a handler
# that resolves its inputs, calls one library function and prints.


@command(
    "broker",
    "run the embedded Kafka-compatible broker (Tansu) on 127.0.0.1, memory storage",
    "sparktriage broker --port 9092",
    args=[arg("--port", dest="broker_port", type=int, help="port on 127.0.0.1 (default 9092)")],
)
def _broker(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.broker import Broker

    broker = Broker(settings, quiet=False).start()
    print(f"broker listening on {broker.bootstrap} (memory storage; Ctrl-C stops it)", flush=True)
    try:
        assert broker.process is not None
        return broker.process.wait()
    finally:
        broker.stop()


@command(
    "classify",
    "diagnose one application's logs: files (.gz too), a directory of its container logs, or stdin",
    "sparktriage classify logs/application_1700000000000_0042/",
    args=[
        arg("paths", nargs="*", metavar="PATH", help="log files or directories; - for stdin"),
        arg("--json", action="store_true", help="print the diagnosis as one JSON object"),
        arg("--jsonl", metavar="FILE", help='read {"id","text"} lines from FILE (- for stdin), write one JSON line each'),
        arg("--app-id", help="application id to report (default: from container ids in the paths)"),
    ],
)
def _classify(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from classifiers.core import load_classifier
    from sparktriage import classify

    classifier = load_classifier(settings)
    if args.jsonl:
        source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")
        with source:
            _, rejected = classify.classify_jsonl(classifier, source, sys.stdout)
        return 1 if rejected else 0
    try:
        diagnosis = classify.classify_paths(classifier, args.paths or ["-"], args.app_id)
    except FileNotFoundError as exc:
        print(f"sparktriage classify: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(diagnosis.to_dict(), indent=2) if args.json else classify.render(diagnosis))
    return 0


@command(
    "evaluate",
    "measure the classifier on a labelled JSON-lines set ({id, text, label}): precision, recall, F1, confusion",
    "sparktriage evaluate --data ../shared/data/dev_real.jsonl",
    args=[arg("--data", metavar="FILE.jsonl", help="labelled set, one JSON object a line"),
          arg("--from-store", action="store_true", help="measure against every human correction in the store"),
          arg("--mode", choices=["rules", "model", "combined"], default="combined",
              help="rules alone, the model alone, or both as the worker runs them (default)")],
)
def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from classifiers.core import load_classifier, only
    from sparktriage.errors import BadInput
    from sparktriage.evaluate import evaluate, evaluate_corrections, report

    if bool(args.data) == args.from_store:
        print("sparktriage evaluate: give --data FILE.jsonl or --from-store", file=sys.stderr)
        return 2
    try:
        if args.from_store:
            from sparktriage.store import open_store

            result = evaluate_corrections(only(load_classifier(settings), args.mode), open_store(settings.db).engine)
        else:
            result = evaluate(only(load_classifier(settings), args.mode), args.data)
    except (BadInput, OSError) as exc:
        print(f"sparktriage evaluate: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    return 0


@command(
    "rules",
    "work with rule packs: `lint [PATH]` reports every problem with file and line",
    "sparktriage rules lint ./my-rules/",
    args=[
        arg("action", choices=["lint"], help="what to do"),
        arg("path", nargs="?", help="an extra pack file or directory (default: the configured rules_dir)"),
        arg("--normal", action="append", default=[], metavar="LOG",
            help="normal log file(s): fail patterns whose literal is common in them"),
    ],
)
def _rules(args: argparse.Namespace, settings: Settings) -> int:
    from rules.lint import lint

    problems = lint(args.path or settings.rules_dir, args.normal)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "rule packs OK")
    return 1 if problems else 0


_WEBHOOK_ARGS = [
    arg("--webhook-url", dest="webhook_url", help="receiver of every diagnosis (routes: TOML webhook_routes)"),
    arg("--webhook-secret", dest="webhook_secret",
        help="HMAC secret for the signature (prefer SPARKTRIAGE_WEBHOOK_SECRET: flags show in ps)"),
]


@command(
    "deliver",
    "send the outbox's pending webhook deliveries (retries, backoff, dead letters) without a worker",
    "sparktriage --db postgresql+psycopg://triage@db/triage deliver --once",
    args=[arg("--once", action="store_true", help="one round of due deliveries, then exit"), *_WEBHOOK_ARGS],
)
def _deliver(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import signal

    from sparktriage.dispatcher import Dispatcher
    from sparktriage.store import open_store

    dispatcher = Dispatcher(open_store(settings.db), settings)
    if args.once:
        counts = asyncio.run(dispatcher.run_once())
        print(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing due")
        return 0

    async def forever() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await dispatcher.run(stop)

    print(f"delivering from {settings.db} (Ctrl-C stops)", flush=True)
    asyncio.run(forever())
    return 0


@command(
    "worker",
    "run the stream worker: consume spark-logs, diagnose failed applications, write store and spark-diagnoses",
    "sparktriage --bootstrap kafka-1:9092 --db postgresql+psycopg://triage@db/triage worker",
    args=[
        arg("--data-dir", dest="data_dir", help="local state folder (default var)"),
        arg("--partitions", dest="partitions", type=int, help="partitions of topics it creates (default 8)"),
        *_WEBHOOK_ARGS,
    ],
)
def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.app import run

    run(settings)
    return 0


@command(
    "replay",
    "produce one application's log files (or a directory of its container logs) into spark-logs, then app_end",
    "sparktriage replay sparktriage/samples/yarn-memory-kill --team ads --status FAILED",
    args=[
        arg("paths", nargs="+", metavar="PATH", help="log files, .gz, yarn logs dumps or a directory"),
        arg("--app-id", help="application id (default: metadata.json or the YARN container ids)"),
        arg("--team"), arg("--user"), arg("--queue"),
        arg("--status", choices=["FAILED", "KILLED", "SUCCEEDED"], help="final status sent with app_end"),
    ],
)
def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.replay import replay

    overrides = {"team": args.team, "user": args.user, "queue": args.queue, "status": args.status}
    app_id, sent = replay(settings, args.paths, args.app_id, overrides)
    print(f"sent {sent} records of {app_id} to {settings.input_topic} on {settings.bootstrap}")
    return 0


@command(
    "demo",
    "embedded broker + worker + replay of the sample failed applications; prints their diagnoses",
    "sparktriage demo",
    args=[arg("--no-wait", action="store_true", help="exit once the samples are diagnosed"), *_WEBHOOK_ARGS],
)
def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.demo import run_demo, sample_dirs

    done = run_demo(settings, keep_running=not args.no_wait)
    return 0 if done == len(sample_dirs()) else 1


@command(
    "dashboard",
    "the Streamlit dashboards over the store: overview, teams, infra, explorer, quality",
    "sparktriage --db sqlite:///var/seeded.db dashboard --port 8501",
    args=[arg("--port", dest="dashboard_port", type=int, help="port on 127.0.0.1 (default 8501)")],
)
def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from dashboard import streamlit_command

    print(f"dashboard on http://127.0.0.1:{settings.dashboard_port}/ (store {settings.db}; Ctrl-C stops it)", flush=True)
    command = streamlit_command(settings)
    os.execv(command[0], command)  # become Streamlit: a signal to this process reaches it, no orphan is left


@command(
    "train",
    "train the model for what the rules miss, from the generated corpus (+ human corrections); writes its card",
    "sparktriage train --out models/textcat/2 --from-store",
    args=[
        arg("--out", default="models/textcat/1", help="model folder (default models/textcat/1)"),
        arg("--from-store", action="store_true", help="add the store's human corrections as training data"),
        arg("--noise", action="append", default=[], metavar="LOG",
            help="logs of healthy applications: their WARN/ERROR lines are taught as no-cause noise"),
    ],
)
def _train(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from sparktriage.classify import read_log
    from sparktriage.train import train_model

    corrections = []
    if args.from_store:
        from sparktriage.evaluate import corrections as stored
        from sparktriage.store import open_store

        for _, events, label in stored(open_store(settings.db).engine):
            corrections += [(e.text, label) for e in events if e.exc_class]
    noise = [line for path in args.noise for line in read_log(Path(path)).splitlines()
             if " WARN " in line or " ERROR " in line]
    metrics = train_model(settings, Path(args.out), corrections=corrections, noise=noise)
    print(f"{metrics['version']} in {args.out}: held-out accuracy {metrics['heldout_accuracy']:.3f}, "
          f"threshold {metrics['threshold']:.3f} (precision {metrics['precision_at_threshold']:.3f}, "
          f"coverage {metrics['coverage_at_threshold']:.3f}), ECE {metrics['expected_calibration_error']:.3f}")
    return 0


@command(
    "unknowns",
    "group what nothing classifies into templates with counts and examples: the next rules to write",
    "sparktriage unknowns --data failures.jsonl",
    args=[arg("--data", metavar="FILE.jsonl", help='{"id","text"} lines to classify (default: the store)'),
          arg("--limit", type=int, default=20, help="templates to print (default 20)")],
)
def _unknowns(args: argparse.Namespace, settings: Settings) -> int:
    from classifiers.core import load_classifier
    from sparktriage import unknowns

    if args.data:
        with open(args.data, encoding="utf-8") as fh:
            templates = unknowns.from_jsonl(load_classifier(settings), fh)
    else:
        from sparktriage.store import open_store

        templates = unknowns.from_store(open_store(settings.db).engine)
    print(unknowns.render(templates, args.limit))
    return 0


def _day(text: str) -> datetime:
    """A --since/--until value: an ISO date or date-time, read as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@command(
    "relabel",
    "re-diagnose stored history with the current rules and model; --dry-run shows the old -> new matrix",
    "sparktriage relabel --since 2026-11-01 --where-rule hdfs-denied --dry-run",
    args=[
        arg("--since", type=_day, help="applications that ended on or after (ISO date)"),
        arg("--until", type=_day, help="applications that ended before (ISO date)"),
        arg("--team"), arg("--category", help="current category (or its top level)"), arg("--app", help="one app id"),
        arg("--where-rule", metavar="RULE_ID", help="only diagnoses this rule decided"),
        arg("--dry-run", action="store_true", help="print the change, write nothing"),
        arg("--notify", action="store_true", help="re-send webhooks and spark-diagnoses records of changed ones"),
        arg("--batch", type=int, default=1000, help="applications per transaction (default 1000)"),
    ],
)
def _relabel(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from classifiers.core import load_classifier
    from sparktriage.relabel import Filters, relabel, render
    from sparktriage.store import open_store

    filters = Filters(args.since, args.until, args.team, args.category, args.app, args.where_rule)
    notify = None
    if args.notify and not args.dry_run:
        from sparktriage.topics import publisher

        notify = publisher(settings)
    with tqdm(unit=" apps", file=sys.stderr, disable=None) as bar:
        result = relabel(open_store(settings.db), load_classifier(settings), filters, dry_run=args.dry_run,
                         settings=settings if args.notify else None, notify=notify, progress=bar.update,
                         batch=args.batch)
    print(render(result, args.dry_run))
    return 0


@command(
    "label",
    "record a human correction of an application's root cause; relabel never overrides it",
    "sparktriage label application_1700000000000_0042 input_missing --note 'upstream partition was late'",
    args=[
        arg("app_id"), arg("category", help="a taxonomy id"), arg("--attempt", type=int, default=1),
        arg("--note", help="why"), arg("--by", help="who (default: the login name)"),
    ],
)
def _label(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from sparktriage.errors import BadInput
    from sparktriage.store import open_store

    try:
        human = open_store(settings.db).label(args.app_id, args.attempt, args.category, note=args.note,
                                              author=args.by or getpass.getuser())
    except BadInput as exc:
        print(f"sparktriage label: {exc.detail}", file=sys.stderr)
        return 2
    print(f"{args.app_id} #{args.attempt}: {human.category} (was {human.hint}), recorded")
    return 0


@command(
    "seed",
    "write a realistic diagnosis history into the store (teams, rhythms, an incident, a rule upgrade)",
    "sparktriage --db sqlite:///var/seeded.db seed --days 90 --apps-per-day 200",
    args=[arg("--days", type=int, default=90), arg("--apps-per-day", type=int, default=200),
          arg("--seed", type=int, default=0, help="random seed (same seed, same history)")],
)
def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.seed import seed_store

    counts = seed_store(settings.db, args.days, args.apps_per_day, seed=args.seed)
    print(", ".join(f"{n:,} {table}" for table, n in counts.items() if n), f"in {settings.db}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
