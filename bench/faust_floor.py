"""The framework's own ceiling: a faust agent that only decodes each record's JSON.

``bench.worker`` runs it on the same topic as the worker so that the
worker's rate can be read against what faust itself reaches here, next to
the raw aiokafka consume rate. It prints one line, ``FAUST_NOOP <records/s>``,
once it has seen ``BENCH_RECORDS`` records, and exits.
"""

from __future__ import annotations

import json
import os
import time

import faust

N = int(os.environ["BENCH_RECORDS"])
app = faust.App(f"floor-{os.environ['BENCH_TOPIC']}", broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
                store="memory://", topic_partitions=1, broker_session_timeout=6, web_enabled=False,
                consumer_auto_offset_reset="earliest", stream_wait_empty=False)
topic = app.topic(os.environ["BENCH_TOPIC"], key_type=bytes, value_type=bytes,
                  key_serializer="raw", value_serializer="raw")


@app.agent(topic)
async def count(stream: faust.StreamT) -> None:
    seen, t0 = 0, None
    async for event in stream.noack().events():
        t0 = t0 or time.perf_counter()
        json.loads(event.message.value)
        event.ack()
        seen += 1
        if seen >= N:
            print(f"FAUST_NOOP {N / (time.perf_counter() - t0):.0f}", flush=True)
            os._exit(0)  # the measurement is done; faust's shutdown is not part of it


if __name__ == "__main__":
    app.main()
