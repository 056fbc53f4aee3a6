"""Relabel on SQLite and PostgreSQL: a real rule change moves exactly the applications it should.

The store is seeded through the real pure core (``sparktriage.history.seed``), the
rule change is a user pack overriding a built-in rule, and the expected set
of moved applications is computed independently from the stored event texts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from classifiers.core import Classifier, load_classifier
from logtext.events import extract_events
from sparktriage.history.evaluate import evaluate_corrections, report
from sparktriage.history.relabel import Filters, relabel, render
from sparktriage.history.seed import generate, seed_store, store_history
from sparktriage.records import AppInfo, Workflow
from sparktriage.settings import Settings
from sparktriage.store import open_store
from sparktriage.store import schema as t
from tests.diagnosis_schema import assert_valid
from tests.store_checks import assert_applications_carry_their_current_diagnosis

RULE = "yarn-container-killed-memory-limits"
KEPT = "Container killed by YARN for exceeding"
# The override drops the rule's second pattern ("is running beyond ... memory limits"), all else kept.
NARROWER = f'''\
pack: narrower
version: "1"
rules:
  - id: {RULE}
    category: container_killed_memory
    priority: 90
    patterns: ['Container killed by YARN for exceeding (?:physical |virtual )?memory limits']
    explain: "YARN killed the container because its heap plus off-heap overhead exceeded the memory it was granted."
    remediation: "Raise spark.executor.memoryOverhead (or spark.executor.memory); lower per-task memory with more partitions."
    examples:
      match: ["Reason: Container killed by YARN for exceeding memory limits. 11.0 GB of 11 GB physical memory used."]
      no_match: ["Container killed on request. Exit code is 143"]
'''
END = dt.date(2026, 11, 20)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/r.db"
    return request.getfixturevalue("empty_pg_url")


@pytest.fixture(scope="module")
def current() -> Classifier:
    return load_classifier(Settings())


@pytest.fixture(scope="module")
def narrower(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    folder = tmp_path_factory.mktemp("rules")
    (folder / "narrower.yaml").write_text(NARROWER)
    return load_classifier(Settings(rules_dir=str(folder)))


#: What YARN's NodeManager writes when it kills a container over its memory: the text only the
#: dropped pattern reads. The seed draws its texts from every rule's examples, so whether its own
#: history holds one depends on how many examples the packs have; these applications always do.
BEYOND = ("Container [pid={pid},containerID=container_e01_1800000000000_{n:04d}_01_000002] is running beyond "
          "physical memory limits. Current usage: 8.{n} GB of 8 GB physical memory used; 9.1 GB of 16.8 GB "
          "virtual memory used. Killing container.")


def _beyond_apps(current: Classifier, count: int = 4):
    """``count`` failed applications whose one event is the NodeManager's 'running beyond' kill."""
    for n in range(1, count + 1):
        ended = dt.datetime(END.year, END.month, END.day, 9, n, tzinfo=dt.UTC).timestamp()
        app = AppInfo(app_id=f"application_1800000000000_{n:04d}", attempt=1, team="growth", user="growth_1",
                      queue="default", workflow=Workflow("growth", "daily", "job_01", str(n)),
                      started=ended - 600, ended=ended, final_status="FAILED")
        events = extract_events(BEYOND.format(pid=4000 + n, n=n), app_id=app.app_id, role="executor",
                                signals=current.signals)
        yield app, events, current.diagnose(events, app)


def _settled(url: str, current: Classifier):
    """A seeded store, with applications the narrower pack moves, whose history the current rules have
    already re-diagnosed."""
    history = [*generate(10, 40, seed=3, end=END, classifier=current), *_beyond_apps(current)]
    store_history(url, history, seed=3, labels=0)
    store = open_store(url)
    relabel(store, current)
    return store


def _current(store) -> dict[str, tuple[str, str | None, str]]:
    d = t.diagnoses
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(d.c.app_id, d.c.category, d.c.rule_id, d.c.source)
                            .where(d.c.superseded.is_(None))).all()
    return {r.app_id: (r.category, r.rule_id, r.source) for r in rows}


def _expected_moves(store) -> set[str]:
    d, e = t.diagnoses, t.exception_events
    with store.engine.connect() as conn:
        decided = {r.app_id for r in conn.execute(sa.select(d.c.app_id).where(
            d.c.superseded.is_(None), d.c.rule_id == RULE))}
        texts: dict[str, str] = {}
        for r in conn.execute(sa.select(e.c.app_id, e.c.text)):
            texts[r.app_id] = texts.get(r.app_id, "") + r.text
    return {app for app in decided if KEPT not in texts[app]}


def test_seeded_history_is_what_the_current_rules_say_after_one_relabel(url: str, current: Classifier) -> None:
    seed_store(url, days=10, apps_per_day=40, seed=3, end=END, labels=0)
    store = open_store(url)
    first = relabel(store, current)
    assert first.changed > 0 and set(first.matrix) == {("access_denied", "auth_failure")}, \
        "before the seeded upgrade, token failures were filed as access_denied"
    second = relabel(store, current)
    assert second.changed == 0 and second.scanned == first.scanned


def test_a_rule_change_moves_exactly_the_applications_it_should(url: str, current: Classifier,
                                                               narrower: Classifier) -> None:
    store = _settled(url, current)
    expected = _expected_moves(store)
    assert expected, "the seed holds containers killed with the 'running beyond' message"
    before, counts = _current(store), store.counts()

    dry = relabel(store, narrower, dry_run=True, sample=1000)
    assert {c.app.app_id for c in dry.sample} == expected
    assert (store.counts(), _current(store)) == (counts, before), "a dry run writes nothing"
    assert f"container_killed_memory  ->" in render(dry, dry_run=True)

    run = relabel(store, narrower)
    after = _current(store)
    moved = {app for app in before if after[app] != before[app]}
    assert moved == expected
    with store.engine.connect() as conn:
        d = t.diagnoses
        stamped = {r.app_id for r in conn.execute(sa.select(d.c.app_id).where(d.c.relabel_run_id == run.run_id))}
        history = conn.execute(sa.select(d.c.rule_id, d.c.superseded_by).where(
            d.c.app_id.in_(sorted(expected)), d.c.superseded.is_not(None), d.c.rule_id == RULE)).all()
        (status,) = conn.execute(sa.select(t.relabel_runs.c.status).where(t.relabel_runs.c.id == run.run_id)).one()
    assert stamped == expected and len(history) == len(expected) and all(h.superseded_by for h in history)
    assert status == "finished"
    assert_applications_carry_their_current_diagnosis(store.engine)
    assert relabel(store, narrower).changed == 0, "a second run changes nothing"


def test_an_interrupted_run_resumed_ends_like_an_uninterrupted_one(url: str, tmp_path: Path, current: Classifier,
                                                                   narrower: Classifier) -> None:
    reference = _settled(f"sqlite:///{tmp_path}/reference.db", current)
    relabel(reference, narrower, batch=25)
    store = _settled(url, current)
    batches = []

    def stop_after_two(n: int) -> None:
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        relabel(store, narrower, batch=25, progress=stop_after_two)
    resumed = relabel(store, narrower, batch=25)
    assert resumed.resumed and resumed.scanned == relabel(reference, narrower, dry_run=True).scanned
    assert _current(store) == _current(reference)
    assert store.counts()["diagnoses"] == reference.counts()["diagnoses"], "no batch was applied twice"


def test_human_labels_survive_relabel_and_are_measured(url: str, current: Classifier, narrower: Classifier) -> None:
    store = _settled(url, current)
    target = sorted(_expected_moves(store))[0]
    store.label(target, 1, "executor_oom", note="the heap, not the overhead", author="ana")
    relabel(store, narrower)
    assert _current(store)[target] == ("executor_oom", None, "human")
    assert_applications_carry_their_current_diagnosis(store.engine)
    result = evaluate_corrections(narrower, store.engine)
    assert result.ids == [f"{target}#1"] and result.truth == ["executor_oom"]
    row = next(line for line in report(result).splitlines() if line.startswith("executor_oom "))
    assert row.split()[-1] == "1", row  # the support column of a one-correction set
    with pytest.raises(Exception, match="not a taxonomy category"):
        store.label(target, 1, "gremlins", note=None, author=None)


def test_filters_limit_what_is_scanned(url: str, current: Classifier) -> None:
    store = _settled(url, current)
    teams = {}
    with store.engine.connect() as conn:
        for r in conn.execute(sa.select(t.applications.c.team, sa.func.count()).group_by(t.applications.c.team)):
            teams[r[0]] = r[1]
    team, n = sorted(teams.items())[0]
    assert relabel(store, current, Filters(team=team), dry_run=True).scanned == n
    one = sorted(_current(store))[0]
    assert relabel(store, current, Filters(app=one), dry_run=True).scanned == 1


@pytest.mark.broker
def test_notify_resends_only_changed_diagnoses(tmp_path: Path, broker, current: Classifier,
                                               narrower: Classifier) -> None:
    import json
    import uuid

    from kafka import KafkaConsumer

    from sparktriage.delivery.topics import ensure_topics, publisher

    store = _settled(f"sqlite:///{tmp_path}/n.db", current)
    expected = _expected_moves(store)
    settings = Settings(bootstrap=broker.bootstrap, output_topic=f"relabelled-{uuid.uuid4().hex[:6]}",
                        webhook_url="http://127.0.0.1:9/hook", partitions=1)
    ensure_topics(settings)
    relabel(store, narrower, settings=settings, notify=publisher(settings))
    consumer = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    published = {m.key.decode(): json.loads(m.value) for m in consumer}
    consumer.close()
    assert set(published) == expected
    assert all(p["rule_id"] != RULE for p in published.values())
    for p in published.values():
        assert_valid(p)
        assert p["supersedes"]["rule_id"] == RULE, "a re-sent diagnosis says which one it replaces"
    with store.engine.connect() as conn:
        bodies = [json.loads(b) for (b,) in conn.execute(sa.select(t.deliveries.c.body))]
    assert {b["app_id"]: b for b in bodies} == published, "webhook and topic carry the same document"
    with store.engine.connect() as conn:
        queued = {r.app_id for r in conn.execute(sa.select(t.deliveries.c.app_id))}
    assert queued == expected
