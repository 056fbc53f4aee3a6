"""The model file read beside the group join: a worker consumes as soon as the broker lets it.

Importing scikit-learn and rebuilding the model's vectorizers take seconds,
and a new worker spends seconds waiting for its group join anyway; reading
the model before ``faust.Worker`` starts put both in a row (issue 17). Rules
decide most applications and need no model; a diagnosis that needs it before
it is read waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from typing import Any

import faust

log = logging.getLogger("sparktriage.worker")


def read_model_beside(app: faust.App, model: Any) -> list[BaseException]:
    """Read the model file in a thread while the worker waits for its group join (the join begins with
    a revocation), instead of before it: importing scikit-learn and rebuilding the vectorizers take
    seconds, and the join is seconds of waiting. A model that cannot be read stops the worker (faust's
    orderly stop on SIGTERM; whatever was consumed is redelivered) and the returned list holds why, for
    ``run`` to raise. A diagnosis that needs the model before it is read waits for it."""
    refusal: list[BaseException] = []
    if model is None:
        return refusal
    done = threading.Event()

    def read() -> None:
        try:
            model.predict([""])
        except Exception as exc:  # noqa: BLE001 - any failure to read it refuses the start
            refusal.append(exc)
        finally:
            done.set()

    reading = threading.Thread(target=read, name="read-model", daemon=True)

    async def start_reading(app: faust.App, revoked: set, **kwargs: Any) -> None:  # noqa: ARG001
        if reading.ident is None:
            log.info("reading the model file while the group join goes on")
            reading.start()

    app.on_partitions_revoked.connect(start_reading)

    @app.task
    async def refuse_a_model_that_cannot_be_read() -> None:  # a task: faust handles SIGTERM by then
        await asyncio.to_thread(done.wait)
        if refusal:
            os.kill(os.getpid(), signal.SIGTERM)

    return refusal
