"""Reading Spark event-log files: plain, compressed, single or rolling.

Spark writes an application's event log either as one file
(``<app id>[_<attempt>][.<codec>][.inprogress]``) or, with
``spark.eventLog.rolling.enabled``, as a directory ``eventlog_v2_<app id>``
of ``events_<n>_<app id>[.<codec>]`` files (read in ``n`` order) beside an
``appstatus_*`` marker. The codec is the file's extension (Spark's short
names) and each is Spark's own stream format, not the command-line tools':

- ``.lz4``: lz4-java's ``LZ4BlockOutputStream`` blocks (``LZ4Block`` magic,
  a token, compressed and original lengths, a checksum, the block);
- ``.snappy``: snappy-java's ``SnappyOutputStream`` (a 16-byte header, then
  length-prefixed raw snappy blocks);
- ``.zstd``: ordinary zstd frames (zstd-jni).

``cramjam`` decodes the blocks. A file still being written (``.inprogress``)
is read up to its last complete block. ``.lzf`` is refused with a message.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

from sparktriage.errors import BadInput

ROLLING_DIR = "eventlog_v2_"
_ROLLING_FILE = re.compile(r"^events_(\d+)_")
LZ4_MAGIC = b"LZ4Block"
_LZ4_HEADER = struct.Struct("<BIII")  # token, compressed length, original length, checksum
_LZ4_RAW, _LZ4_COMPRESSED = 0x10, 0x20
SNAPPY_MAGIC = b"\x82SNAPPY\x00"
_SNAPPY_HEADER = 16  # magic, version, compatible version
CODECS = ("lz4", "snappy", "zstd", "lzf")


def codec_of(path: Path) -> str | None:
    """Spark's codec short name from the file name (``.inprogress`` ignored), or None for plain text."""
    name = path.name.removesuffix(".inprogress")
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix if suffix in CODECS else None


def _lz4_blocks(raw: bytes) -> Iterator[bytes]:
    import cramjam

    pos = 0
    head = len(LZ4_MAGIC) + _LZ4_HEADER.size
    while pos + head <= len(raw):
        if raw[pos:pos + len(LZ4_MAGIC)] != LZ4_MAGIC:
            raise BadInput("bad_event_log", f"not lz4-java block data at byte {pos}")
        token, compressed, original, _checksum = _LZ4_HEADER.unpack_from(raw, pos + len(LZ4_MAGIC))
        body = raw[pos + head:pos + head + compressed]
        if len(body) < compressed:
            return  # a file still being written: stop at the last whole block
        pos += head + compressed
        if original == 0:
            continue  # the end mark (or a flush of nothing)
        method = token & 0xF0
        yield body if method == _LZ4_RAW else bytes(cramjam.lz4.decompress_block(body, output_len=original))


def _snappy_blocks(raw: bytes) -> Iterator[bytes]:
    import cramjam

    if not raw.startswith(SNAPPY_MAGIC):
        raise BadInput("bad_event_log", "not snappy-java stream data (no SNAPPY header)")
    pos = _SNAPPY_HEADER
    while pos + 4 <= len(raw):
        (size,) = struct.unpack_from(">i", raw, pos)
        body = raw[pos + 4:pos + 4 + size]
        if size < 0 or len(body) < size:
            return
        pos += 4 + size
        yield bytes(cramjam.snappy.decompress_raw(body))


def decode(raw: bytes, codec: str | None) -> bytes:
    """The event log's text bytes from a file's bytes in ``codec``."""
    if codec is None:
        return raw
    if codec == "lz4":
        return b"".join(_lz4_blocks(raw))
    if codec == "snappy":
        return b"".join(_snappy_blocks(raw))
    if codec == "zstd":
        import cramjam

        try:
            return bytes(cramjam.zstd.decompress(raw))
        except cramjam.DecompressionError as exc:
            raise BadInput("bad_event_log", f"zstd: {exc} (a file still being written cannot be read yet)") from exc
    raise BadInput("bad_event_log", f"the {codec} codec is not supported: set spark.io.compression.codec "
                                    "to lz4, snappy or zstd, or decompress the file first")


def event_log_files(path: Path) -> list[Path]:
    """The files of one event log: the file itself, or a rolling directory's ``events_*`` in order."""
    if not path.is_dir():
        return [path]
    parts = [(int(m.group(1)), p) for p in path.iterdir() if (m := _ROLLING_FILE.match(p.name))]
    if not parts:
        raise BadInput("bad_event_log", f"{path}: a rolling event-log directory with no events_* file")
    return [p for _, p in sorted(parts)]


def is_event_log(path: Path) -> bool:
    """A rolling event-log directory, a file with a codec extension of Spark's, or text starting as one."""
    if path.is_dir():
        return path.name.startswith(ROLLING_DIR)
    if codec_of(path) is not None:
        return True
    if not path.is_file():
        return False  # a pipe (``classify <(zcat app.log.gz)``) is read once: a look at its start would take it
    try:
        with path.open("rb") as fh:
            return fh.read(len(b'{"Event":')) == b'{"Event":'
    except OSError:
        return False


def read_lines(path: Path) -> Iterator[str]:
    """Every line of an event log (file or rolling directory), decoded."""
    for part in event_log_files(path):
        text = decode(part.read_bytes(), codec_of(part)).decode("utf-8", errors="replace")
        yield from text.splitlines()
