"""The store URL a person writes, made into the one SQLAlchemy opens, or refused with a reason.

Many tools write ``postgres://`` or ``postgresql://`` (SQLAlchemy would pick the
psycopg2 driver, which is not installed): both mean the installed psycopg 3.
An SQLite file under a folder that does not exist is refused rather than
silently created (a typo would otherwise scatter stores over the disk, even at
the file system's root), except under the data directory, which is ours.
"""

from __future__ import annotations

from pathlib import Path

from sparktriage.errors import ConfigError

_ALIASES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
_DIALECTS = ("sqlite", "postgresql+psycopg")
HINT = "use sqlite:///path/to/file.db or postgresql://user@host/dbname (--db / SPARKTRIAGE_DB)"


def normalize(url: str) -> str:
    """``postgres://`` and ``postgresql://`` -> ``postgresql+psycopg://``; anything unusable -> ConfigError."""
    scheme, sep, rest = url.partition("://")
    if not sep or not rest and scheme != "sqlite":
        raise ConfigError(f"the store URL {url!r} is not a URL", hint=HINT)
    scheme = _ALIASES.get(scheme, scheme)
    if scheme not in _DIALECTS:
        raise ConfigError(f"the store URL {redacted(url)} names an unsupported database {scheme!r}", hint=HINT)
    return f"{scheme}://{rest}"


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL, None for another database or an in-memory one."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def may_create_folder(url: str, data_dir: str) -> bool:
    """Whether the SQLite file's folder exists, or is the data directory or inside it (then it is made)."""
    path = sqlite_file(url)
    if path is None or path.parent.is_dir():
        return True
    folder, data = path.parent.resolve(), Path(data_dir).resolve()
    return folder == data or data in folder.parents


def check_folder(url: str, data_dir: str) -> None:
    if not may_create_folder(url, data_dir):
        path = sqlite_file(url)
        raise ConfigError(f"the store's folder {path.parent} does not exist (--db {url})",  # type: ignore[union-attr]
                          hint=f"create it first, or put the store under the data directory {data_dir}/")


def redacted(url: str) -> str:
    """The URL without its password, fit for a message."""
    head, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{head}{sep}{creds.split(':', 1)[0]}:***@{host}"
