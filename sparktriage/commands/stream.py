"""The stream side's commands: worker, repack, broker, replay, classify, evaluate, rules, deliver, demo.

Registered into ``sparktriage.commands`` (``sparktriage.cli`` imports this module
for that). Keep each handler to: resolve inputs, call one library function,
print. Libraries are imported inside the handlers so that ``--help`` stays fast
and a command only loads what it uses.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sparktriage.commands import arg, command
from sparktriage.errors import BadInput

if TYPE_CHECKING:  # loaded once a command's inputs are known to be there (``commands.Check``)
    from sparktriage.settings import Settings


@command(
    "broker",
    "run the embedded Kafka-compatible broker (Tansu) on 127.0.0.1, memory storage",
    "sparktriage broker --port 9092",
    args=[arg("--port", dest="broker_port", type=int, help="port on 127.0.0.1 (default 9092)")],
)
def _broker(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from sparktriage.tools.broker import Broker

    def stop(signum: int, frame: object) -> None:  # SIGTERM (kill, a supervisor) stops Tansu too, as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    broker = Broker(settings, quiet=False)
    try:  # from the start: a signal once Tansu runs must reach the stop below
        broker.start()
        print(f"broker listening on {broker.bootstrap} (memory storage; Ctrl-C stops it)", flush=True)
        assert broker.process is not None
        return broker.process.wait()
    finally:
        broker.stop()


def _classify_inputs(args: argparse.Namespace) -> None:
    """classify's inputs, opened before the settings, the rules and the model load (``commands.Check``):
    ``args.source`` for ``--jsonl``, else ``args.logs``."""
    from sparktriage.tools.logfiles import LogFiles

    if args.jsonl:
        args.source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8", errors="replace")
        return
    if not args.paths and sys.stdin.isatty():
        raise BadInput("usage", "give log files or directories to read (- reads stdin), e.g. "
                                "sparktriage classify logs/application_1700000000000_0042/")
    args.logs = LogFiles(args.paths or ["-"], event_logs=True)


@command(
    "classify",
    "diagnose one application's logs: files (.gz too), a directory of its container logs, a Spark event log, or stdin",
    "sparktriage classify logs/application_1700000000000_0042/",
    args=[
        arg("paths", nargs="*", metavar="PATH", help="log files or directories; - for stdin"),
        arg("--json", action="store_true", help="print the diagnosis as one JSON object"),
        arg("--jsonl", metavar="FILE", help='read {"id","text"} lines from FILE (- for stdin), write one JSON line each'),
        arg("--app-id", help="application id to report (default: from container ids in the paths)"),
    ],
    check=_classify_inputs,
)
def _classify(args: argparse.Namespace, settings: Settings) -> int:
    # No cyclic garbage collection while the imports, the rules and the model load and one application is read
    # and diagnosed: what they make lives until the process ends (or the command returns), and the collector only
    # walked it again, and again once back on (40-50 ms of collections on the noisy bench's log). It is back on
    # after (a caller's process goes on), with what the command made frozen out of its walks; a stream of
    # applications (--jsonl) has it back once the rules are loaded.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _classify_paused(args, settings, enabled)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _classify_paused(args: argparse.Namespace, settings: Settings, collect: bool) -> int:
    import json

    from classifiers.core import load_classifier
    from sparktriage.tools import classify

    classifier = load_classifier(settings)
    if args.jsonl:
        gc.freeze()
        if collect:
            gc.enable()
        with args.source:
            answered, rejected = classify.classify_jsonl(classifier, args.source, sys.stdout)
        if not answered and not rejected:
            raise BadInput("empty", f"{'stdin' if args.jsonl == '-' else args.jsonl} holds no JSON lines: "
                                    'nothing to classify (one {"id", "text"} object a line)')
        return 1 if rejected else 0
    logs = args.logs
    diagnosis = classify.classify_paths(classifier, logs, args.app_id)
    if logs.skipped:
        print(f"sparktriage classify: skipped {len(logs.skipped)} binary file(s), not logs: "
              f"{', '.join(logs.skipped[:3])}{' ...' if len(logs.skipped) > 3 else ''}", file=sys.stderr)
    print(json.dumps(classify.document(diagnosis), indent=2) if args.json else classify.render(diagnosis))
    return 0


def _evaluate_inputs(args: argparse.Namespace) -> None:
    """evaluate's labelled set, read before the settings and any library load (``commands.Check``; scikit-learn
    alone takes seconds to import): ``args.text``."""
    from sparktriage.tools.logfiles import read_log

    if bool(args.data) == args.from_store:
        raise BadInput("usage", "give --data FILE.jsonl or --from-store")
    args.text = read_log(Path(args.data)) if args.data else None


@command(
    "evaluate",
    "measure the classifier on a labelled JSON-lines set ({id, text, label}): precision, recall, F1, confusion",
    "sparktriage evaluate --data ../shared/data/dev_real.jsonl",
    args=[arg("--data", metavar="FILE.jsonl", help="labelled set, one JSON object a line"),
          arg("--from-store", action="store_true", help="measure against every human correction in the store"),
          arg("--mode", choices=["rules", "model", "combined", "all"], default="combined",
              help="rules alone, the model alone, or both as the worker runs them (default); "
                   "all: the three side by side per category, then combined in full")],
    check=_evaluate_inputs,
)
def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from classifiers.core import Classifier, load_classifier, only
    from sparktriage.history.evaluate import (Evaluation, evaluate, evaluate_corrections, load_labelled, report,
                                              side_by_side)

    if args.from_store:
        from sparktriage.store import open_store

        engine = open_store(settings.db).engine
    else:
        items = load_labelled(args.data, args.text)  # a bad set is said before the rules and the model load

    def run(classifier: Classifier) -> Evaluation:
        return evaluate_corrections(classifier, engine) if args.from_store else evaluate(classifier, items)

    classifier = load_classifier(settings)
    modes = ["rules", "model", "combined"] if args.mode == "all" else [args.mode]
    results = {mode: run(only(classifier, mode)) for mode in modes}
    if args.mode == "all":
        print(side_by_side(results) + "\n\ncombined, in full:")
    print(report(results[modes[-1]]))
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

    from sparktriage.delivery.dispatcher import Dispatcher
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
    # no garbage collection during the start's imports (a sixth of their CPU) until the first rebalance
    # (ingest.faststart.PromptTableManager); a start refused before it leaves the caller's collector as it was
    enabled = gc.isenabled()
    gc.disable()
    try:
        from ingest.worker import run
        from sparktriage.reach import reach_broker
        from sparktriage.store import open_store

        reach_broker(settings)  # in seconds, before the rules and the model load
        run(settings, open_store(settings.db))
    finally:
        if enabled:
            gc.enable()
    return 0


@command(
    "repack",
    "batch one-line records of spark-lines into records of one container's consecutive lines on spark-logs, "
    "for shippers that send one line per record (crash-safe: loses and doubles nothing)",
    "sparktriage --bootstrap kafka-1:9092 repack --from spark-lines",
    args=[
        arg("--from", dest="repack_topic", help="topic the shippers write, one line per record (default spark-lines)"),
        arg("--max-lines", dest="repack_max_lines", type=int, help="lines of one stream per batch (default 500)"),
        arg("--linger", dest="repack_linger", type=float,
            help="seconds a line may wait for its batch to fill (default 1)"),
    ],
)
def _repack(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import signal
    import threading

    from kafka.errors import KafkaError

    from ingest.repacker import run
    from sparktriage.reach import reach_broker

    reach_broker(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"repacking {settings.repack_topic} into {settings.input_topic} on {settings.bootstrap} (Ctrl-C stops)",
          flush=True)
    try:
        run(settings, stop)
    except KafkaError as exc:
        print(f"sparktriage repack: the broker {settings.bootstrap} cannot be used: {exc!r}", file=sys.stderr)
        print("  nothing unsent was committed: start it again, it goes on from the last commit", file=sys.stderr)
        return 2
    return 0


@command(
    "replay",
    "produce one application's log files (or a directory of its container logs) into spark-logs, then app_end",
    "sparktriage replay sparktriage/tools/samples/yarn-memory-kill --team ads --status FAILED",
    args=[
        arg("paths", nargs="+", metavar="PATH", help="log files, .gz, yarn logs dumps or a directory"),
        arg("--app-id", help="application id (default: metadata.json or the YARN container ids)"),
        arg("--team"), arg("--user"), arg("--queue"),
        arg("--status", choices=["FAILED", "KILLED", "SUCCEEDED"], help="final status sent with app_end"),
    ],
)
def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.tools.replay import replay

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
    from sparktriage.tools.demo import run_demo, sample_dirs

    done = run_demo(settings, keep_running=not args.no_wait)
    return 0 if done == len(sample_dirs()) else 1
