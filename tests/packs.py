"""A small rule pack for unit tests of the engine, lint and root-cause selection.

Written here (not read from rules/packs) so these tests pin the engine's
behaviour independently of the built-in pack's content.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.core import Classifier
from rules.engine import RuleEngine
from rules.loader import load_packs

SMALL_PACK = '''\
pack: testpack
version: "7"
rules:
  - id: yarn-kill
    category: container_killed_memory
    priority: 90
    patterns: ['Container killed by YARN for exceeding (?:physical )?memory limits']
    explain: YARN killed the container for memory.
    remediation: Raise spark.executor.memoryOverhead.
    examples:
      match: ["Reason: Container killed by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used."]
      no_match: ["Container killed on request. Exit code is 143"]
  - id: executor-lost
    category: executor_lost
    priority: 40
    patterns: ['ExecutorLostFailure \\(executor \\w+ exited']
    explain: An executor went away.
    remediation: Look at why the executor died.
    examples:
      match: ["ExecutorLostFailure (executor 2 exited caused by one of the running tasks)"]
      no_match: ["Removed executor 2 from BlockManagerMaster"]
  - id: fetch-failed
    category: shuffle_fetch_failed
    priority: 60
    patterns: ['org\\.apache\\.spark\\.shuffle\\.FetchFailedException']
    explain: Reducers could not fetch shuffle blocks.
    remediation: Enable the external shuffle service.
    examples:
      match: ["org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337"]
      no_match: ["FetchFailed(BlockManagerId(2, host-7, 7337, None), shuffleId=0)"]
  - id: access-denied-hdfs
    category: access_denied
    scope: any
    priority: 80
    patterns: ['(?i)AccessControlException: Permission denied']
    explain: The job's user may not read or write a path.
    remediation: Ask for access.
    examples:
      match: ["org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ"]
      no_match: ["Permission granted"]
  - id: driver-oom
    category: driver_oom
    scope: driver
    priority: 85
    patterns: ['java\\.lang\\.OutOfMemoryError: Java heap space']
    explain: The driver ran out of heap.
    remediation: Raise spark.driver.memory.
    examples:
      match: ["java.lang.OutOfMemoryError: Java heap space"]
      no_match: ["java.lang.OutOfMemoryError: Metaspace"]
  - id: job-killed
    category: killed
    status: experimental
    priority: 30
    patterns: ['cancelled because SparkContext was shut down']
    explain: The application was shut down.
    remediation: Find who stopped it.
    examples:
      match: ["Job 3 cancelled because SparkContext was shut down"]
      no_match: ["Job 3 finished"]
'''


#: A generic rule (``rootcause.is_generic``: user_code_error under priority 40) for ``SMALL_PACK``: what the
#: model may overrule.
GENERIC_RULE = '''\
  - id: generic-boom
    category: user_code_error
    priority: 20
    patterns: ['GenericBoom']
    explain: Something in the job threw.
    remediation: Read the job's own stack trace.
    examples:
      match: ["GenericBoom at line 3"]
      no_match: ["all fine"]
'''

def write_pack(directory: Path, text: str = SMALL_PACK, name: str = "test.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return directory


def small_classifier(directory: Path) -> Classifier:
    """A classifier of ``SMALL_PACK`` alone and no model (the worker's unit tests: fast, and what decides is known)."""
    packs = load_packs(write_pack(directory), builtin=False)
    return Classifier(engine=RuleEngine(packs.rules, packs.version))
