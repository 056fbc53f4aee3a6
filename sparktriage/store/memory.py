"""In-memory twin of the store, for unit tests of the code above it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent
from sparktriage.store.base import fingerprint


@dataclass
class MemoryStore:
    apps: dict[tuple[str, int], AppInfo] = field(default_factory=dict)
    events: dict[tuple[str, int], list[ExceptionEvent]] = field(default_factory=dict)
    current: dict[tuple[str, int], Diagnosis] = field(default_factory=dict)
    history: list[Diagnosis] = field(default_factory=list)
    dead_letters: list[tuple[str, str, str, str]] = field(default_factory=list)

    def save(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis) -> bool:
        key = (app.app_id, app.attempt)
        self.apps[key] = app
        old = self.current.get(key)
        if old is not None and fingerprint(old) == fingerprint(diagnosis):
            return False
        if old is not None:
            self.history.append(old)
        self.events[key] = list(events)
        self.current[key] = diagnosis
        return True

    def current_diagnosis(self, app_id: str, attempt: int | None = None) -> Diagnosis | None:
        keys = sorted(k for k in self.current if k[0] == app_id and (attempt is None or k[1] == attempt))
        return self.current[keys[-1]] if keys else None

    def record_dead_letter(self, source: str, reason: str, detail: str, payload: str) -> None:
        self.dead_letters.append((source, reason, detail, payload))

    def counts(self) -> dict[str, int]:
        return {
            "applications": len(self.apps),
            "exception_events": sum(len(v) for v in self.events.values()),
            "diagnoses": len(self.current) + len(self.history),
            "dead_letters": len(self.dead_letters),
        }
