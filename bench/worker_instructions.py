"""Instructions per record of the worker's own work, repeatable on a loaded machine (issue 17).

Wall-clock rates on the shared 2-core machine swing by ±25 % between runs;
instruction counts do not. This drives the real agent function
(``Worker.consume``) in-process over prepared records of four applications
(``bench.worker``'s, one line per record or 100), with the tables, store and
topics of ``tests.worker_twin``, and a clock that moves 10 µs a call, so that
however slowly valgrind runs it, both sides of a comparison write the same
checkpoints and states. Under callgrind only the consuming is counted::

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=cg.out \\
        .venv/bin/python -m bench.worker_instructions 1 1000
    callgrind_annotate cg.out | head   # PROGRAM TOTALS / the records printed

Arguments: lines per record (1 or 100), lines per application. Without
valgrind it prints records per CPU-second instead.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
import types

import ingest.app
import ingest.closing
from bench.worker import _batched, _records, app_ids
from classifiers.core import load_classifier
from sparktriage.settings import Settings
from tests.worker_twin import EPOCH, Fuse, Message, Partition, Record, Stream


def _fake_clock() -> types.SimpleNamespace:
    tick = itertools.count()
    return types.SimpleNamespace(time=lambda: 1.7e9 + next(tick) * 1e-5, monotonic=lambda: next(tick) * 1e-5)


def main(per_record: int, lines_per_app: int) -> None:
    ids = app_ids(4, partitions=1)
    if per_record == 1:
        apps = [_records(a, lines_per_app, n)[:-1] for n, a in enumerate(ids)]  # no app_end: the folding only
    else:
        apps = [_batched(a, lines_per_app, n, per_record)[0][:-1] for n, a in enumerate(ids)]
    records = [r for group in zip(*apps) for r in group]
    ingest.app.time = ingest.closing.time = _fake_clock()  # type: ignore[assignment]
    fuse, acked = Fuse(), set[int]()
    worker = Partition(records, load_classifier(Settings(model_mode="off"))).worker(fuse)
    stream = Stream([Record(Message("spark-logs", 0, offset, key, value, EPOCH + offset), acked, fuse)
                     for offset, (key, value) in enumerate(records)])
    under_valgrind = "valgrind" in open("/proc/self/maps").read()  # its preload libraries are mapped in
    if under_valgrind:
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())],
                       capture_output=True, check=False)
    cpu = time.process_time()
    asyncio.run(worker.consume(stream))  # type: ignore[arg-type]
    cpu = time.process_time() - cpu
    if under_valgrind:
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())],
                       capture_output=True, check=False)
        print(f"records {len(records)} ({per_record} line(s) each): divide the instructions by this")
    else:
        print(f"records {len(records)} ({per_record} line(s) each): {len(records) / cpu:,.0f} per CPU-second")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
