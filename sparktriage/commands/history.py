"""Commands over stored history and the model: relabel, label, seed, train, unknowns, retention,
dashboard.

Registered into ``sparktriage.commands`` like those of ``stream``; each handler
resolves its inputs, calls one library function and prints.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sparktriage.commands import arg, command

if TYPE_CHECKING:
    from sparktriage.settings import Settings


@command(
    "dashboard",
    "the Streamlit dashboards over the store: overview, teams, infra, explorer, quality",
    "sparktriage --db sqlite:///var/seeded.db dashboard --port 8501",
    args=[arg("--port", dest="dashboard_port", type=int, help="port on 127.0.0.1 (default 8501)")],
)
def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from dashboard import streamlit_command
    from sparktriage.reach import port_free
    from sparktriage.store import open_store

    open_store(settings.db)  # a store it cannot open is said here, not in the browser
    port_free("127.0.0.1", settings.dashboard_port, "the dashboard")
    print(f"dashboard on http://127.0.0.1:{settings.dashboard_port}/ (store {settings.db}; Ctrl-C stops it)", flush=True)
    command = streamlit_command(settings)
    os.execv(command[0], command)  # become Streamlit: a signal to this process reaches it, no orphan is left


@command(
    "train",
    "train the model for what the rules miss, from the generated and real corpora (+ human corrections); "
    "writes its card",
    "sparktriage train --out models/textcat/7 --from-store",
    args=[
        arg("--out", required=True,
            help="model folder to write, a new version (the shipped model is models/textcat/6; --model or "
                 "SPARKTRIAGE_MODEL points the worker at the new one)"),
        arg("--from-store", action="store_true",
            help="add the store's human corrections; the model is written only if it does no worse than the "
                 "one in use on the real dev split and dev_real"),
        arg("--rethreshold", metavar="MODEL_DIR",
            help="no training: the model in MODEL_DIR with its threshold chosen again on the current real dev "
                 "split, written to --out (a new version folder) only if it does no worse, as --from-store"),
        arg("--force", action="store_true",
            help="with --from-store or --rethreshold: write the model even if it does worse"),
        arg("--noise", action="append", default=[], metavar="LOG",
            help="logs of healthy applications: their WARN/ERROR lines are taught as no-cause noise"),
    ],
)
def _train(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from classifiers.model import save
    from sparktriage.errors import ConfigError
    from sparktriage.tools.logfiles import read_log
    from sparktriage.history.train import card, fit_model, rethreshold

    out = Path(args.out)
    if args.rethreshold:
        source = Path(args.rethreshold)
        if args.from_store or args.noise:
            raise ConfigError("--rethreshold keeps the model as trained: it takes no --from-store or --noise")
        if out.resolve() == source.resolve():
            raise ConfigError(f"--out {args.out} is the model being re-thresholded",
                              hint="write it to a new version folder: --out models/textcat/<next version>")
        model, metrics, text = rethreshold(settings, source, f"textcat@{out.name}")
    else:
        corrections = []
        if args.from_store:
            from sparktriage.history.evaluate import corrections as stored
            from sparktriage.history.retrain import correction_texts
            from sparktriage.store import open_store

            corrections = correction_texts(stored(open_store(settings.db).engine))
            print(f"{len(corrections)} texts from the store's human corrections", flush=True)
        noise = [line for path in args.noise for line in read_log(Path(path)).splitlines()
                 if " WARN " in line or " ERROR " in line]
        model, metrics = fit_model(settings, f"textcat@{out.name}", corrections=corrections, noise=noise)
        text = card(metrics)
    if args.from_store or args.rethreshold:
        from classifiers.core import load_classifier
        from sparktriage.history.retrain import compare, verdict

        write, lines = verdict(compare(load_classifier(settings), model), args.force)
        print("\n".join(["combined (rules + model), the model in use -> the new one:"] + lines), flush=True)
        if not write:
            return 1
    save(model, metrics, out, text)
    real = metrics.get("real_dev")
    print(f"{metrics['version']} in {args.out}: threshold {metrics['threshold']:.3f}"
          + (f"; real dev split, combined: accuracy {real['accuracy']:.3f}, abstains on "
             f"{real['abstains_on_unknown']:.1%} of the texts labelled unknown" if real else "")
          + f"; generated held-out formats: accuracy {metrics['heldout_accuracy']:.3f}, "
            f"ECE {metrics['expected_calibration_error']:.3f}")
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
    from sparktriage.history import unknowns

    if args.data:
        from pathlib import Path

        from sparktriage.errors import BadInput
        from sparktriage.tools.logfiles import read_log

        lines = read_log(Path(args.data)).splitlines()  # a bad file is said before the rules and the model load
        if not any(line.strip() for line in lines):
            raise BadInput("empty", f"{args.data} holds no JSON lines: nothing to group")
        templates = unknowns.from_jsonl(load_classifier(settings), lines)
    else:
        from sparktriage.store import open_store

        templates = unknowns.from_store(open_store(settings.db).engine)
    print(unknowns.render(templates, args.limit))
    return 0


def iso_date(text: str) -> datetime:
    """A --since/--until value: an ISO date or date-time, read as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@command(
    "relabel",
    "re-diagnose stored history with the current rules and model; --dry-run shows the old -> new matrix",
    "sparktriage relabel --since 2026-11-01 --where-rule hdfs-denied --dry-run",
    args=[
        arg("--since", type=iso_date, help="applications that ended on or after (ISO date)"),
        arg("--until", type=iso_date, help="applications that ended before (ISO date)"),
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
    from sparktriage.history.relabel import Filters, relabel, render
    from sparktriage.store import open_store

    filters = Filters(args.since, args.until, args.team, args.category, args.app, args.where_rule)
    notify = None
    store = open_store(settings.db)
    if args.notify and not args.dry_run:
        from sparktriage.reach import reach_broker
        from sparktriage.delivery.topics import publisher

        reach_broker(settings)
        notify = publisher(settings)
    with tqdm(unit=" apps", file=sys.stderr, disable=None) as bar:
        result = relabel(store, load_classifier(settings), filters, dry_run=args.dry_run,
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
    from sparktriage.history.seed import seed_store

    counts = seed_store(settings.db, args.days, args.apps_per_day, seed=args.seed)
    print(", ".join(f"{n:,} {table}" for table, n in counts.items() if n), f"in {settings.db}")
    return 0


@command(
    "retention",
    "drop raw excerpts of applications that ended more than excerpt_retention_days ago (the worker does it hourly)",
    "sparktriage --db postgresql+psycopg://triage@db/triage retention --days 30",
    args=[arg("--days", dest="excerpt_retention_days", type=int, help="keep excerpts this many days")],
)
def _retention(args: argparse.Namespace, settings: Settings) -> int:
    """For a store without a running worker, or a cron job: the same purge as the worker's timer."""
    from datetime import timedelta

    from sparktriage.errors import ConfigError
    from sparktriage.store import open_store

    days = settings.excerpt_retention_days
    if days is None:
        raise ConfigError("retention needs --days or excerpt_retention_days")
    purged = open_store(settings.db).purge_excerpts(datetime.now(UTC) - timedelta(days=days))
    print(f"purged the excerpts of {purged} exception events of applications that ended over {days} days ago")
    return 0
