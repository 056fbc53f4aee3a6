"""``sparktriage watch yarn``: every finished application, once, from the ResourceManager.

Each poll asks the RM for applications that reached FINISHED, FAILED or
KILLED since the watermark (the newest ``finishedTime`` seen) minus an
overlap (``yarn_overlap``: a finish recorded late, a clock step, an HA
switch to a peer whose clock differs), and publishes one ``app_end``
lifecycle record per application not yet sent, keyed by application id. The
cursor file (``<data_dir>/watch-yarn.json``) keeps the watermark and the ids
sent inside the overlap, so a restart, even after SIGKILL, neither misses nor
repeats an application (see ``sparktriage.watchers.cursor`` for the in-flight batch).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from sparktriage.settings import Settings
from sparktriage.watchers.cursor import Cursor
from sparktriage.watchers.metrics import WatcherMetrics, watching
from sparktriage.watchers.publisher import Publisher, publish, resend_pending
from sparktriage.watchers.rm_client import RMClient, RMUnavailable
from sparktriage.watchers.tags import TagMapper
from sparktriage.watchers.yarn_apps import TERMINAL_STATES, lifecycle_record

log = logging.getLogger("sparktriage.watch.yarn")


def cursor_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "watch-yarn.json"


class YarnWatcher:
    def __init__(self, settings: Settings, client: RMClient, publisher: Publisher, cursor: Cursor,
                 metrics: WatcherMetrics | None = None) -> None:
        self.settings, self.client, self.publisher, self.cursor = settings, client, publisher, cursor
        self.tags = TagMapper.from_settings(settings.watch_tag_patterns)
        self.metrics = metrics or WatcherMetrics("yarn")

    def poll(self, now_ms: int | None = None) -> int:
        """One poll: ask, publish what is new, move the watermark. Returns records sent."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        watermark = int(self.cursor.position.get("finished_ms") or now_ms - self.settings.watch_lookback * 1000)
        overlap = int(self.settings.yarn_overlap * 1000)
        apps = self.client.finished_apps(max(0, watermark - overlap))
        batch: dict[str, tuple[dict[str, Any], float]] = {}
        newest = watermark
        for app in apps:
            try:
                if app.get("state") not in TERMINAL_STATES:
                    continue
                finished = int(app.get("finishedTime") or 0)
                batch[str(app["id"])] = (lifecycle_record(app, self.tags), finished)
                newest = max(newest, finished)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("skipping an application report the RM sent malformed (%r): %s", exc, str(app)[:200])
        sent = publish(self.publisher, self.cursor, batch)
        self.metrics.sent(sent)
        self.cursor.position["finished_ms"] = newest
        self.cursor.prune(newest - overlap)  # older ones are outside every later query
        self.cursor.save()
        self.metrics.ok()
        return len(sent)

    def run(self, stop: threading.Event, once: bool = False) -> None:
        """Poll every ``watch_interval`` until ``stop``; an RM outage is logged and retried."""
        resent = resend_pending(self.publisher, self.cursor)
        if resent:
            self.metrics.sent(resent)
            log.warning("sent again %d lifecycle records that were in flight when the watcher stopped", len(resent))
        failures = 0
        while not stop.is_set():
            try:
                sent = self.poll()
                failures = 0
                log.info("poll: %d new finished applications published", sent)
            except RMUnavailable as exc:
                failures += 1
                self.metrics.error()
                log.warning("no ResourceManager answered (%d in a row): %s", failures, exc)
            if once:
                return
            stop.wait(min(self.settings.watch_interval * (2 ** min(failures, 4)), 300.0))


def run(settings: Settings, once: bool = False, stop: threading.Event | None = None) -> None:
    """Build the watcher from settings; the first poll must succeed, else a clear error (CLI exits 2)."""
    client = RMClient(settings)
    cursor = Cursor(cursor_path(settings))
    client.finished_apps(int(time.time() * 1000))  # reachable and authorised, or say so now
    with watching(settings, "yarn") as (publisher, metrics):
        YarnWatcher(settings, client, publisher, cursor, metrics).run(stop or threading.Event(), once=once)
