"""The framework's own ceiling: a faust agent that only decodes each record's JSON, as the worker does.

``bench.worker`` runs it on the same topic as the worker so that the
worker's rate can be read against what faust itself reaches here, next to
the raw aiokafka consume rate. It prints one line, ``FAUST_NOOP <records/s>
<records per CPU-second>``, once it has seen ``BENCH_RECORDS`` records, and
exits. It decodes with the worker's own decoder (``ingest.envelope.decode_record``: msgspec, the
checks before it), so that the worker's rate is read against the same decoding, not a slower one; like
the worker, it serves no web port (two of them at once collided on faust's 6066). The second figure is the process's CPU time over the same stretch: on
a machine other work loads it compares with the worker's far better than the
wall-clock rate (each gets whatever share of the cores is left).

It runs on the worker's consumer (``ingest.faststart.use_prompt_consumer``: its
fetch wait, no leader-election topic), so that the two differ only in what
their agents do; on faust's own (1.5 s fetch waits, an empty leader partition
in every fetch) it spent most of its time waiting on records of 100 lines.
"""

from __future__ import annotations

import os
import time
import uuid

import faust

from ingest.envelope import decode_record
from ingest.faststart import use_prompt_consumer

N = int(os.environ["BENCH_RECORDS"])
# a group of its own each run: a second run on the topic reads it all again, not from the first's commits
app = faust.App(f"floor-{os.environ['BENCH_TOPIC']}-{uuid.uuid4().hex[:6]}",
                broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}", store="memory://", topic_partitions=1, broker_session_timeout=6, web_enabled=False,
                consumer_auto_offset_reset="earliest", stream_wait_empty=False, topic_disable_leader=True)
use_prompt_consumer(app)
topic = app.topic(os.environ["BENCH_TOPIC"], key_type=bytes, value_type=bytes,
                  key_serializer="raw", value_serializer="raw")


@app.agent(topic)
async def count(stream: faust.StreamT) -> None:
    seen, t0, cpu0 = 0, 0.0, 0.0
    async for event in stream.noack().events():
        if not seen:
            t0, cpu0 = time.perf_counter(), time.process_time()
        decode_record(event.message.value)
        event.ack()
        seen += 1
        if seen >= N:
            print(f"FAUST_NOOP {N / (time.perf_counter() - t0):.0f} {N / (time.process_time() - cpu0):.0f}",
                  flush=True)
            os._exit(0)  # the measurement is done; faust's shutdown is not part of it


if __name__ == "__main__":
    app.main()
