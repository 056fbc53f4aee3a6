"""``make bench``: every benchmark, one after the other, figures printed.

Timing figures live here, never in the tests.
"""

from __future__ import annotations

from bench import (api, classify, dashboard, ends, extract_events, metrics_cost, model, noisy, quality, relabel,
                   repack, restart, startup, watch, worker, worker_memory)

BENCHMARKS = (
    ("quality", quality.main),
    ("extract_events", extract_events.main),
    ("classify", classify.main),
    ("startup", startup.main),
    ("classify noisy", noisy.main),
    ("model", model.main),
    ("worker", worker.main),
    ("one-line records through repack", repack.main),
    ("worker start and restart", restart.main),
    ("worker memory", worker_memory.main),
    ("worker metrics cost", metrics_cost.main),
    ("ends", ends.main),
    ("relabel", relabel.main),
    ("dashboard", dashboard.main),
    ("read API", api.main),
    ("sparktriage.watchers", watch.main),
)

if __name__ == "__main__":
    for name, run in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        run()
