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


#: the only digits the patterns above read: the ``s3``/``s3a``/``s3n`` schemes and the ``0x`` of hex numbers
READS_DIGITS: Final = ("s3", "0x")


class DigitFreeMasks:
    """``mask`` over many messages, computed once for messages identical but for their digits where it
    leaves no digit (the exceptions tab of a log repeating one trace with other task ids and ports).

    The patterns above read all ASCII digits alike but in the words of ``READS_DIGITS``
    (``tests/test_masking.py`` holds them to it; a placeholder never joins a digit to a letter), so two
    such messages without a digit in those places (``s`` then a digit, a digit then ``x``) are masked at
    the same places into texts that again differ only in the digits left: where the first one's mask
    keeps none, the other's is the same text."""

    def __init__(self) -> None:
        from logtext.shapes import digit_mask  # here: the model's features mask texts without logtext loaded

        self._digit_mask = digit_mask
        self._seen: dict[bytes, str] = {}  # a message with its digits as 0 -> its digit-free mask

    def __call__(self, text: str) -> str:
        key = self._digit_mask(text)
        out = self._seen.get(key)
        if out is None:
            out = mask(text)
            if _ASCII_DIGIT.search(out) is None and not any(word in key for word in _READ_MASKED):
                self._seen[key] = out
        return out


_ASCII_DIGIT: Final = re.compile("[0-9]")
_READ_MASKED: Final = tuple(re.sub("[0-9]", "0", word).encode() for word in READS_DIGITS)
