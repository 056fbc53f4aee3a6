"""A Kafka outage in the log as three kinds of line: it started, it goes on, it ended.

When the broker goes away, aiokafka logs every failed reconnect, metadata
refresh, fetch and heartbeat at ERROR, about every 100 ms each: an 8-second
outage wrote some 800 lines, and a real error drowns in them. The
:class:`OutageLog` filter sits on aiokafka's loggers: the first
connection error becomes one line saying the broker is unreachable, the
client's errors after it are counted instead of printed, a reminder says
how long and how many every ``remind_every`` seconds, and once the client
has logged no error for ``quiet_after`` seconds (the client retries every
~100 ms while the broker is down, so a quiet client is a connected one),
:meth:`OutageLog.check` logs one line saying it is over.

Warnings and errors that are not about reaching the broker (an
authorization failure, a bad topic) pass through untouched outside an
outage; during one, every aiokafka warning or error is folded into it,
and the reminder quotes the latest.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

#: What aiokafka says when it cannot reach a broker or lost it.
CONNECTION_ERROR = re.compile(
    r"Unable connect to node|Connect call failed|KafkaConnectionError|NodeNotReadyError|Connection at .* closed"
    r"|Unable to update metadata|coordinator dead|Coordinator Request failed|RequestTimedOutError"
    r"|Heartbeat send request failed|Failed fetch messages|Connection refused|ConnectionResetError"
    r"|KafkaTimeoutError|Unable to request metadata|Got error produce response")

log = logging.getLogger("sparktriage.kafka")


def _is_connection_error(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += f" {type(record.exc_info[1]).__name__}"
    return bool(CONNECTION_ERROR.search(text))


class OutageLog(logging.Filter):
    """Folds the Kafka client's error flood during an outage into a start line, reminders and an end line.

    A filter on each aiokafka logger (:meth:`install`); aiokafka logs from
    more than one thread (faust runs the consumer in its own), hence the lock.
    """

    def __init__(self, *, remind_every: float = 60.0, quiet_after: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, out: logging.Logger = log) -> None:
        super().__init__()
        self.remind_every = remind_every
        self.quiet_after = quiet_after
        self.clock = clock
        self.out = out
        self._lock = threading.Lock()
        self.started: float | None = None
        self._last_error = 0.0
        self._last_reminder = 0.0
        self._folded = 0
        self._latest = ""

    def install(self, prefix: str = "aiokafka") -> None:
        """Filter every logger named ``prefix`` or ``prefix.*`` that exists (aiokafka makes one per module)."""
        logging.getLogger(prefix).addFilter(self)
        for name in list(logging.root.manager.loggerDict):
            if name.startswith(prefix + "."):
                logging.getLogger(name).addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        with self._lock:
            now = self.clock()
            if self.started is None:
                if not _is_connection_error(record):
                    return True
                self.started = self._last_error = self._last_reminder = now
                self._folded = 0
                self.out.error("Kafka broker unreachable: %s (the client keeps retrying; a reminder every %.0f s, "
                               "a line when it answers again)", record.getMessage()[:300], self.remind_every)
                return False
            self._last_error = now
            self._folded += 1
            self._latest = record.getMessage()[:300]
            if now - self._last_reminder >= self.remind_every:
                self._last_reminder = now
                self.out.error("Kafka broker still unreachable after %.0f s (%d client errors since; the latest: %s)",
                               now - self.started, self._folded, self._latest)
            return False

    def check(self) -> None:
        """End the outage once the client has been quiet for ``quiet_after`` seconds (call it every second)."""
        with self._lock:
            if self.started is None or self.clock() - self._last_error < self.quiet_after:
                return
            lasted = self._last_error - self.started
            self.started = None
        self.out.warning("Kafka broker answers again: the client's errors stopped after %.0f s (%d folded)",
                         lasted, self._folded)

    def problem(self) -> str | None:
        """For readiness: why the broker is not usable right now, or None."""
        started = self.started
        return None if started is None else f"Kafka broker unreachable for {self.clock() - started:.0f} s"
