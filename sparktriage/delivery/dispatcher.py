"""Sending the outbox: signed webhook requests, retried with backoff and jitter, then dead-lettered.

The worker writes a diagnosis and its webhook requests in one transaction
(``Store.save(..., outgoing)``) and never calls a receiver on its stream
path: a :class:`Dispatcher` runs beside it (a faust timer) or alone
(``sparktriage deliver``), so a slow or failing receiver delays only its own
deliveries, and a restart resumes from the outbox. What happens to a try:

- 2xx: delivered;
- a network error, a timeout, 5xx, 408 or 429: tried again after
  ``webhook_backoff * 2**(tries-1)`` seconds (capped at 5 minutes) times a
  random factor in [0.5, 1.5), so that many retries do not arrive together;
- any other status, or the last of ``1 + webhook_retries`` tries: dead, with
  a ``dead_letters`` record saying why.

Every try lands in the delivery log (``delivery_attempts``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from sparktriage.settings import Settings
from sparktriage.store.base import Delivery, Outcome, Store
from sparktriage.delivery.webhook import request_headers

if TYPE_CHECKING:  # imported when there is something to send: the worker's start does not wait for httpx
    import httpx

BATCH = 32
MAX_BACKOFF = 300.0
RETRYABLE = frozenset({408, 429})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Dispatcher:
    def __init__(self, store: Store, settings: Settings, *, timeout: float | None = None,
                 rng: random.Random | None = None, clock: Callable[[], dt.datetime] = _now) -> None:
        self.store = store
        self.settings = settings
        # In the worker the timeout is the budget: no receiver holds it longer.
        self.timeout = timeout if timeout is not None else settings.webhook_timeout
        self.rng = rng or random.Random()
        self.clock = clock

    def backoff(self, tries: int) -> float:
        return min(MAX_BACKOFF, self.settings.webhook_backoff * 2 ** (tries - 1)) * self.rng.uniform(0.5, 1.5)

    async def run_once(self) -> Counter[str]:
        """Send every due delivery once (concurrently); how many ended which way."""
        due = self.store.claim_due(self.clock(), BATCH, lease=self.timeout + 5.0)
        if not due:
            return Counter()
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout) as client:
            outcomes = await asyncio.gather(*(self._send(client, d) for d in due))
        return Counter(outcomes)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Dispatch until ``stop`` is set (``sparktriage deliver``)."""
        while not stop.is_set():
            await self.run_once()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> Outcome:
        import httpx  # loaded by run_once already: its errors
        body = delivery.body.encode("utf-8")
        headers = request_headers(self.settings.webhook_secret, body, delivery.key, sink=delivery.sink)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            # httpx's timeout bounds each read, not the request: a receiver that drips
            # its answer byte by byte would hold us for ever without this overall bound.
            async with asyncio.timeout(self.timeout):
                response = await client.post(delivery.url, content=body, headers=headers)
            status = response.status_code
            if status >= 300:
                error = response.text[:300]
        except TimeoutError:
            error = f"no complete answer within the {self.timeout:g} s budget"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        tries = delivery.tries + 1
        retryable = status is None or status >= 500 or status in RETRYABLE
        outcome: Outcome
        if status is not None and 200 <= status < 300:
            outcome = "delivered"
        elif retryable and tries <= self.settings.webhook_retries:
            outcome = "retry"
        else:
            outcome = "dead"
        now = self.clock()
        next_try = now + dt.timedelta(seconds=self.backoff(tries)) if outcome == "retry" else None
        self.store.record_try(delivery, at=now, status=status, error=error,
                              duration_ms=(time.perf_counter() - started) * 1000, outcome=outcome, next_try=next_try)
        return outcome
