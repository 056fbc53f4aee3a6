"""The store: applications, their exception events, diagnoses (with history),
human labels and dead letters. SQLite by default, PostgreSQL for several
workers; an in-memory twin (``MemoryStore``) for unit tests of code above it.
"""

from sparktriage.store.base import Store, fingerprint
from sparktriage.store.memory import MemoryStore
from sparktriage.store.sql import SqlStore, open_store

__all__ = ["MemoryStore", "SqlStore", "Store", "fingerprint", "open_store"]
