"""Secrets never leave: redaction of log text before it is stored, sent or shown.

Spark logs print configuration, JDBC URLs and HTTP headers freely; an
exception excerpt can carry an AWS key or a database password straight into
a webhook or a dashboard. Every exception event is redacted once, where it
is made (``logtext.events.to_event``), so the changelog, the store, the
webhook, the output topic and the dashboards only ever see the redacted text.

Each pattern keeps the name of what it hid (``password=[REDACTED]``), so a
person can still see *that* a credential was involved. Line structure is
kept: a private key's body is replaced line by line, so excerpt positions
stay true.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# key=value or key: value settings whose name says they hold a secret
# (spark.ssl.keyPassword, fs.s3a.secret.key, javax.jdo.option.ConnectionPassword,
# aws_secret_access_key, client_secret, token...).
_SECRET_NAME = (
    r"[\w.\-]*(?:password|passwd|pwd|secret|secret[._-]?key|access[._-]?key|account[._-]?key|private[._-]?key|"
    r"api[._-]?key|apikey|token|credential|sas[._-]?token)[\w.\-]*"
)
# The value is the mask itself when the text was redacted before (a value stops at "]", so
# without that alternative "[REDACTED" would be masked again, leaving "[REDACTED]]").
_SETTING = re.compile(
    rf"(?P<name>(?<![\w.\-]){_SECRET_NAME})(?P<sep>\s*[=:]\s*|\"\s*:\s*\"|'\s*:\s*')"
    rf"(?P<value>{re.escape(MASK)}|[^\s,;&'\"\)\]}}]+)",
    re.IGNORECASE,
)
# user:password@host in URLs (s3a://KEY:SECRET@bucket, postgresql://u:p@h, https://u:p@h)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)(?P<user>[^\s:/@;]+):(?P<value>[^\s@/;]+)@", re.I)
# JDBC properties after ';' or '?'/'&' are covered by _SETTING; Oracle's user/password@ form:
_ORACLE = re.compile(r"(?P<lead>jdbc:oracle:[a-z]+:[^\s/]+/)(?P<value>[^\s@]+)@", re.I)
# a credential after the scheme word: long, and with a digit (not "Basic authentication failed")
_BEARER = re.compile(r"(?P<lead>\b(?:[Bb]earer|Basic|Token)\s+)(?P<value>(?=[\w\-.~+/]*\d)[\w\-.~+/]{16,}=*)")
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")
_PRIVATE_KEY = re.compile(
    r"(?P<begin>-----BEGIN [A-Z ]*PRIVATE KEY-----)(?P<body>.*?)(?P<end>-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    re.S,
)
# Cheap gates: most texts hold none of these, and each substitution is a regex pass. Every exception event
# is redacted, tens of thousands on a busy log: the key prefixes are one search (several times faster than
# six substring tests); the setting words, which begin with five different letters, are faster as substring
# tests, and their search finds the lines to rewrite only in a text that holds one.
_SETTING_WORDS = ("pass", "pwd", "secret", "key", "token", "credential", "sas")
_SETTING_WORD = re.compile("|".join(_SETTING_WORDS))  # in lowered text
_KEY_PREFIX = re.compile("AKIA|ASIA|AGPA|AIDA|AROA|ANPA")


def _settings(text: str, low: str) -> str:
    """``_SETTING`` over each line of ``text`` that holds a setting word and ``=`` or ``:``; the lines are
    found by one search of ``low`` (the text lowered before any redaction), not line by line: most lines of a
    trace are frames. The redactions before this one keep every line break, and a setting word they hid
    was in no setting's name, so line ``i`` of ``low`` holds the words line ``i`` of ``text`` may need."""
    lines = text.split("\n")
    index = counted = 0
    last = -1
    for m in _SETTING_WORD.finditer(low):
        index += low.count("\n", counted, m.start())
        counted = m.start()
        if index != last:
            last = index
            if "=" in lines[index] or ":" in lines[index]:
                lines[index] = _SETTING.sub(_setting, lines[index])
    return "\n".join(lines)


def _body(match: re.Match) -> str:
    body = re.sub(r"[^\n]+", MASK, match.group("body"))
    return match.group("begin") + body + match.group("end")


# Values that say a secret is absent or already hidden ("client token: N/A" in
# every YARN application report): masking them would hide that fact, and nothing else.
_NO_SECRET = frozenset(("n/a", "null", "none", "<none>", "(none)", "-", "*****", "******", "********"))


def _setting(m: re.Match) -> str:
    # "name: value" with a capital in the name is a Java exception and its message
    # (SecretManager$InvalidToken: token ...), not a setting; "=" and JSON keys always are.
    exception = m["sep"].strip() == ":" and not m["name"].islower()
    if exception or m["value"] == MASK or m["value"].lower() in _NO_SECRET:
        return m[0]
    return f"{m['name']}{m['sep']}{MASK}"


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[REDACTED]``; the same text when there is none."""
    if not text:
        return text
    low = text.lower()
    if "private key" in low:
        text = _PRIVATE_KEY.sub(_body, text)
    if "://" in text and "@" in text:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    if "jdbc:oracle" in low:
        text = _ORACLE.sub(lambda m: f"{m['lead']}{MASK}@", text)
    if any(word in low for word in _SETTING_WORDS):
        text = _settings(text, low)
    if "bearer" in low or "basic " in low or "token " in low:
        text = _BEARER.sub(lambda m: f"{m['lead']}{MASK}", text)
    if _KEY_PREFIX.search(text) is not None:
        text = _AWS_KEY_ID.sub(MASK, text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    return text
