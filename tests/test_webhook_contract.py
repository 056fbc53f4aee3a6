"""The webhook's headers and signature check, exactly as docs/webhook.md states them (no server needed)."""

from __future__ import annotations

import pytest

from sparktriage.payload import SCHEMA_VERSION
from sparktriage.delivery.webhook import TOLERANCE, request_headers, sign, verify

SECRET, BODY, NOW = "s3cret", b'{"app_id": "application_1_0001"}', 1_700_000_000


def test_every_request_carries_the_documented_headers() -> None:
    assert request_headers(SECRET, BODY, "application_1_0001/1/abc", now=NOW + 0.9) == {
        "Content-Type": "application/json",
        "Idempotency-Key": "application_1_0001/1/abc",
        "X-Sparktriage-Schema": SCHEMA_VERSION,
        "X-Sparktriage-Timestamp": str(NOW),
        "User-Agent": "sparktriage-webhook",
        "X-Sparktriage-Signature": sign(SECRET, NOW, BODY),
    }
    assert "X-Sparktriage-Signature" not in request_headers(None, BODY, "k", now=NOW), "no secret, no signature"


def test_the_signature_is_an_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == "sha256=" + expected
    assert sign(SECRET, NOW, BODY) != sign(SECRET, NOW + 1, BODY) != sign("other", NOW, BODY)


@pytest.mark.parametrize(("timestamp", "signature"), [
    (None, "sha256=x"), ("", "sha256=x"), (str(NOW), None), (str(NOW), ""), ("17e8", "sha256=x"), ("-5", "sha256=x"),
])
def test_a_request_without_a_usable_timestamp_or_signature_is_refused(timestamp, signature) -> None:
    assert verify(SECRET, timestamp, BODY, signature, now=NOW) is False


def test_a_request_is_accepted_up_to_the_tolerance_and_not_after() -> None:
    for age in (0, TOLERANCE, -TOLERANCE):
        stamp = NOW - age
        assert verify(SECRET, str(stamp), BODY, sign(SECRET, stamp, BODY), now=NOW) is True, age
    for age in (TOLERANCE + 1, -TOLERANCE - 1):
        stamp = NOW - age
        assert verify(SECRET, str(stamp), BODY, sign(SECRET, stamp, BODY), now=NOW) is False, age
    assert verify(SECRET, str(NOW), BODY + b" ", sign(SECRET, NOW, BODY), now=NOW) is False, "the body changed"
    assert verify("other", str(NOW), BODY, sign(SECRET, NOW, BODY), now=NOW) is False, "another secret"
