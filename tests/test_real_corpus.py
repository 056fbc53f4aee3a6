"""The real corpus keeps its rules: known labels, unique ids, split by source, no dev_real thread, README counts true."""

from __future__ import annotations

import re

import pytest

from classifiers.corpus.realcorpus import (
    DEV_REAL, REAL, cited_dev_pages, dedupe, load, main, place, problems, read, sources_of, texts_of, write,
)
from tests.closedpipe import to_closed_pipe


def item(n: int, url: str, label: str = "driver_oom", text: str | None = None) -> dict[str, object]:
    return {"id": f"x-{n}", "source_url": url, "source_kind": "github_issue", "text": text or f"line {n}",
            "label": label, "also_acceptable": [], "notes": "why"}


def test_the_shipped_corpus_keeps_its_rules() -> None:
    if not DEV_REAL.exists():
        pytest.skip(f"{DEV_REAL} is absent (shared/ is not beside this checkout)")
    assert problems(load(), sources_of(DEV_REAL), texts_of(DEV_REAL)) == []
    assert cited_dev_pages(load()) == [], "a page the rules were written from measures nothing"


def test_a_dev_page_the_rule_packs_cite_is_refused(tmp_path) -> None:
    (tmp_path / "PROVENANCE.md").write_text("- `s3-slow-down`: (M: troubleshooting_s3a.md, the 503 section).\n")
    (tmp_path / "a.yaml").write_text("# codes from data-flow-troubleshoot-errors.md\n")
    doc = "https://github.com/apache/hadoop/blob/trunk/hadoop-tools/hadoop-aws/src/site/markdown/tools/hadoop-aws/"
    sides = {"train": [item(1, doc + "index.md")],
             "dev": [item(2, doc + "troubleshooting_s3a.md"), item(3, doc + "troubleshooting_s3a.md#throttling"),
                     item(4, "https://learn.example/articles/data-flow-troubleshoot-errors.md"),
                     item(5, doc + "s3a.md"), item(6, "https://github.com/o/r/issues/7")]}
    found = cited_dev_pages(sides, tmp_path)
    assert [line.split(":")[1] for line in found] == ["x-2", "x-3", "x-4"]
    assert "troubleshooting_s3a.md" in found[0] and "move it to train" in found[0]


def test_the_readme_quotes_the_files_counts() -> None:
    sides = load()
    readme = (REAL / "README.md").read_text()
    unknown = sum(i["label"] == "unknown" for items in sides.values() for i in items)
    total = len(sides["train"]) + len(sides["dev"])
    quoted = re.search(r"(\d+) items: (\d+) in\s+`train.jsonl`, (\d+) in `dev.jsonl`;\s+(\d+) labelled\s+`unknown`", readme)
    assert quoted, "the README states the counts as 'N items: T in `train.jsonl`, D in `dev.jsonl`; U labelled `unknown`'"
    assert tuple(map(int, quoted.groups())) == (total, len(sides["train"]), len(sides["dev"]), unknown)


def test_problems_names_each_broken_rule() -> None:
    sides = {"train": [item(1, "u1"), item(2, "u2", label="no_such_id"), item(1, "u3")],
             "dev": [item(4, "u1", text="other"), item(5, "u5", text="line 5"), item(6, "u5", text="line 5")]}
    found = "\n".join(problems(sides, {"u3"}))
    for expected in ("'no_such_id' is not a taxonomy id", "id x-1 used 2 times", "u1: in both train and dev",
                     "u5: the same text 2 times", "u3 belongs to dev_real"):
        assert expected in found
    assert problems({"train": [item(1, "u1")], "dev": [item(2, "u2")]}) == []


def test_place_keeps_a_threads_side_and_gives_each_label_about_a_third_to_dev() -> None:
    sides = {"train": [item(1, "old-a")], "dev": [item(2, "old-b")]}
    new = [item(10, "old-b", text="more from a dev thread"), item(11, "old-a", text="line 1"),
           *(item(20 + n, f"new-{n}", label="corrupt_data") for n in range(9))]
    placed = place(new, sides)
    assert [i["id"] for i in placed["dev"] if i["source_url"] == "old-b"] == ["x-10"]
    assert all(i["id"] != "x-11" for side in placed.values() for i in side), "a known (source, text) is not added twice"
    assert sum(i["label"] == "corrupt_data" for i in placed["dev"]) == 3
    assert place(new, sides) == placed, "the rule is stable"
    assert problems({s: sides[s] + placed[s] for s in sides}) == []


def test_add_refuses_what_breaks_a_rule_and_writes_nothing(tmp_path, capsys) -> None:
    """An item from a dev_real thread (or with a repeated id) is refused by ``add`` itself, not only by a
    later ``check``: the files stay as they were."""
    if not DEV_REAL.exists():
        pytest.skip(f"{DEV_REAL} is absent (shared/ is not beside this checkout)")
    write(tmp_path / "train.jsonl", [item(1, "old-a")])
    write(tmp_path / "dev.jsonl", [item(2, "old-b")])
    before = {side: read(tmp_path / f"{side}.jsonl") for side in ("train", "dev")}
    forbidden = str(read(DEV_REAL)[0]["source_url"])
    for new in ([item(3, forbidden)], [item(1, "new-c")]):
        write(tmp_path / "new.jsonl", new)
        assert main(["add", str(tmp_path / "new.jsonl"), "--root", str(tmp_path)]) == 1
        assert "nothing written" in capsys.readouterr().out
        assert {side: read(tmp_path / f"{side}.jsonl") for side in ("train", "dev")} == before
    write(tmp_path / "new.jsonl", [item(3, "new-c")])
    assert main(["add", str(tmp_path / "new.jsonl"), "--root", str(tmp_path)]) == 0
    assert sum(len(read(tmp_path / f"{side}.jsonl")) for side in ("train", "dev")) == 3


def test_dedupe_keeps_the_first_of_each_source_and_text() -> None:
    both = [item(1, "u1"), item(2, "u1", text="line 1"), item(3, "u2")]
    assert [i["id"] for i in dedupe(both)] == ["x-1", "x-3"]


@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_that_stops_early_ends_it_quietly(buffered: bool) -> None:
    """``python -m classifiers.corpus.realcorpus check | head -3``: no traceback, the status of SIGPIPE."""
    proc = to_closed_pipe(["-m", "classifiers.corpus.realcorpus", "check"], buffered=buffered)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_thread_under_two_spellings_is_one_source(tmp_path) -> None:
    """``blob/master`` and ``blob/HEAD`` of one file, an issue and its pull request, a JIRA key with a
    query: the split check, ``place``, ``dedupe`` and the dev_real guard see one thread."""
    master = "https://github.com/o/r/blob/master/docs/known_problems.md"
    head = "https://github.com/o/r/blob/HEAD/docs/known_problems.md"
    for train_url, dev_url in ((master, head), ("https://github.com/o/r/issues/7", "https://github.com/o/r/pull/7"),
                               ("https://issues.apache.org/jira/browse/SPARK-1",
                                "http://issues.apache.org/jira/browse/SPARK-1?focusedCommentId=2#comment-2")):
        found = problems({"train": [item(1, train_url)], "dev": [item(2, dev_url, text="other")]})
        assert any("in both train and dev" in line for line in found), (train_url, dev_url)
    sides = {"train": [item(1, master)], "dev": []}  # a new thread of that label would go to dev
    placed = place([item(3, head, text="more of that file")], sides)
    assert [i["id"] for i in placed["train"]] == ["x-3"] and placed["dev"] == []
    assert place([item(4, head, text="line 1")], sides) == {"train": [], "dev": []}, "a known text under another spelling"
    assert [i["id"] for i in dedupe([item(1, master), item(2, head, text="line 1")])] == ["x-1"]
    write(tmp_path / "measured.jsonl", [item(5, master)])
    assert "belongs to dev_real" in "\n".join(problems({"train": [item(6, head)], "dev": []},
                                                       sources_of(tmp_path / "measured.jsonl")))


def test_a_measured_text_under_another_source_is_refused(tmp_path) -> None:
    """A blog mirrored in a second repository or an issue cross-posted to a second tracker carries a
    measured paste under another source: two or more of its message lines (not frames) give it away."""
    message = ("18/01/01 ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 9)\n"
               "java.lang.OutOfMemoryError: Java heap space while building the hash relation\n")
    frames = "\tat org.apache.spark.scheduler.Task.run(Task.scala:123)\n\tat java.lang.Thread.run(Thread.java:748)\n"
    write(tmp_path / "measured.jsonl", [item(1, "https://github.com/a/blog/blob/HEAD/p.md", text=message + frames)])
    measured = texts_of(tmp_path / "measured.jsonl")
    mirror = item(2, "https://github.com/b/blog-mirror/blob/main/p.md", text=message)
    assert any("repeats dev_real.jsonl item x-1" in line
               for line in problems({"train": [mirror], "dev": []}, set(), measured))
    same_frames_only = item(3, "https://github.com/c/d/issues/1", text=frames + "Caused by: something else entirely here\n")
    one_shared_line = item(4, "https://github.com/c/d/issues/2",
                           text=message.splitlines()[1] + "\nand a second message line of its own, long enough\n"
                                "and a third message line of its own, long enough too\n")
    assert problems({"train": [same_frames_only, one_shared_line], "dev": []}, set(), measured) == []


def test_a_dev_text_under_another_source_in_train_is_refused() -> None:
    """A fork of a notes repository, a mirrored blog or a documentation page split in two puts one
    paste under two URLs; with one in train and one in dev the model would be measured on what it
    trained on, although no single source sits on both sides."""
    message = ("16/08/15 ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 7)\n"
               "java.lang.OutOfMemoryError: Java heap space while growing the buffer holder\n")
    frames = "\tat org.apache.spark.scheduler.Task.run(Task.scala:89)\n"
    original = item(1, "https://github.com/a/TIL/blob/master/oom.md", text=message + frames)
    fork = item(2, "https://github.com/b/TIL/blob/master/oom.md", text=message)
    assert any("train:x-2: text repeats dev item x-1" in line
               for line in problems({"train": [fork], "dev": [original]}))
    assert problems({"train": [], "dev": [original, fork]}) == []  # both in dev: nothing measured is trained on
    other = item(3, "https://github.com/c/notes/blob/main/x.md",
                 text=message.splitlines()[1] + "\nand a second message line of its own, long enough\n"
                      "and a third message line of its own, long enough too\n")
    assert problems({"train": [other], "dev": [original]}) == []  # one shared line is a common error, not a copy


def test_every_corpus_text_is_read_into_events_without_an_error() -> None:
    """Real pastes are the widest input the extraction sees here (every script, cut lines, odd bytes):
    each one is read, whatever it yields (a text ending in '…' once raised UnicodeDecodeError)."""
    from sparktriage.tools.classify import events_of_text

    for side, items in load().items():
        for i in items:
            try:
                events_of_text(str(i["text"]), "application_1_0001")
            except Exception as exc:  # noqa: BLE001 - the item's id goes with any failure
                pytest.fail(f"{side}:{i['id']}: {exc!r}")
