"""A watcher's durable position: what it has published, in a small JSON file.

Written atomically (temporary file, fsync, rename, fsync of the folder), so a
watcher killed at any instant (SIGKILL included) restarts from the last
complete write. Records are journalled as *pending* before they are sent and
*sent* once the broker acknowledged them: after a crash between the two, the
pending ones are sent again (the worker ignores a second end of an
application), never lost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sparktriage.errors import ConfigError


class Cursor:
    """``position`` (a watcher's own: finishedTime watermark, resourceVersion...),
    ``sent`` (record key -> the time it refers to, pruned by the watcher) and
    ``pending`` (key -> record, in flight)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.position: dict[str, Any] = {}
        self.sent: dict[str, float] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cursor file {self.path} is unreadable ({exc}); move it away to start afresh")
            self.position = data.get("position", {})
            self.sent = data.get("sent", {})
            self.pending = data.get("pending", {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = json.dumps({"position": self.position, "sent": self.sent, "pending": self.pending})
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def prune(self, older_than: float) -> None:
        """Forget sent keys whose time is before ``older_than`` (they can no longer come back)."""
        self.sent = {k: t for k, t in self.sent.items() if t >= older_than}
