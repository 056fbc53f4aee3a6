"""A file written whole or not at all, for the caches several processes share (``rules.cache``,
``logtext.signals``): a reader never sees half a compiled database, whoever writes at the same time."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` through a temporary file beside it; on failure nothing is left behind."""
    import tempfile  # here: only a start that compiles something writes

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
