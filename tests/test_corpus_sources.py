"""Every spelling of one thread's URL gets one canonical name; distinct threads keep distinct names."""

from __future__ import annotations

import pytest

from classifiers.corpus.sources import canonical

SAME = [
    ("https://github.com/snorochevskiy/streaming-jobs-manager/blob/master/docs/known_problems.md",
     "https://github.com/snorochevskiy/streaming-jobs-manager/blob/HEAD/docs/known_problems.md",
     "https://github.com/Snorochevskiy/Streaming-Jobs-Manager/blob/0123456789abcdef0123456789abcdef01234567/docs/known_problems.md",
     "https://raw.githubusercontent.com/snorochevskiy/streaming-jobs-manager/main/docs/known_problems.md",
     "https://github.com/snorochevskiy/streaming-jobs-manager/blob/main/docs/known_problems.md#kafka"),
    ("https://github.com/apache/hudi/issues/7",
     "https://github.com/apache/hudi/pull/7",
     "https://github.com/apache/hudi/pull/7/files",
     "https://github.com/apache/hudi/issues/7#issuecomment-123456",
     "http://github.com/apache/hudi/issues/7/",
     "https://www.github.com/Apache/Hudi/discussions/7"),
    ("https://issues.apache.org/jira/browse/SPARK-29206",
     "https://issues.apache.org/jira/browse/SPARK-29206?focusedCommentId=16936131&page=com.atlassian.jira.plugin",
     "http://issues.apache.org/jira/browse/spark-29206#comment-16936131",
     "https://issues.apache.org/jira/projects/SPARK/issues/SPARK-29206"),
    ("https://stackoverflow.com/questions/28901123/why-do-spark-jobs-fail/65791752",
     "https://stackoverflow.com/questions/28901123",
     "https://stackoverflow.com/q/28901123"),
    ("https://yishenggong.com/2023/03/15/boardcast-variable-causes-spark-driver-oom/",
     "http://yishenggong.com/2023/03/15/boardcast-variable-causes-spark-driver-oom",
     "https://www.yishenggong.com/2023/03/15/boardcast-variable-causes-spark-driver-oom/?utm_source=feed&utm_medium=rss",
     "https://YISHENGGONG.com/2023/03/15/boardcast-variable-causes-spark-driver-oom/#comments"),
    ("https://kb.databricks.com/python/job-fails-with-not-enough-memory-to-build-the-hash-map-error",
     "https://kb.databricks.com/en_US/python/job-fails-with-not-enough-memory-to-build-the-hash-map-error"),
    ("https://aws.amazon.com/premiumsupport/knowledge-center/emr-s3-503-slow-down/",
     "https://aws.amazon.com/it/premiumsupport/knowledge-center/emr-s3-503-slow-down/",
     "https://aws.amazon.com/en-us/premiumsupport/knowledge-center/emr-s3-503-slow-down"),
    ("https://www.wangt.cc/2019/11/20160126-%E8%A7%A3%E5%86%B3dataframe/",
     "https://www.wangt.cc/2019/11/20160126-解决dataframe"),
]

DIFFERENT = [
    "https://github.com/apache/hudi/issues/7",
    "https://github.com/apache/hudi/issues/70",
    "https://github.com/apache/spark/pull/7",
    "https://github.com/apache/hudi/blob/master/docs/known_problems.md",
    "https://github.com/apache/hudi/blob/master/docs/other.md",
    "https://github.com/apache/hudi/blob/master/docs/Known_Problems.md",
    "https://issues.apache.org/jira/browse/SPARK-2920",
    "https://issues.apache.org/jira/browse/HIVE-29206",
    "https://www.mail-archive.com/user@spark.apache.org/msg1.html",
    "https://www.mail-archive.com/user@spark.apache.org/msg2.html",
    "https://markmail.org/message/abc?q=spark",
    "https://markmail.org/message/abc?q=hadoop",
    "https://stackoverflow.com/questions/28901124",
    "https://example.org/go/page",
    "https://example.org/docs/page",
]


@pytest.mark.parametrize("spellings", SAME, ids=lambda s: s[0][:60])
def test_every_spelling_of_one_thread_has_one_name(spellings: tuple[str, ...]) -> None:
    assert {canonical(url) for url in spellings} == {canonical(spellings[0])}


def test_distinct_threads_and_files_keep_distinct_names() -> None:
    assert len({canonical(url) for url in DIFFERENT}) == len(DIFFERENT)


def test_names_say_what_they_name() -> None:
    assert canonical("https://github.com/apache/hudi/pull/7/files") == "github:apache/hudi#7"
    assert canonical("https://github.com/a/b/blob/HEAD/docs/x.md") == "github:a/b:docs/x.md"
    assert canonical("https://issues.apache.org/jira/browse/SPARK-1?x=1") == "jira:SPARK-1"
