"""The failure taxonomy (v1): category ids and the domain that owns each fix.

The ids are a contract shared by rule packs, the model, the store, the
dashboards and every evaluation set (see ``shared/spec/taxonomy.md``). A rule
may add a sub-category (``executor_oom/gc_overhead``); the part before the
slash must be one of these ids.
"""

from __future__ import annotations

from typing import Final

UNKNOWN: Final = "unknown"

#: id -> (domain, one-line meaning)
CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "driver_oom": ("user", "the driver JVM ran out of heap"),
    "executor_oom": ("user", "an executor JVM ran out of heap or spent all its time in GC"),
    "container_killed_memory": ("user", "the resource manager killed a container for using more memory than granted"),
    "result_size_exceeded": ("user", "results collected to the driver exceeded spark.driver.maxResultSize"),
    "input_missing": ("data", "an input path, table, partition or object does not exist"),
    "access_denied": ("user", "the job's identity is not allowed to read or write something"),
    "auth_failure": ("platform", "authentication failed or credentials expired"),
    "shuffle_fetch_failed": ("infra", "reducers could not fetch shuffle blocks"),
    "shuffle_auth_timeout": ("infra", "the shuffle service timed out during the authentication handshake"),
    "executor_lost": ("infra", "executors or nodes went away"),
    "network_error": ("infra", "connections refused, reset or timed out; names not resolvable; RPC timeouts"),
    "disk_full": ("infra", "local or distributed storage ran out of space or disks failed"),
    "storage_throttled": ("infra", "the object store or file system throttled requests"),
    "metastore_error": ("infra", "the Hive metastore / catalog could not be reached or failed"),
    "broadcast_timeout": ("user", "a broadcast exchange did not finish in time"),
    "serialization_error": ("user", "something could not be serialized or a serializer buffer overflowed"),
    "sql_analysis_error": ("user", "the query does not compile"),
    "schema_mismatch": ("data", "data does not match the schema the job expects"),
    "corrupt_data": ("data", "input files are corrupt, truncated or malformed"),
    "dependency_error": ("user", "classpath or Python environment problems"),
    "user_code_error": ("user", "an uncaught exception thrown by the job's own code or UDFs"),
    "python_worker_crashed": ("user", "the PySpark Python worker process died"),
    "stack_overflow": ("user", "a stack overflow (deep plans, deep recursion)"),
    "resource_unavailable": ("platform", "the job could not get the resources it asked for"),
    "killed": ("platform", "the application was killed or cancelled from outside"),
    UNKNOWN: ("-", "none of the above could be established with enough confidence"),
}

DOMAINS: Final = ("user", "data", "infra", "platform")


def top_level(category: str) -> str:
    """``executor_oom/gc_overhead`` -> ``executor_oom``."""
    return category.split("/", 1)[0]


def is_known(category: str) -> bool:
    """True when the category (or its top-level part) is a taxonomy id."""
    return top_level(category) in CATEGORIES


def domain_of(category: str) -> str:
    """The domain that usually owns the fix; ``-`` for unknown."""
    return CATEGORIES[top_level(category)][0]
