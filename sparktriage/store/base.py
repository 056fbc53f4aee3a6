"""The store interface the worker, classify tools and relabel program against."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent


def fingerprint(diagnosis: Diagnosis) -> str:
    """A stable hash of what a diagnosis says: equal fingerprints mean nothing to write."""
    body = json.dumps(diagnosis.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Store(Protocol):
    def save(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis) -> bool:
        """Idempotent upsert on (app_id, attempt) in one transaction.

        Returns False when the same diagnosis is already current (a redelivered
        Kafka record), True when something was written (a new or changed one;
        the previous diagnosis is kept, superseded).
        """
        ...

    def current_diagnosis(self, app_id: str, attempt: int | None = None) -> Diagnosis | None: ...

    def record_dead_letter(self, source: str, reason: str, detail: str, payload: str) -> None: ...

    def counts(self) -> dict[str, int]: ...
