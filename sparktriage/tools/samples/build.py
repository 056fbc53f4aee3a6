"""Rebuild the demo's sample applications (run from the repo: python -m sparktriage.tools.samples.build).

Each sample is a failed Spark application: a driver and executors whose logs
are mostly real INFO noise (lines of loghub's Spark sample, ../shared/data/
loghub/Spark_2k.log, re-timed) with the failure written in the real message
formats of Spark, YARN, Hadoop and PySpark at a plausible point. SOURCES.md
says where each failure's format comes from. Seeded: the output is stable.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOGHUB = HERE.parents[1].parent / "shared" / "data" / "loghub" / "Spark_2k.log"

KILL = [
    (0.55, "WARN TaskSetManager: Lost task 12.0 in stage 4.0 (TID 231) (node-17.prod executor 3): "
           "ExecutorLostFailure (executor 3 exited caused by one of the running tasks) Reason: Container killed by "
           "YARN for exceeding physical memory limits. 9.1 GB of 9 GB physical memory used. Consider boosting "
           "spark.executor.memoryOverhead."),
    (0.60, "WARN TaskSetManager: Lost task 3.0 in stage 5.0 (TID 260) (node-21.prod executor 5): FetchFailed("
           "BlockManagerId(3, node-17.prod, 7337, None), shuffleId=1, mapIndex=7, mapId=88, reduceId=3, message=\n"
           "org.apache.spark.shuffle.FetchFailedException: Failed to connect to node-17.prod/10.4.1.17:7337\n"
           "\tat org.apache.spark.errors.SparkCoreErrors$.fetchFailedError(SparkCoreErrors.scala:437)\n"
           "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(ShuffleBlockFetcherIterator.scala:1232)\n"
           "Caused by: java.net.ConnectException: Connection refused: node-17.prod/10.4.1.17:7337\n"
           "\t... 3 more\n)"),
    (0.70, "ERROR FileFormatWriter: Aborting job 5d1c9b1e-3f0a-4a44-9c3c-6a1f0f1e2b11.\n"
           "org.apache.spark.SparkException: Job aborted due to stage failure: ResultStage 5 (parquet at "
           "Aggregate.scala:41) has failed the maximum allowable number of times: 4. Most recent failure reason:\n"
           "org.apache.spark.shuffle.FetchFailedException: Failed to connect to node-17.prod/10.4.1.17:7337\n"
           "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2790)"),
]
#: (name, app number, team, user, queue, workflow, expected category,
#:  {container number: [(relative position, failure text)]})
SAMPLES = [
    ("yarn-memory-kill", 1042, "ads", "etl_ads", "prod", {"project": "ads", "flow": "daily_agg", "job": "aggregate",
     "execution": "88121"}, "container_killed_memory", {1: KILL}),
    ("s3-input-missing", 1043, "growth", "etl_growth", "batch", {"project": "growth", "flow": "funnel",
     "job": "load_events", "execution": "88140"}, "input_missing", {1: [
        (0.4, "ERROR ApplicationMaster: User class threw exception: org.apache.spark.sql.AnalysisException: "
              "[PATH_NOT_FOUND] Path does not exist: s3a://acme-raw/events/dt=2024-03-11.\n"
              "\tat org.apache.spark.sql.errors.QueryCompilationErrors$.dataPathNotExistError(QueryCompilationErrors.scala:1500)\n"
              "\tat org.apache.spark.sql.execution.datasources.DataSource$.$anonfun$checkAndGlobPathIfNecessary$4(DataSource.scala:757)")]}),
    ("pyspark-udf-error", 1044, "ml", "ml_feat", "adhoc", {"project": "ml", "flow": "features", "job": "score",
     "execution": "88177"}, "user_code_error", {3: [
        (0.5, "ERROR Executor: Exception in task 7.0 in stage 2.0 (TID 41)\n"
              "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
              "  File \"/opt/spark/python/lib/pyspark.zip/pyspark/worker.py\", line 1100, in main\n"
              "    process()\n"
              "  File \"/jobs/score.py\", line 58, in ratio\n"
              "    return clicks / views\n"
              "ZeroDivisionError: division by zero\n"
              "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)")]}),
    ("kerberos-token-expired", 1045, "finance", "fin_batch", "prod", {"project": "finance", "flow": "ledger",
     "job": "close_day", "execution": "88190"}, "auth_failure", {2: [
        (0.3, "WARN Client: Exception encountered while connecting to the server\n"
              "org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.security.token.SecretManager$InvalidToken): "
              "token (HDFS_DELEGATION_TOKEN token 4412 for fin_batch) can't be found in cache\n"
              "\tat org.apache.hadoop.ipc.Client.getRpcResponse(Client.java:1612)")]}),
]


def _noise(rng: random.Random, lines: list[str], n: int) -> list[str]:
    start = rng.randrange(0, len(lines) - n)
    return [line for line in lines[start:start + n] if line.strip()]


def build() -> None:
    noise = LOGHUB.read_text().splitlines()
    rng = random.Random(42)
    for name, number, team, user, queue, workflow, expected, failures in SAMPLES:
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        app_id = f"application_1710230000000_{number}"
        for c in range(1, 5):  # container 1 is the driver (YARN ApplicationMaster)
            lines = _noise(rng, noise, 80 if c == 1 else 120)
            for position, text in failures.get(c, []):
                at = int(position * len(lines))
                lines.insert(at, f"{lines[at][:17]} {text}")
            (folder / f"container_e07_1710230000000_{number}_01_{c:06d}.log").write_text("\n".join(lines) + "\n")
        meta = {"app_id": app_id, "team": team, "user": user, "queue": queue, "workflow": workflow,
                "status": "FAILED", "expected": expected}
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    build()
