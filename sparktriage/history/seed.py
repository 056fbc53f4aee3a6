"""``sparktriage seed``: a realistic diagnosis history, for the dashboards, relabel and benchmarks.

Every seeded application goes through the real pure core: its exception
events are made from the rule packs' own ``match`` examples (real message
formats), placed on the application's hosts and containers, and
``diagnose`` decides. So a seeded store behaves like a real one: relabel
after no change changes nothing, and relabel after a rule change moves
exactly the applications that rule decides.

The history has what trends need: teams with their own failure mixes, a
daily rhythm (fewer runs at night and at weekends), an infra incident
(shuffle fetch failures and lost executors on a few hosts for a day), a
rule-pack upgrade midway (before it, delegation-token failures were filed
as ``access_denied``: relabel fixes them), a share no rule names (the model
names some, the rest stay ``unknown``), and a few
human corrections. Deterministic for a given ``seed``; rows are written with
bulk inserts, so a million diagnoses take minutes, not hours.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache

import sqlalchemy as sa

from classifiers.core import Classifier, load_classifier
from logtext.events import extract_events
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent, Workflow
from sparktriage.settings import Settings
from sparktriage.store import open_store
from sparktriage.store import schema as t
from sparktriage.store.base import fingerprint
from sparktriage.store.sql import diagnosis_row, event_row
from sparktriage.taxonomy import UNKNOWN

#: Teams and how their failures lean (category: weight); every team also
#: gets a little of everything.
TEAMS: dict[str, dict[str, float]] = {
    "ads": {"executor_oom": 6, "container_killed_memory": 8, "shuffle_fetch_failed": 3, "user_code_error": 4},
    "search": {"input_missing": 8, "schema_mismatch": 4, "corrupt_data": 2, "sql_analysis_error": 3},
    "growth": {"input_missing": 5, "access_denied": 5, "user_code_error": 5, "python_worker_crashed": 2},
    "payments": {"auth_failure": 6, "access_denied": 3, "metastore_error": 2, "network_error": 2},
    "ml-platform": {"python_worker_crashed": 5, "dependency_error": 5, "driver_oom": 4, "result_size_exceeded": 3},
    "data-eng": {"schema_mismatch": 4, "disk_full": 3, "storage_throttled": 4, "broadcast_timeout": 2},
    "reporting": {"sql_analysis_error": 6, "result_size_exceeded": 3, "killed": 3, "resource_unavailable": 3},
    "infra-batch": {"executor_lost": 5, "shuffle_auth_timeout": 3, "network_error": 4, "disk_full": 2},
}
QUEUES = ("default", "batch", "prod", "adhoc", "ml")
HOSTS = tuple(f"node-{n:03d}.dc1" for n in range(1, 61))
INCIDENT_HOSTS = HOSTS[16:19]
INCIDENT = ("shuffle_fetch_failed", "executor_lost", "network_error")
OLD_PACKS = "breadth@2026.09.1+core@2026.09.1+generic@2026.09.1"
NO_RULE_SHARE = 0.06
#: Failures no rule names: the model names some of them and leaves the others unknown,
#: so the seeded store has model decisions and unknowns as a real one has. The first four are
#: the model's (over its threshold, checked by test_dashboard's quality page test): when a
#: retrained model or a new rule takes them, replace them with texts the model alone still names.
UNKNOWN_TEXTS = (
    "com.acme.io.RemoteReadException: read of part-{n} timed out after {m} ms: connection reset",
    "java.lang.RuntimeException: Table acme.events_{n} not found in catalog for partition {m}",
    "org.acme.auth.TicketExpiredException: service ticket for etl-{n} expired {m} minutes ago",
    "org.acme.udf.ScoreUdfException: model scoring failed for row {n}: division by zero at column {m}",
    "com.acme.pipeline.StageGuardException: guard {n} tripped for partition {m}",
    "java.lang.IllegalMonitorStateException: lock {n} not held by worker-{m}",
    "org.acme.feature.StoreUnavailableException: shard {n} answered 418 for key {m}",
    "24/03/12 10:00:00 ERROR ApplicationMaster: User application exited with status {n}",
    "24/03/12 10:00:00 WARN Driver: job finished with {n} rejected batches of {m}",
)


@dataclass(frozen=True)
class Template:
    category: str
    events: tuple[ExceptionEvent, ...]


@cache
def _templates(classifier: Classifier) -> dict[str, list[Template]]:
    """Per category, the rule examples the current rules file under that category."""
    out: dict[str, list[Template]] = {}
    for rule in classifier.engine.rules:
        for example in rule.match:
            events = tuple(extract_events(example, app_id="t", role="driver", signals=classifier.signals))
            if not events:
                continue
            diagnosis = classifier.diagnose(list(events), AppInfo(app_id="t"))
            if diagnosis.category == rule.category:
                out.setdefault(diagnosis.category.split("/")[0], []).append(Template(diagnosis.category, events))
    return out


def _day_weight(day: dt.date) -> float:
    return 0.45 if day.weekday() >= 5 else 1.0


def _app_events(rng: random.Random, template_events: tuple[ExceptionEvent, ...], app: AppInfo, cluster: int,
                incident: bool) -> list[ExceptionEvent]:
    host = rng.choice(INCIDENT_HOSTS) if incident else rng.choice(HOSTS)
    base = app.ended or 0.0
    out = []
    for n, event in enumerate(template_events):
        container = f"container_e01_{cluster}_{int(app.app_id[-6:]):04d}_01_{rng.randint(1, 40):06d}"
        out.append(replace(event, app_id=app.app_id, attempt=app.attempt, container_id=container, host=host,
                           ts=round(base - rng.uniform(30, 3000) + n, 3), line=rng.randint(20, 40_000)))
    return out


def _no_rule_events(rng: random.Random, app: AppInfo, classifier: Classifier) -> list[ExceptionEvent]:
    text = rng.choice(UNKNOWN_TEXTS).format(n=rng.randint(1, 99), m=rng.randint(100, 999))
    events = extract_events(text, app_id=app.app_id, role="driver", signals=classifier.signals)
    return [replace(e, host=rng.choice(HOSTS), ts=(app.ended or 0) - 60) for e in events]


def generate(days: int, apps_per_day: int, *, seed: int = 0, end: dt.date | None = None,
             classifier: Classifier | None = None, with_incident: bool = True,
             with_upgrade: bool = True) -> Iterator[tuple[AppInfo, list[ExceptionEvent], Diagnosis]]:
    """The seeded history, oldest first, each application through ``diagnose``; without ``with_incident``
    and ``with_upgrade``, ordinary days only (no infra incident, no rule-pack change midway)."""
    classifier = classifier or load_classifier(Settings())
    templates = _templates(classifier)
    rng = random.Random(seed)
    end = end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # whole days, none in the future
    first = end - dt.timedelta(days=days - 1)
    upgrade_day = first + dt.timedelta(days=days // 2)
    incident_day = first + dt.timedelta(days=max(0, days - 9))
    cluster = 1_700_000_000_000
    users = {team: [f"{team.replace('-', '_')}_{n}" for n in range(1, 6)] for team in TEAMS}
    seq = 0
    for d in range(days):
        day = first + dt.timedelta(days=d)
        incident_today = with_incident and day == incident_day
        n_apps = round(apps_per_day * _day_weight(day) * rng.uniform(0.85, 1.15))
        for _ in range(n_apps):
            seq += 1
            team = rng.choice(list(TEAMS))
            hour = min(23, max(0, int(rng.gauss(13, 4.5))))
            ended = dt.datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=dt.UTC).timestamp()
            flow = rng.choice(("daily", "hourly", "backfill"))
            app = AppInfo(app_id=f"application_{cluster}_{seq:06d}", attempt=1, team=team,
                          user=rng.choice(users[team]), queue=rng.choice(QUEUES),
                          workflow=Workflow(team, flow, f"job_{rng.randint(1, 12):02d}", str(seq)),
                          started=ended - rng.uniform(120, 7200), ended=ended,
                          final_status=rng.choices(("FAILED", "KILLED"), (0.93, 0.07))[0])
            incident = incident_today and rng.random() < 0.6
            # an application's own draws (its example, hosts, lines) from a generator of its own: how many
            # examples a category has and how many events one makes would otherwise shift every later draw
            # of the history, so adding a rule example would change every seeded day
            own = random.Random(f"{seed}/{app.app_id}")
            if rng.random() < NO_RULE_SHARE:
                events = _no_rule_events(own, app, classifier)
            else:
                weights = {c: 0.3 for c in templates} | {c: w for c, w in TEAMS[team].items() if c in templates}
                category = rng.choice(INCIDENT) if incident else rng.choices(list(weights), list(weights.values()))[0]
                events = _app_events(own, own.choice(templates[category]).events, app, cluster, incident)
            diagnosis = classifier.diagnose(events, app)
            if with_upgrade and day < upgrade_day:  # what the previous rule packs said
                category = "access_denied" if diagnosis.category == "auth_failure" else diagnosis.category
                diagnosis = replace(diagnosis, rule_pack_version=OLD_PACKS, category=category)
            yield app, events, diagnosis


def seed_store(url: str, days: int, apps_per_day: int, *, seed: int = 0, end: dt.date | None = None,
               labels: int = 20, chunk: int = 5000, with_incident: bool = True,
               with_upgrade: bool = True) -> dict[str, int]:
    """Write the history into the store at ``url`` with bulk inserts; the store's row counts."""
    history = generate(days, apps_per_day, seed=seed, end=end, with_incident=with_incident, with_upgrade=with_upgrade)
    return store_history(url, history, seed=seed, labels=labels, chunk=chunk)


def store_history(url: str, history: Iterable[tuple[AppInfo, list[ExceptionEvent], Diagnosis]], *, seed: int = 0,
                  labels: int = 20, chunk: int = 5000) -> dict[str, int]:
    """Write ``generate``'s applications into the store at ``url`` with bulk inserts, and ``labels`` human
    corrections of unknowns spread over them; the store's row counts (a test keeps the rows it replays)."""
    store = open_store(url)
    apps, events, diagnoses = [], [], []
    labelled: list[tuple[AppInfo, str]] = []
    unknowns = 0
    rng = random.Random(seed + 1)

    def flush() -> None:
        with store.engine.begin() as conn:
            for table, rows in ((t.applications, apps), (t.exception_events, events), (t.diagnoses, diagnoses)):
                if rows:
                    conn.execute(sa.insert(table), rows)
        apps.clear(), events.clear(), diagnoses.clear()

    for app, app_events, diagnosis in history:
        created = dt.datetime.fromtimestamp((app.ended or 0) + 5, dt.UTC)
        apps.append({"app_id": app.app_id, "attempt": app.attempt, "team": app.team, "user": app.user,
                     "queue": app.queue, "wf_project": app.workflow.project, "wf_flow": app.workflow.flow,
                     "wf_job": app.workflow.job, "wf_execution": app.workflow.execution,
                     "started": dt.datetime.fromtimestamp(app.started or 0, dt.UTC),
                     "ended": dt.datetime.fromtimestamp(app.ended or 0, dt.UTC),
                     "final_status": app.final_status, "updated": created})
        events.extend(event_row(app, n, e) for n, e in enumerate(app_events))
        diagnoses.append(diagnosis_row(app, diagnosis, fingerprint(diagnosis), created))
        apps[-1].update({k: diagnoses[-1][k] for k in ("category", "top_category", "domain")})  # as make_current
        if diagnosis.category == UNKNOWN:  # reservoir sampling: corrections spread over the whole history
            unknowns += 1
            if len(labelled) < labels:
                labelled.append((app, "user_code_error"))
            elif (pick := rng.randrange(unknowns)) < labels:
                labelled[pick] = (app, "user_code_error")
        if len(apps) >= chunk:
            flush()
    flush()
    for app, category in labelled:
        store.label(app.app_id, app.attempt, category, note="seeded correction", author="seed")
    counts = store.counts()
    store.engine.dispose()  # a caller (a test, the CLI) may drop the database right after
    return counts
