"""Spike alerts: the Infra page's rule, evaluated as diagnoses arrive, one notification per start and end.

The rule is the page's (``dashboard.queries.spikes``), made rolling: a
category of the infra and platform domains, or a host or queue involved in
the failures that point at machines, is spiking when its failed
applications in the last ``spike_window`` number at least ``spike_floor``
and more than ``spike_factor`` times the median of the same window on each
of the ``spike_baseline_days`` days before (zero days included, so a rare
category's first burst counts; no alert before the store holds that much
history), and a count that high would come by chance less often than
``spike_significance`` at the days' average rate (a Poisson tail: three
times a usual 2 happens by chance every day somewhere, three times a usual
50 never). The spike ends when the count falls to ``spike_end_factor`` times
the baseline: a lower bar than the start's, so a count hovering at the
threshold does not flap. The defaults were chosen by replaying seeded
histories (``tests/test_spikes.py``).

The worker calls :meth:`SpikeWatch.observe` after each saved diagnosis
(only that diagnosis's keys are checked, each at most every few seconds)
and :meth:`SpikeWatch.sweep` on a timer, which also notices the end of a
spike when failures simply stop arriving. Notifications go through the
webhook outbox (signed, retried, dead-lettered by the dispatcher) as a
``sparktriage.alert/v1`` JSON document or, with ``alert_format = "slack"``,
a Slack incoming-webhook body. The store's claim (``store/alerts.py``) makes
several workers send each notification once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent
from sparktriage.settings import Settings
from sparktriage.store.base import Alert, Store
from sparktriage.taxonomy import CATEGORIES, top_level

log = logging.getLogger("sparktriage.delivery.spikes")
ALERT_SCHEMA = "sparktriage.alert/v1"
#: The outbox's ``sink`` of an alert document and of a Slack message (webhook.SCHEMAS: their headers).
ALERT_SINK, SLACK_SINK = "alert", "slack"
#: Categories that point at machines: their hosts and queues are followed (the Infra page's too).
HOST_CATEGORIES = ("shuffle_fetch_failed", "executor_lost", "disk_full", "shuffle_auth_timeout", "network_error")
#: Domains whose categories are followed one by one.
WATCHED_DOMAINS = ("infra", "platform")
WATCHED_CATEGORIES = tuple(c for c, (domain, _) in CATEGORIES.items() if domain in WATCHED_DOMAINS)
#: A key is checked again on arrival at most this often (seconds of the clock); the sweep checks the rest.
RECHECK = 10.0
Key = tuple[str, str]


@dataclass(frozen=True)
class SpikeRule:
    window: dt.timedelta = dt.timedelta(hours=3)
    baseline_days: int = 7
    factor: float = 3.0
    end_factor: float = 1.5
    floor: int = 5
    significance: float = 1e-7

    @classmethod
    def from_settings(cls, settings: Settings) -> SpikeRule:
        return cls(dt.timedelta(seconds=settings.spike_window), settings.spike_baseline_days,
                   settings.spike_factor, settings.spike_end_factor, settings.spike_floor,
                   settings.spike_significance)

    def windows(self, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The current window, then the same window on each of the days before."""
        ends = [now - dt.timedelta(days=k) for k in range(self.baseline_days + 1)]
        return [(end - self.window, end) for end in ends]

    def starts(self, count: int, history: Sequence[int]) -> bool:
        """Over ``factor`` times the baseline (the days' median: a past spike does not raise it) and, at
        the rate the days averaged (the steadier guess of what is usual), too many to come by chance."""
        baseline = max(statistics.median(history), 1.0)
        expected = max(baseline, statistics.mean(history))
        return count >= self.floor and count > self.factor * baseline and chance(count, expected) < self.significance

    def ends(self, count: int, baseline: float) -> bool:
        """Back to at most ``end_factor`` times the baseline. Not "under the floor": a count hovering at
        the floor would end and start again (the quiet period only delays the second start)."""
        return count <= self.end_factor * max(baseline, 1.0)


def chance(count: int, expected: float) -> float:
    """How often at least ``count`` failures come in a window by chance, when ``expected`` come on average
    (Poisson): 7 where 2 are usual happens every few hundred windows, 30 where 10 are usual about never."""
    from scipy.special import pdtrc  # scipy comes with scikit-learn; imported when a spike is first weighed

    return float(pdtrc(count - 1, expected))


def keys_of(app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis) -> set[Key]:
    """What a diagnosis may make spike: its category (infra, platform), its hosts and queue (machine causes)."""
    category = top_level(diagnosis.category)
    keys: set[Key] = set()
    if category in WATCHED_CATEGORIES:
        keys.add(("category", category))
    if category in HOST_CATEGORIES:
        keys |= {("host", e.host) for e in events if e.host}
        if app.queue:
            keys.add(("queue", app.queue))
    return keys


def notification(alert: Alert, rule: SpikeRule, *, slack: bool) -> str:
    """The body of a start (``alert.ended`` None) or end notification."""
    what = f"{alert.kind} {alert.key}"
    window = f"{rule.window.total_seconds() / 3600:g} h"
    if slack:
        if alert.ended is None:
            text = (f":rotating_light: Spark failures spiking: {what}: {alert.count} failed applications in the last "
                    f"{window} (usually {alert.baseline:g}), since {alert.started:%Y-%m-%d %H:%M} UTC")
        else:
            text = (f":white_check_mark: Spike over: {what} is back to {alert.end_count} failed applications in "
                    f"{window} (usually {alert.baseline:g}); it began {alert.started:%Y-%m-%d %H:%M} UTC")
        return json.dumps({"text": text})
    return json.dumps({
        "schema_version": ALERT_SCHEMA, "event": "spike_started" if alert.ended is None else "spike_ended",
        "alert_id": alert.id, "kind": alert.kind, "key": alert.key, "window_seconds": rule.window.total_seconds(),
        "count": alert.count, "baseline": alert.baseline, "started": alert.started.isoformat(),
        "ended": alert.ended.isoformat() if alert.ended else None, "end_count": alert.end_count,
    })


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SpikeWatch:
    """Evaluates the spike rule over the store for the keys that diagnoses touch; opens and closes alerts."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], dt.datetime] = _now) -> None:
        self.store = store
        self.rule = SpikeRule.from_settings(settings)
        self.urls = [settings.alert_url] if settings.alert_url else []
        self.slack = settings.alert_format == "slack"
        self.sink = SLACK_SINK if self.slack else ALERT_SINK  # the outbox row says what its body is
        self.clock = clock
        self.dirty: set[Key] = set()
        self.checked: dict[Key, dt.datetime] = {}
        self.history_from: dt.datetime | None = None  # first time a full baseline exists

    def observe(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis) -> list[Alert]:
        """After a diagnosis is saved: check its keys (those not checked a moment ago wait for the sweep)."""
        now = self.clock()
        keys = keys_of(app, events, diagnosis)
        self.dirty |= keys
        due = [k for k in keys if (now - self.checked.get(k, dt.datetime.min.replace(tzinfo=dt.UTC))
                                   ).total_seconds() >= RECHECK]
        return self._check(set(due), now, every_open=False) if due else []

    def sweep(self) -> list[Alert]:
        """Check every key touched since its last check and every open alert (a spike ends when failures stop)."""
        return self._check(set(self.dirty), self.clock(), every_open=True)

    def _check(self, keys: set[Key], now: dt.datetime, *, every_open: bool) -> list[Alert]:
        if not self._has_baseline(now):
            return []
        open_ = {(a.kind, a.key): a for a in self.store.open_alerts()}
        changed = []
        for key in keys | (set(open_) if every_open else set()):
            self.dirty.discard(key)
            self.checked[key] = now
            alert = self._check_one(key, open_.get(key), now)
            if alert is not None:
                changed.append(alert)
        return changed

    def _check_one(self, key: Key, alert: Alert | None, now: dt.datetime) -> Alert | None:
        kind, name = key
        categories = (name,) if kind == "category" else HOST_CATEGORIES
        count, *history = self.store.spike_counts(kind, name, categories, self.rule.windows(now))
        baseline = float(statistics.median(history))
        notify = self._notify
        if alert is None and self.rule.starts(count, history):
            opened = self.store.open_alert(kind, name, at=now, count=count, baseline=baseline,
                                           quiet_since=now - self.rule.window, notify=notify, sink=self.sink)
            if opened is not None:
                log.warning("spike started: %s %s, %d failed applications in the window (baseline %g)",
                            kind, name, count, baseline)
            return opened
        if alert is not None and self.rule.ends(count, baseline):
            closed = self.store.close_alert(alert, at=now, count=count, notify=notify, sink=self.sink)
            if closed is not None:
                log.warning("spike ended: %s %s, back to %d (baseline %g)", kind, name, count, baseline)
            return closed
        return None

    def _notify(self, alert: Alert) -> list[tuple[str, str]]:
        body = notification(alert, self.rule, slack=self.slack)
        return [(url, body) for url in self.urls]

    def _has_baseline(self, now: dt.datetime) -> bool:
        if self.history_from is None:
            first = self.store.first_ended()
            if first is None:
                return False
            self.history_from = first + dt.timedelta(days=self.rule.baseline_days) + self.rule.window
        return now >= self.history_from
