"""Turn the message formats of ``signatures.py`` and the rule packs' examples into training texts.

Why generated: the model must learn the *messages*, not the ids, hosts and
sizes around them, and it sees exception events as the worker assembles
them. So every format is rendered the way Spark, YARN and PySpark print it
(a log4j header, the exception line, frames, ``Caused by`` chains, Python
tracebacks, the ``Py4JJavaError`` and ``User class threw exception``
wrappers), with its placeholders filled by random but plausible values,
sometimes truncated, and then passed through the same ``extract_events`` as
real logs. A fixed seed makes the corpus, and so the model card's figures,
reproducible.

Labels are taxonomy ids; ``NONE`` marks texts with no root cause in them
(wrappers, benign WARN/ERROR noise), which the model must learn to ignore.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterator, Sequence

from classifiers.corpus.signatures import HEALTHY, NO_CAUSE, SIGNATURES
from logtext.events import extract_events
from logtext.lastlines import TAIL_LINES
from logtext.signals import Signals
from rules.engine import RuleEngine
from rules.loader import Rule

NONE = "_none"
#: One signature in this many is also rendered at the end of healthy lines, as a log's last lines.
TAIL_EVERY = 4
#: Windows of healthy lines taught as no cause.
TAIL_NONE = 150
_WORDS = ("events", "orders", "clicks", "users", "sessions", "payments", "features", "impressions", "ledger")
_PKGS = ("com.acme.etl", "org.example.jobs", "io.shop.pipeline", "net.data.batch")
_FRAMES = (
    "org.apache.spark.scheduler.Task.run(Task.scala:141)",
    "org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)",
    "org.apache.spark.rdd.RDD.computeOrReadCheckpoint(RDD.scala:367)",
    "org.apache.spark.sql.execution.SparkPlan.execute(SparkPlan.scala:195)",
    "java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1149)",
    "java.lang.Thread.run(Thread.java:750)",
)


def _fillers(rng: random.Random) -> dict[str, Callable[[], str]]:
    word = lambda: rng.choice(_WORDS)  # noqa: E731
    return {
        "n": lambda: str(rng.randint(1, 9999)), "big": lambda: str(rng.randint(10**6, 10**10)),
        "col": lambda: rng.choice(("user_id", "ts", "amount", "country", "event_type", "sku", "price")),
        "host": lambda: f"{rng.choice(('node', 'ip-10-0', 'worker', 'dn'))}-{rng.randint(1, 250)}.{rng.choice(('ec2.internal', 'dc1.corp', 'cluster.local'))}",
        "path": lambda: f"/data/{word()}/dt=2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}/part-{rng.randint(0, 999):05d}.parquet",
        "uri": lambda: f"{rng.choice(('s3a', 'hdfs', 'gs', 'abfss'))}://{word()}-{rng.choice(('raw', 'lake', 'prod'))}/{word()}/dt=2024-03-{rng.randint(10, 28)}",
        "exec": lambda: str(rng.randint(1, 400)), "task": lambda: f"{rng.randint(0, 900)}.{rng.randint(0, 3)}",
        "cls": lambda: f"{rng.choice(_PKGS)}.{rng.choice(('Loader', 'Enricher', 'Joiner', 'Writer'))}",
        "user": lambda: rng.choice(("etl", "svc_ads", "analytics", "bob", "ml_batch")),
        "db": lambda: rng.choice(("prod", "staging", "analytics", "raw")), "table": lambda: word(),
        "size": lambda: f"{rng.randint(1, 64)}.{rng.randint(0, 9)} GB", "size2": lambda: f"{rng.randint(1, 64)} GB",
        "secs": lambda: str(rng.choice((30, 60, 120, 300, 600, 3600))), "ms": lambda: str(rng.randint(100, 120_000)),
        "tid": lambda: str(rng.randint(1, 99_999)), "stage": lambda: f"{rng.randint(0, 80)}.{rng.randint(0, 2)}",
        "reqid": lambda: "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
        "ip": lambda: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "clsfile": lambda: f"{rng.choice(('Loader', 'Job', 'Main', 'Pipeline'))}.scala",
        "app": lambda: f"application_{rng.randint(1_600_000_000_000, 1_800_000_000_000)}_{rng.randint(1, 9999):04d}",
        "cid": lambda: f"container_e{rng.randint(1, 90):02d}_{rng.randint(1_600_000_000_000, 1_800_000_000_000)}_{rng.randint(1, 9999):04d}_01_{rng.randint(1, 99):06d}",
        "module": lambda: rng.choice(("pandas", "numpy", "pyarrow", "sklearn", "boto3", "requests", "acme_udfs")),
        "port": lambda: str(rng.choice((7337, 8020, 9083, 9000, 7077, 443))),
        "pod": lambda: f"spark-{word()}-exec-{rng.randint(1, 90)}", "pid": lambda: str(rng.randint(100, 65000)),
        "hex": lambda: "".join(rng.choices("0123456789abcdef", k=16)), "hexch": lambda: rng.choice("0123456789abcdef"),
        "bucket": lambda: f"{word()}-{rng.choice(('raw', 'lake'))}", "pyfile": lambda: f"/opt/jobs/{word()}.py",
        "clspath": lambda: f"{rng.choice(_PKGS).replace('.', '/')}/Main",
    }


_PLACEHOLDER = re.compile(r"\{([a-z_]+?)(\d*)\}")


def _fill(template: str, fillers: dict[str, Callable[[], str]]) -> str:
    """Each ``{name}`` (or ``{name2}``, another value of the same kind) gets a fresh value."""
    return _PLACEHOLDER.sub(lambda m: fillers[m.group(1)]() if m.group(1) in fillers else m.group(0), template)


def _stamp(rng: random.Random) -> str:
    return f"24/0{rng.randint(1, 9)}/{rng.randint(10, 28)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def render(entry: str, rng: random.Random) -> str:
    """One signature entry as a log excerpt, the way a driver or executor would print it."""
    lines = entry.split("\n")
    head, rest = lines[0], lines[1:]
    root = next((line[6:] for line in rest if line.startswith("root: ")), None)
    frames = [line[8:] for line in rest if line.startswith("frames: ")]
    extra = [line for line in rest if not line.startswith(("root: ", "frames: "))]
    if head.startswith("raw: "):
        message = head[5:]
        line = message if message[:5] in ("ERROR", "WARN ", "INFO ", "FATAL") else f"ERROR {rng.choice(('ApplicationMaster', 'TaskSetManager', 'Client', 'YarnAllocator'))}: {message}"
        body = [f"{_stamp(rng)} {line}", *extra]
        body += [f"\tat {f}" for f in frames]
        return "\n".join(body)
    if head.startswith("py: "):
        exc = head[4:]
        tb = ["Traceback (most recent call last):", f'  File "/opt/jobs/{rng.choice(_WORDS)}.py", line {rng.randint(5, 400)}, in <module>',
              f"    main()", f'  File "/opt/jobs/lib.py", line {rng.randint(5, 400)}, in main', "    df.write.save(out)", exc]
        if rng.random() < 0.5:
            return "\n".join([f"{_stamp(rng)} ERROR ApplicationMaster: User application exited with status 1", *tb])
        return "\n".join(tb)
    exc_line = head
    wrapped = rng.random()
    if root is not None and root.startswith("Exception in thread"):
        first = [f"{root} {exc_line}"]
    elif root is not None:
        first = [f"{_stamp(rng)} {root}", exc_line]
    elif wrapped < 0.25:
        first = [f"{_stamp(rng)} ERROR ApplicationMaster: User class threw exception: {exc_line}"]
    elif wrapped < 0.4:
        first = [f"{_stamp(rng)} ERROR Executor: Exception in task {rng.randint(0, 99)}.0 in stage {rng.randint(0, 40)}.0 "
                 f"(TID {rng.randint(1, 9999)})", exc_line]
    else:
        first = [exc_line]
    body = first + [f"\tat {f}" for f in frames] + [f"\tat {f}" for f in rng.sample(_FRAMES, rng.randint(1, 4))]
    body += extra
    if rng.random() < 0.1:  # a truncated message, as log shippers cut long lines
        body[0] = body[0][: max(40, len(body[0]) * 2 // 3)]
    return "\n".join(body)


def _healthy(rng: random.Random, fillers: dict[str, Callable[[], str]], n: int) -> str:
    """``n`` log lines of a run going well."""
    return "\n".join(f"{_stamp(rng)} {_fill(rng.choice(HEALTHY), fillers)}" for _ in range(n))


def corpus(rules: list[Rule], *, per_entry: int = 12, seed: int = 0,
           noise: Sequence[str] = ()) -> Iterator[tuple[str, str, str]]:
    """(text, label, source) triples: each text one exception event's text as the worker assembles it.

    ``source`` names the format a text was made from, so that held-out data
    can be split by format (a model is measured on formats it never saw).
    """
    rng = random.Random(seed)
    fillers = _fillers(rng)
    engine = RuleEngine(rules, backend="re")
    signals = Signals.for_rules(engine.required_runs(), engine.fires)  # as classify will read them
    sources: list[tuple[str, str, str]] = [(cat, e, f"{cat}#{i}") for cat, entries in SIGNATURES.items()
                                           for i, e in enumerate(entries)]
    sources += [(NONE, e, f"none#{i}") for i, e in enumerate(NO_CAUSE)]
    for category, entry, source in sources:
        for _ in range(per_entry):
            for event in extract_events(render(_fill(entry, fillers), rng), app_id="corpus", signals=signals):
                yield event.text, category, source
    for n in range(TAIL_NONE):  # the last lines of a log that printed no error
        yield _healthy(rng, fillers, rng.randint(3, TAIL_LINES)), NONE, f"tail:none#{n}"
    for category, entry, source in sources[::TAIL_EVERY]:  # ... and ones that end with a cause
        lines = render(_fill(entry, fillers), rng)
        yield _healthy(rng, fillers, rng.randint(2, TAIL_LINES - 2)) + "\n" + lines, category, source
    for rule in rules:  # the rule packs' own real examples, as printed
        for i, example in enumerate(rule.match):
            for event in extract_events(example, app_id="corpus", signals=signals):
                yield event.text, rule.category.split("/")[0], f"rule:{rule.id}#{i}"
    for i, line in enumerate(noise):  # benign WARN/ERROR lines of healthy applications
        for event in extract_events(line, app_id="corpus", signals=signals):
            yield event.text, NONE, f"noise#{i}"
