"""In-memory twin of the store, for unit tests of the code above it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent
from sparktriage.store.base import Alert, Delivery, Notify, Outcome, fingerprint, idempotency_key
from sparktriage.taxonomy import top_level

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class MemoryStore:
    apps: dict[tuple[str, int], AppInfo] = field(default_factory=dict)
    events: dict[tuple[str, int], list[ExceptionEvent]] = field(default_factory=dict)
    current: dict[tuple[str, int], Diagnosis] = field(default_factory=dict)
    history: list[Diagnosis] = field(default_factory=list)
    dead_letters: list[tuple[str, str, str, str]] = field(default_factory=list)
    dead_letter_origins: set[str] = field(default_factory=set)
    deliveries: list[dict] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def save(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis,
             outgoing: Sequence[tuple[str, str]] = ()) -> bool:
        key = (app.app_id, app.attempt)
        self.apps[key] = app
        old = self.current.get(key)
        if old is not None and fingerprint(old) == fingerprint(diagnosis):
            return False
        if old is not None:
            self.history.append(old)
        self.events[key] = list(events)
        self.current[key] = diagnosis
        self._enqueue(app.app_id, app.attempt, idempotency_key(app, fingerprint(diagnosis)), outgoing)
        return True

    def _enqueue(self, app_id: str, attempt: int, ikey: str, outgoing: Sequence[tuple[str, str]],
                 sink: str = "webhook") -> None:
        for url, body in outgoing:
            if not any(d["key"] == ikey and d["url"] == url for d in self.deliveries):
                self.deliveries.append({"id": len(self.deliveries) + 1, "app_id": app_id, "attempt": attempt,
                                        "url": url, "key": ikey, "body": body, "tries": 0, "status": "pending",
                                        "next_try": _EPOCH, "log": [], "sink": sink})

    def purge_excerpts(self, before: dt.datetime) -> int:
        purged = 0
        for key, events in self.events.items():
            ended = self.apps[key].ended
            if ended is not None and ended < before.timestamp():
                purged += sum(1 for e in events if e.excerpt)
                self.events[key] = [replace(e, excerpt=()) for e in events]
        return purged

    def claim_due(self, now: dt.datetime, limit: int, lease: float) -> list[Delivery]:
        due = [d for d in self.deliveries if d["status"] == "pending" and d["next_try"] <= now][:limit]
        for d in due:
            d["next_try"] = now + dt.timedelta(seconds=lease)
        return [Delivery(d["id"], d["app_id"], d["attempt"], d["url"], d["key"], d["body"], d["tries"], d["sink"])
                for d in due]

    def record_try(self, delivery: Delivery, *, at: dt.datetime, status: int | None, error: str | None,
                   duration_ms: float, outcome: Outcome, next_try: dt.datetime | None) -> None:
        d = self.deliveries[delivery.id - 1]
        d["tries"] += 1
        d["log"].append((at, status, error, duration_ms))
        if outcome == "retry":
            d["next_try"] = next_try
        else:
            d["status"] = "delivered" if outcome == "delivered" else "dead"
        if outcome == "dead":
            self.dead_letters.append(("webhook", "delivery_failed", f"{delivery.url}: {error or status}", d["body"]))

    def current_diagnosis(self, app_id: str, attempt: int | None = None) -> Diagnosis | None:
        keys = sorted(k for k in self.current if k[0] == app_id and (attempt is None or k[1] == attempt))
        return self.current[keys[-1]] if keys else None

    def record_dead_letter(self, source: str, reason: str, detail: str, payload: str, *,
                           origin: str | None = None) -> bool:
        if origin is not None:
            if origin in self.dead_letter_origins:
                return False
            self.dead_letter_origins.add(origin)
        self.dead_letters.append((source, reason, detail, payload))
        return True

    def counts(self) -> dict[str, int]:
        return {
            "applications": len(self.apps),
            "exception_events": sum(len(v) for v in self.events.values()),
            "diagnoses": len(self.current) + len(self.history),
            "dead_letters": len(self.dead_letters),
            "deliveries": len(self.deliveries),
        }

    def outbox_depth(self) -> int:
        return sum(1 for d in self.deliveries if d["status"] == "pending")

    def human_corrections(self) -> dict[str, int]:
        return {}  # people correct through the SQL store only (label, the Explorer)

    def ping(self) -> None:
        pass
    def spike_counts(self, kind: str, key: str, categories: Collection[str],
                     windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[int]:
        counts = [0] * len(windows)
        for k, diagnosis in self.current.items():
            app = self.apps[k]
            if app.ended is None or top_level(diagnosis.category) not in categories:
                continue
            if (kind == "queue" and app.queue != key) or (kind == "host" and all(
                    e.host != key for e in self.events.get(k, ()))):
                continue
            for n, (start, end) in enumerate(windows):
                counts[n] += start.timestamp() <= app.ended < end.timestamp()
        return counts

    def first_ended(self) -> dt.datetime | None:
        ended = [a.ended for a in self.apps.values() if a.ended is not None]
        return dt.datetime.fromtimestamp(min(ended), dt.UTC) if ended else None

    def open_alert(self, kind: str, key: str, *, at: dt.datetime, count: int, baseline: float,
                   quiet_since: dt.datetime, notify: Notify, sink: str = "alert") -> Alert | None:
        if any(a.kind == kind and a.key == key and (a.ended is None or a.ended > quiet_since) for a in self.alerts):
            return None
        alert = Alert(len(self.alerts) + 1, kind, key, at, count, baseline)
        self.alerts.append(alert)
        self._enqueue(f"spike/{alert.id}", 0, f"spike/{alert.id}/start", notify(alert), sink)
        return alert

    def close_alert(self, alert: Alert, *, at: dt.datetime, count: int, notify: Notify,
                    sink: str = "alert") -> Alert | None:
        if self.alerts[alert.id - 1].ended is not None:
            return None
        closed = replace(alert, ended=at, end_count=count)
        self.alerts[alert.id - 1] = closed
        self._enqueue(f"spike/{alert.id}", 0, f"spike/{alert.id}/end", notify(closed), sink)
        return closed

    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.ended is None]
