"""Generated Spark executor/driver logs for equivalence tests and the benchmark.

Synthetic on purpose (not copied from any evaluation data): mostly INFO noise
in the Spark default log4j layout, with a given fraction of error records
carrying Java stack traces (Caused by chains, ``... N more``, Suppressed),
bare stderr traces and PySpark tracebacks, so that both assembly paths meet
every grammar rule.
"""

from __future__ import annotations

import random

_INFO = (
    "INFO Executor: Running task {a}.0 in stage {b}.0 (TID {c})",
    "INFO MemoryStore: Block broadcast_{a} stored as values in memory (estimated size {c}.0 B, free 366.3 MiB)",
    "INFO ShuffleBlockFetcherIterator: Getting {a} (12.4 MiB) non-empty blocks including {b} local blocks",
    "INFO TransportClientFactory: Successfully created connection to /10.0.{a}.{b}:7337 after 2 ms",
    "INFO CodeGenerator: Code generated in {c}.81 ms",
    "DEBUG BlockManager: Getting local block rdd_{a}_{b}",
)
_TRACES = (
    [
        "ERROR Executor: Exception in task {a}.0 in stage {b}.0 (TID {c})",
        "java.io.IOException: Connection reset by peer",
        "\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)",
        "\tat org.apache.spark.network.util.TransportFrameDecoder.channelRead(TransportFrameDecoder.java:{c})",
        "\tat com.example.etl.Loader.run(Loader.scala:{a})",
        "Caused by: java.net.SocketException: Connection reset",
        "\tat java.net.SocketInputStream.read(SocketInputStream.java:210)",
        "\t... {b} more",
        "\tSuppressed: java.lang.IllegalStateException: stream closed",
        "\t\tat java.io.BufferedInputStream.close(BufferedInputStream.java:483)",
    ],
    [
        "WARN TaskSetManager: Lost task {a}.0 in stage {b}.0 (TID {c}) (10.0.0.{a} executor {b}): "
        "org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-{a}/10.0.0.{a}:7337",
        "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(ShuffleBlockFetcherIterator.scala:{c})",
        "Caused by: java.io.IOException: Failed to connect to host-{a}/10.0.0.{a}:7337",
        "\t... {a} more",
    ],
    [
        'Exception in thread "main" java.lang.IllegalArgumentException: requirement failed: column {a} missing',
        "\tat scala.Predef$.require(Predef.scala:281)",
        "\tat com.example.jobs.Daily.main(Daily.scala:{b})",
    ],
    [
        "Traceback (most recent call last):",
        '  File "/opt/app/job_{a}.py", line {b}, in <module>',
        "    main()",
        '  File "/opt/spark/python/lib/pyspark.zip/pyspark/sql/readwriter.py", line 1463, in save',
        "KeyError: 'col_{a}'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/app/job_{a}.py", line {c}, in <module>',
        "ValueError: bad partition {b}",
    ],
)


def generate_log(n_lines: int, error_fraction: float = 0.01, seed: int = 7) -> str:
    """About ``n_lines`` lines; ``error_fraction`` of the records are errors with traces."""
    rnd = random.Random(seed)
    out: list[str] = []
    sec = 0
    while len(out) < n_lines:
        sec += 1
        stamp = f"24/03/12 {10 + sec // 3600 % 10:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        a, b, c = rnd.randrange(100), rnd.randrange(100), rnd.randrange(10000)
        if rnd.random() < error_fraction:
            trace = rnd.choice(_TRACES)
            lines = [t.format(a=a, b=b, c=c) for t in trace]
            if trace[0].startswith(("ERROR", "WARN")):  # log4j records get the prefix
                lines[0] = f"{stamp} {lines[0]}"
            out.extend(lines)
        else:
            out.append(f"{stamp} " + rnd.choice(_INFO).format(a=a, b=b, c=c))
    return "\n".join(out) + "\n"
