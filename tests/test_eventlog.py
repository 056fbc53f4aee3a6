"""Spark event-log events (JsonProtocol's field names) as evidence and endings, and
event-log files in Spark's own codec stream formats, single or rolling."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cramjam
import pytest

from classifiers.core import load_classifier
from ingest.endings import EVENT_LOG, FAILED, SUCCEEDED
from ingest.eventlog import (
    EXECUTOR_REMOVED,
    TASK_ENDED,
    is_event_line,
    parse_line,
    read_event_log,
    record_events,
    translate,
)
from sparktriage.errors import BadInput
from sparktriage.tools.eventlogs import LZ4_MAGIC, SNAPPY_MAGIC, is_event_log, read_lines
from sparktriage.settings import Settings

APP = "application_1710230000000_2001"
CLASSIFIER = load_classifier(Settings(model_mode="off"))
TASK_INFO = {"Task ID": 14, "Index": 3, "Attempt": 0, "Partition ID": 3, "Launch Time": 1710238270000,
             "Executor ID": "2", "Host": "worker-7.example.com", "Locality": "PROCESS_LOCAL", "Speculative": False,
             "Getting Result Time": 0, "Finish Time": 1710238273000, "Failed": True, "Killed": False,
             "Accumulables": []}


def task_end(reason: dict) -> dict:
    return {"Event": "SparkListenerTaskEnd", "Stage ID": 2, "Stage Attempt ID": 0, "Task Type": "ShuffleMapTask",
            "Task End Reason": reason, "Task Info": TASK_INFO, "Task Executor Metrics": {}, "Task Metrics": None}


LOG = [
    {"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"},
    {"Event": "SparkListenerApplicationStart", "App Name": "daily-load", "App ID": APP, "Timestamp": 1710238200000,
     "User": "etl", "App Attempt ID": "1"},
    {"Event": "SparkListenerExecutorAdded", "Timestamp": 1710238210000, "Executor ID": "2",
     "Executor Info": {"Host": "worker-7.example.com", "Total Cores": 4, "Log Urls": {}}},
    {"Event": "SparkListenerTaskStart", "Stage ID": 2, "Stage Attempt ID": 0, "Task Info": TASK_INFO},
    task_end({"Reason": "ExecutorLostFailure", "Executor ID": "2", "Exit Caused By App": True,
              "Loss Reason": "Container killed by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB "
                             "physical memory used. Consider boosting spark.executor.memoryOverhead."}),
    {"Event": "SparkListenerExecutorRemoved", "Timestamp": 1710238273500, "Executor ID": "2",
     "Removed Reason": "Container killed by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical "
                       "memory used."},
    task_end({"Reason": "FetchFailed", "Block Manager Address": {"Executor ID": "2", "Host": "worker-7.example.com",
                                                                  "Port": 7337},
              "Shuffle ID": 1, "Map ID": 9, "Map Index": 9, "Reduce ID": 3,
              "Message": "org.apache.spark.shuffle.FetchFailedException: Failed to connect to "
                         "worker-7.example.com:7337\n\tat org.apache.spark.storage.ShuffleBlockFetcherIterator"
                         ".throwFetchFailedException(ShuffleBlockFetcherIterator.scala:1166)"}),
    {"Event": "SparkListenerJobEnd", "Job ID": 1, "Completion Time": 1710238280000,
     "Job Result": {"Result": "JobFailed", "Exception": {
         "Message": "Job aborted due to stage failure: ShuffleMapStage 2 (save at Load.scala:88) has failed the "
                    "maximum allowable number of times: 4. Most recent failure reason: "
                    "org.apache.spark.shuffle.FetchFailedException: Failed to connect to worker-7.example.com:7337",
         "Stack Trace": [{"Declaring Class": "org.apache.spark.scheduler.DAGScheduler",
                          "Method Name": "failJobAndIndependentStages", "File Name": "DAGScheduler.scala",
                          "Line Number": 2844}]}}},
    {"Event": "SparkListenerApplicationEnd", "Timestamp": 1710238281000},
]
LINES = [json.dumps(e, separators=(",", ":")) for e in LOG]


def test_only_event_lines_are_taken_for_events() -> None:
    assert is_event_line(LINES[0]) and not is_event_line('{"ts": "2024-03-12", "level": "INFO"}')
    assert parse_line('{"Event": 3}') is None and parse_line('{"Event":"SparkListenerJobEnd"') is None


def test_task_end_reasons_become_the_records_spark_prints_and_the_rules_read_them() -> None:
    lost = translate(LOG[4])
    assert lost.progress == TASK_ENDED and lost.host == "worker-7.example.com"
    assert "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: Container killed" \
        in (lost.text or "")
    (event,) = record_events(lost, app_id=APP, line=5, signals=CLASSIFIER.signals)
    assert (event.line, event.role, event.ts) == (5, "driver", 1710238273.0)
    assert CLASSIFIER.diagnose([event], _info()).category == "container_killed_memory"
    (fetch,) = record_events(translate(LOG[6]), app_id=APP, signals=CLASSIFIER.signals)
    assert fetch.root_class == "org.apache.spark.shuffle.FetchFailedException"
    assert CLASSIFIER.diagnose([fetch], _info()).category == "shuffle_fetch_failed"


def test_an_exception_failure_uses_its_full_stack_trace() -> None:
    failure = translate(task_end({
        "Reason": "ExceptionFailure", "Class Name": "java.lang.NullPointerException", "Description": None,
        "Stack Trace": [], "Full Stack Trace": "java.lang.NullPointerException\n\tat com.example.Udf.apply(Udf.scala:9)\n",
        "Accumulator Updates": []}))
    (event,) = record_events(failure, app_id=APP)
    assert event.exc_class == "java.lang.NullPointerException" and "com.example.Udf.apply(Udf.scala:9)" in event.text


def test_successes_kills_and_benign_removals_are_no_evidence() -> None:
    assert translate(task_end({"Reason": "Success"})).text is None
    assert translate(task_end({"Reason": "TaskKilled", "Kill Reason": "another attempt succeeded"})).text is None
    idle = translate({"Event": "SparkListenerExecutorRemoved", "Timestamp": 1, "Executor ID": "5",
                      "Removed Reason": "Executor killed by driver."})
    assert idle.text is None and idle.progress == EXECUTOR_REMOVED


def test_a_whole_event_log_gives_evidence_the_failed_job_and_an_inferred_failure() -> None:
    events, watch, skipped = read_event_log(LINES + ["not json"], app_id=APP, signals=CLASSIFIER.signals)
    assert skipped == 1
    assert len(events) == 4 and "Job aborted due to stage failure" in events[-1].text
    ending = watch.current
    assert ending is not None and (ending.status, ending.source, ending.stated) == (FAILED, EVENT_LOG, False)
    assert CLASSIFIER.diagnose(events, _info()).category == "container_killed_memory"


def test_spark_4_exit_codes_state_the_status() -> None:
    _, ok, _ = read_event_log(LINES[:2] + ['{"Event":"SparkListenerApplicationEnd","Timestamp":1,"ExitCode":0}'],
                              app_id=APP)
    assert ok.current is not None and (ok.current.status, ok.current.stated) == (SUCCEEDED, True)
    _, bad, _ = read_event_log(['{"Event":"SparkListenerApplicationEnd","Timestamp":1,"ExitCode":1}'], app_id=APP)
    assert bad.current is not None and (bad.current.status, bad.current.exit_code) == (FAILED, 1)


def _info():  # noqa: ANN202
    from sparktriage.records import AppInfo
    return AppInfo(app_id=APP, final_status=FAILED)


# --- files: Spark's codec stream formats, written here as the Java libraries write them ---

def lz4_java(data: bytes, block: int = 4096) -> bytes:
    """lz4-java's LZ4BlockOutputStream: per block the magic, token, lengths, checksum; then an end mark."""
    out = b""
    for start in range(0, len(data), block):
        chunk = data[start:start + block]
        packed = bytes(cramjam.lz4.compress_block(chunk, store_size=False))
        out += LZ4_MAGIC + struct.pack("<BIII", 0x20 | 6, len(packed), len(chunk), 0) + packed
    return out + LZ4_MAGIC + struct.pack("<BIII", 0x10 | 6, 0, 0, 0)


def snappy_java(data: bytes, block: int = 4096) -> bytes:
    """snappy-java's SnappyOutputStream: a 16-byte header, then length-prefixed raw snappy blocks."""
    out = SNAPPY_MAGIC + struct.pack(">ii", 1, 1)
    for start in range(0, len(data), block):
        packed = bytes(cramjam.snappy.compress_raw(data[start:start + block]))
        out += struct.pack(">i", len(packed)) + packed
    return out


TEXT = ("\n".join(LINES) + "\n").encode()


@pytest.mark.parametrize(("suffix", "encode"), [
    ("", lambda b: b), (".lz4", lz4_java), (".snappy", snappy_java),
    (".zstd", lambda b: bytes(cramjam.zstd.compress(b[:900])) + bytes(cramjam.zstd.compress(b[900:]))),
])
def test_every_codec_reads_back_the_same_lines(tmp_path: Path, suffix: str, encode) -> None:  # noqa: ANN001
    path = tmp_path / f"{APP}_1{suffix}"
    path.write_bytes(encode(TEXT))
    assert is_event_log(path) and list(read_lines(path)) == LINES


def test_a_file_still_being_written_is_read_to_its_last_whole_block(tmp_path: Path) -> None:
    path = tmp_path / f"{APP}.lz4.inprogress"
    data = lz4_java(TEXT, block=512)
    path.write_bytes(data[: len(data) * 2 // 3])
    got = "\n".join(read_lines(path))
    assert 0 < len(got) < len(TEXT) and TEXT.decode().startswith(got)


def test_a_rolling_directory_is_read_in_index_order(tmp_path: Path) -> None:
    folder = tmp_path / f"eventlog_v2_{APP}"
    folder.mkdir()
    for n, chunk in ((10, LINES[6:]), (2, LINES[3:6]), (1, LINES[:3])):  # 10 after 2: numeric order
        (folder / f"events_{n}_{APP}.zstd").write_bytes(bytes(cramjam.zstd.compress(("\n".join(chunk) + "\n").encode())))
    (folder / f"appstatus_{APP}").write_bytes(b"")
    assert is_event_log(folder) and list(read_lines(folder)) == LINES


def test_unreadable_event_logs_say_why(tmp_path: Path) -> None:
    lzf = tmp_path / f"{APP}.lzf"
    lzf.write_bytes(b"ZV\x00")
    with pytest.raises(BadInput, match="lzf codec is not supported"):
        list(read_lines(lzf))
    broken = tmp_path / f"{APP}.lz4"
    broken.write_bytes(b"this is not lz4 at all, not even close to it")
    with pytest.raises(BadInput, match="not lz4-java block data"):
        list(read_lines(broken))
    assert not is_event_log(tmp_path / "stderr")


def test_classify_reads_an_event_log_file_or_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sparktriage.cli import main

    folder = tmp_path / f"eventlog_v2_{APP}"
    folder.mkdir()
    (folder / f"events_1_{APP}.lz4").write_bytes(lz4_java(TEXT))
    assert main(["classify", "--json", str(folder)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["category"], data["final_status"]) == ("container_killed_memory", FAILED)
    assert main(["classify", str(folder / f"events_1_{APP}.lz4")]) == 0
    assert "ended:      FAILED" in capsys.readouterr().out
    (tmp_path / "bad.lzf").write_bytes(b"ZV")
    assert main(["classify", str(tmp_path / "bad.lzf")]) == 2
    assert "lzf codec is not supported" in capsys.readouterr().err
