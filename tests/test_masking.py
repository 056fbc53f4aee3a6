"""Masks shared by messages identical but for their digits (``classifiers.masking.DigitFreeMasks``).

The exceptions tab masks the message of every distinct exception; a log that
repeats one trace with other task ids and ports masks it once. That is exact
only because every mask pattern reads all ASCII digits alike, which the first
test holds the module to (a ``[1-9]`` or a literal ``137`` added there fails it);
the others compare the shared masks with ``mask`` itself.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import masking
from classifiers.masking import DigitFreeMasks, mask
from rules.literals import digit_blind

#: pieces of exception messages whose digits masks read, or keep (``col_96``, an exit code)
PIECES = ("task 12.0 in stage 3.0 (TID 45)", "10.0.0.12:7337", "/data/part-00012.parquet", "blk_1073741825_1001",
          "2024-03-12 10:00:01,123", "12:00:01", "512 MB", "0x1f3a", "exit code 137", "col_96", "executor 7",
          "application_1700000000000_0042", "hdfs://nn:8020/x/1", "Lost task 3.2", "py4j-0.10.9", "ab12cd",
          "container_e01_1700000000000_0001_01_000002", "status 143", "x", "  ", ": ", "ü٣")


def test_every_mask_pattern_reads_all_digits_alike_but_in_the_words_it_names() -> None:
    sources = [p.pattern for _, p in masking.MASKS] + [masking._SPACES.pattern]
    for word in masking.READS_DIGITS:
        sources = [s.replace(word, re.sub("[0-9]", "_", word)) for s in sources]
    assert [s for s in sources if not digit_blind(s)] == []


def _other_digits(text: str, rnd: random.Random) -> str:
    return re.sub("[0-9]", lambda _: rnd.choice("0123456789"), text)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8), seed=st.integers(0, 10_000),
       variants=st.integers(1, 6))
def test_shared_masks_are_the_masks_of_each_message(parts: list[str], seed: int, variants: int) -> None:
    rnd = random.Random(seed)
    first = " ".join(parts)
    masks = DigitFreeMasks()
    for text in [first] + [_other_digits(first, rnd) for _ in range(variants)]:  # the first one's mask shared
        assert masks(text) == mask(text)


def test_a_mask_that_keeps_digits_is_not_shared() -> None:
    masks = DigitFreeMasks()
    assert masks("KeyError: 'col_96' in stage 3.0") == "KeyError: 'col_96' in stage <ID>"
    assert masks("KeyError: 'col_17' in stage 8.0") == "KeyError: 'col_17' in stage <ID>"
    assert masks("bad value 0x1f") == "bad value <HEX>" and masks("bad value 6x1f") == "bad value 6x1f"
    assert masks("Lost task 1.0 in stage 2.0") == masks("Lost task 7.0 in stage 9.0") == "Lost task <ID> in stage <ID>"
