"""One name per source thread, so that two spellings of one thread's URL never land in both corpus splits.

The corpus files cite each excerpt by the URL it was copied from, and engineers
copy URLs as their browser or search tool shows them: a GitHub file under
``blob/master/`` one day and ``blob/HEAD/`` (or a commit) the next, a pull
request as ``/pull/7`` and its issue page as ``/issues/7`` (GitHub numbers
issues, pull requests and discussions of one repository in one sequence, so a
number is one thread), a JIRA issue with ``?focusedCommentId=...``, a page with
``#anchor`` or ``?utm_source=...``. The split rule ("no thread in two splits")
is only as good as the comparison of sources, so it compares these names.

``canonical(url)`` gives:

- ``github:owner/repo#N`` for GitHub issues, pull requests and discussions (any
  sub-page: ``/files``, ``/commits``, a comment anchor);
- ``github:owner/repo:path`` for a file at any ref (``blob``, ``tree``, ``raw``,
  ``raw.githubusercontent.com``, ``blame``), the ref being one path segment
  (a branch, a tag, ``HEAD`` or a commit);
- ``jira:KEY-N`` for an issue of any JIRA (``/browse/KEY-N``,
  ``/projects/P/issues/KEY-N``), query and fragment dropped;
- ``stackoverflow:N`` for a Stack Overflow question, whichever answer the URL names;
- ``github:owner/repo`` and what follows for other GitHub pages (a wiki page);
- otherwise ``host/path?query``: scheme, ``www.``, fragment, tracking
  parameters (``utm_*``, ``fbclid``, ``gclid``, ...), a leading locale segment
  (``/en_US/``, ``/en-us/``, ``/it/``: one page in several languages' menus) and
  trailing slashes dropped, host lowercased, percent-escapes decoded,
  remaining parameters sorted.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

GITHUB_HOSTS = frozenset({"github.com", "raw.githubusercontent.com"})
THREADS = frozenset({"issues", "pull", "pulls", "discussions"})
FILES = frozenset({"blob", "tree", "raw", "blame", "edit"})
JIRA_KEY = re.compile(r"/(?:browse|issues)/([A-Za-z][A-Za-z0-9_]*-\d+)$")
STACK_QUESTION = re.compile(r"^/(?:questions|q)/(\d+)(?:/|$)")
TRACKING = re.compile(r"^(?:utm_.*|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|spm)$", re.IGNORECASE)
LOCALE = re.compile(r"^/(?:[a-z]{2}[-_][a-z]{2}|en|de|es|fr|it|ja|ko|pt|ru|zh)(?=/)", re.IGNORECASE)


def canonical(url: str) -> str:
    """The name of the thread or file ``url`` points at, equal for every spelling of it (see the module docstring)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = unquote(parts.path).rstrip("/")
    segments = [s for s in path.split("/") if s]
    if host in GITHUB_HOSTS:
        named = _github(host, segments)
        if named:
            return named
    key = JIRA_KEY.search(path)
    if key and "jira" in (host + path).lower():
        return f"jira:{key.group(1).upper()}"
    question = STACK_QUESTION.match(path)
    if question and host == "stackoverflow.com":
        return f"stackoverflow:{question.group(1)}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)))
    return f"{host}{LOCALE.sub('', path)}" + (f"?{query}" if query else "")


def _github(host: str, segments: list[str]) -> str | None:
    """``github:owner/repo#N`` or ``github:owner/repo:path``, or None for a URL that names no repository.

    Owner and repository names are case-insensitive on GitHub; file paths are not.
    """
    if len(segments) < 2:
        return None
    repo = f"{segments[0]}/{segments[1]}".lower()
    if host == "raw.githubusercontent.com":  # /owner/repo/ref/path
        return f"github:{repo}:{'/'.join(segments[3:])}" if len(segments) > 3 else None
    if len(segments) > 3 and segments[2] in THREADS and segments[3].isdigit():
        return f"github:{repo}#{int(segments[3])}"
    if len(segments) > 4 and segments[2] in FILES:
        return f"github:{repo}:{'/'.join(segments[4:])}"
    return f"github:{repo}" + ("/" + "/".join(segments[2:]) if len(segments) > 2 else "")
