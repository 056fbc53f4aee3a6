"""The store interface the worker, classify tools and relabel program against."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent, Origin


def fingerprint(diagnosis: Diagnosis) -> str:
    """A stable hash of what a diagnosis says: equal fingerprints mean nothing to write."""
    body = json.dumps(diagnosis.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def idempotency_key(app: AppInfo, fp: str) -> str:
    """The same for every try of one diagnosis; a new one when the diagnosis changes."""
    return f"{app.app_id}/{app.attempt}/{fp[:16]}"


def dead_letter_origin(origin: Origin, key: bytes | None, value: bytes | None) -> str:
    """A dead letter's identity: where its record was first read, and its bytes (a topic deleted and
    made again counts its offsets anew; a different record at the same place is another dead letter)."""
    digest = hashlib.sha256()
    for part in (origin.topic.encode("utf-8"), str(origin.partition).encode(), str(origin.offset).encode(),
                 key if key is not None else b"\x00none", value if value is not None else b"\x00none"):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Delivery:
    """One pending webhook request of the outbox."""

    id: int
    app_id: str
    attempt: int
    url: str
    key: str
    body: str
    tries: int  # tries made so far
    sink: str = "webhook"  # what the body is: a diagnosis ("webhook"), an alert document or a Slack message


Outcome = Literal["delivered", "retry", "dead"]


@dataclass(frozen=True)
class Alert:
    """A spike (``sparktriage.delivery.spikes``): ``kind`` (category, host, queue) ``key`` far above its baseline."""

    id: int
    kind: str
    key: str
    started: dt.datetime
    count: int  # failed applications in the window when it started
    baseline: float  # the median of the same window on the previous days
    ended: dt.datetime | None = None
    end_count: int | None = None


#: The (url, body) notifications of an alert, made once its id is known.
Notify = Callable[[Alert], Sequence[tuple[str, str]]]


class Store(Protocol):
    def save(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis,
             outgoing: Sequence[tuple[str, str]] = ()) -> bool:
        """Idempotent upsert on (app_id, attempt) in one transaction.

        Returns False when the same diagnosis is already current (a redelivered
        Kafka record), True when something was written (a new or changed one;
        the previous diagnosis is kept, superseded). ``outgoing`` are the
        (url, body) webhook requests of a new or changed diagnosis: they join
        the outbox in the same transaction, so none is lost to a crash.
        """
        ...

    def claim_due(self, now: dt.datetime, limit: int, lease: float) -> list[Delivery]:
        """Pending deliveries due by ``now``, hidden from other dispatchers for ``lease`` seconds."""
        ...

    def record_try(self, delivery: Delivery, *, at: dt.datetime, status: int | None, error: str | None,
                   duration_ms: float, outcome: Outcome, next_try: dt.datetime | None) -> None:
        """Log one try and move the delivery on: delivered, due again at ``next_try``, or dead."""
        ...

    def purge_excerpts(self, before: dt.datetime) -> int:
        """Drop raw excerpts of events of applications that ended before ``before``; how many."""
        ...

    def current_diagnosis(self, app_id: str, attempt: int | None = None) -> Diagnosis | None: ...

    def record_dead_letter(self, source: str, reason: str, detail: str, payload: str, *,
                           origin: str | None = None) -> bool:
        """Keep a dead letter; False (nothing written) when one of the same ``origin``
        (:func:`dead_letter_origin`) is kept already."""
        ...

    def counts(self) -> dict[str, int]: ...

    def outbox_depth(self) -> int:
        """Webhook deliveries still pending (not delivered, not dead)."""
        ...

    def human_corrections(self) -> dict[str, int]:
        """Corrections people recorded (``label``, the Explorer), by the category they chose: the store's total."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached (readiness)."""
        ...
    def spike_counts(self, kind: str, key: str, categories: Collection[str],
                     windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[int]:
        """Failed applications (current diagnoses of ``categories``) per window, ending in it, of the
        category ``key`` (kind ``category``), with an exception on host ``key`` (``host``) or in queue ``key``."""
        ...

    def first_ended(self) -> dt.datetime | None:
        """When the oldest stored application ended (a baseline needs that much history)."""
        ...

    def open_alert(self, kind: str, key: str, *, at: dt.datetime, count: int, baseline: float,
                   quiet_since: dt.datetime, notify: Notify, sink: str = "alert") -> Alert | None:
        """Open an alert and queue its notifications (as ``sink``) in one transaction; None when another
        evaluator holds one open for this key, or closed one after ``quiet_since`` (the claim: each start once)."""
        ...

    def close_alert(self, alert: Alert, *, at: dt.datetime, count: int, notify: Notify,
                    sink: str = "alert") -> Alert | None:
        """Close an open alert and queue its notifications; None when another evaluator closed it first."""
        ...

    def open_alerts(self) -> list[Alert]: ...
