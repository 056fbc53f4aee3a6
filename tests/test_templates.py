"""What nothing classifies, grouped into templates: most frequent first, each with a real example."""

from __future__ import annotations

from classifiers.templates import group


def test_templates_come_most_frequent_first_with_their_counts_and_a_real_example() -> None:
    rows = [
        ("com.acme.ShardError", "shard 1 refused key 10", 1),
        ("java.lang.IllegalStateException", "state went bad", 2),
        ("com.acme.ShardError", "shard 2 refused key 20", 4),
    ]
    first, second = group(rows)
    assert (first.count, second.count) == (5, 2)
    assert first.template.startswith("com.acme.ShardError: shard <NUM> refused key <NUM>")
    assert first.example == "com.acme.ShardError: shard 1 refused key 10", "the first one met, unmasked"
    assert second.example == "java.lang.IllegalStateException: state went bad"


def test_a_message_without_class_and_a_multi_line_message() -> None:
    (lone,) = group([(None, "Container exited with a non-zero exit code 137", 3)])
    assert lone.template.startswith("no-class: Container exited") and lone.count == 3
    assert lone.example == "Container exited with a non-zero exit code 137", "no class, no leading colon"
    (two_lines,) = group([("x.Err", "first line\nsecond line", 1)])
    assert "first line second line" in two_lines.template, "one line per message"
    (long,) = group([("x.Err", "word " * 100, 1)])
    assert len(long.template) <= len("x.Err: ") + 300


def test_an_empty_message_and_a_class_ending_like_the_separator_keep_their_words() -> None:
    (empty,) = group([("x.Err", "", 2), ("x.Err", None, 1)])  # type: ignore[list-item]
    assert (empty.template, empty.count, empty.example) == ("x.Err:", 3, "x.Err"), "nothing invented for no text"
    (xml,) = group([("XmlError", "bad tag X", 1)])
    assert xml.example == "XmlError: bad tag X", "only the separator of a missing part is trimmed"
