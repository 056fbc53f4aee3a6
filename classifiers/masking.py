"""Masking of the variable parts of log text before it is vectorised or grouped.

Why: two failures with the same cause differ in application ids, hosts, paths
and sizes. Left in, those tokens make the model memorise identifiers instead
of learning messages, and make every unknown exception its own template.
Each mask replaces one kind of variable token with a stable placeholder
(``<APP>``, ``<HOST>``, ...). Order matters: specific shapes (YARN ids, URIs,
timestamps) are masked before the generic ones (paths, numbers) that would
otherwise eat them piecemeal.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

#: (placeholder, pattern) in the order they are applied.
MASKS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # Timestamps first: their digits and colons would otherwise look like numbers and ports.
        ("<TS>", r"\b\d{2,4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        ("<TS>", r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"),
        ("<UUID>", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
        ("<APP>", r"\b(?:application|app|appattempt|job)_\d{10,}_\d+(?:_\d+)?\b|\bapp-\d{14}-\d{4}\b|\bspark-application-\d+\b"),
        ("<CONTAINER>", r"\bcontainer_(?:e\d+_)?\d{10,}_\d+_\d+_\d+\b"),
        ("<URI>", r"\b(?:hdfs|s3a?|s3n|gs|abfss?|wasbs?|file|viewfs|maprfs|jdbc:\w+|thrift|https?)://[^\s'\"),\]]+"),
        ("<IP>", r"(?<![\w.])/?\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"),
        ("<HOST>", r"\b(?:[a-zA-Z][\w-]*\.)+(?:com|net|org|local|internal|lan|corp|cluster|svc)(?::\d{1,5})?\b(?!\.\w)"),
        ("<HOST>", r"\b(?:ip-\d+-\d+-\d+-\d+|[a-z][a-z-]*-?\d+[a-z\d-]*)(?::\d{2,5})\b"),
        ("<PATH>", r"(?<![\w<>])(?:/[\w.@$+=-]+){2,}/?"),
        ("<BLOCK>", r"\b(?:blk_-?\d+(?:_\d+)?|(?:rdd|shuffle|broadcast|taskresult|input)_\d+(?:_\w+)*(?:\.\w+)?)\b"),
        ("<SIZE>", r"\b\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|[KMGTP]B?|bytes?|[kmg]b)\b"),
        ("<HEX>", r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{12,}\b"),
        # Spark task/stage/executor ids ("stage 3.0", "TID 1234", "executor 17") keep their keyword.
        ("<ID>", r"(?<=\b(?:TID|tid) )\d+\b|(?<=\bstage )\d+(?:\.\d+)?\b|(?<=\btask )\d+(?:\.\d+)?\b|(?<=\bexecutor )\d+\b|(?<=\bpartition )\d+\b"),
        # Exit codes (137, 143, -100, 52...) name the cause, so they stay.
        ("<NUM>", r"(?<![\w<])(?<![Cc]ode )(?<![Ss]tatus: )(?<![Ss]tatus )(?<![Ss]tatus: -)(?<!exitCode=)[-+]?\d+(?:\.\d+)?(?![\w>])"),
    )
)

_SPACES: Final = re.compile(r"[ \t]+")


_TIMESTAMPS: Final = sum(1 for name, _ in MASKS if name == "<TS>")
assert all(name == "<TS>" for name, _ in MASKS[:_TIMESTAMPS]), "timestamps are masked first"


def mask(text: str) -> str:
    """Replace every variable token of ``text`` by its placeholder.

    Newlines are kept (line structure carries meaning for frames); runs of
    spaces collapse so that alignment padding does not split templates.
    Timestamps go first and cheaply; the rest is remembered per text without
    them, so a warning repeated thousands of times is masked once.
    """
    for placeholder, pattern in MASKS[:_TIMESTAMPS]:
        text = pattern.sub(placeholder, text)
    return _mask_after_timestamps(text)


@lru_cache(maxsize=4096)
def _mask_after_timestamps(text: str) -> str:
    for placeholder, pattern in MASKS[_TIMESTAMPS:]:
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text)
