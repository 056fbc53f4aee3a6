"""The webhook's contract: where a diagnosis goes, and how a receiver knows it came from us.

Headers of every request (documented in docs/webhook.md):

- ``X-Sparktriage-Timestamp``: Unix seconds when the request was signed;
- ``X-Sparktriage-Signature``: ``sha256=`` + hex HMAC-SHA256 of
  ``timestamp + "." + body`` with the shared secret (Stripe's scheme: the
  timestamp inside the signature stops replays of old requests);
- ``Idempotency-Key``: the same for every try of one diagnosis, so a receiver
  that saw it already answers 200 and does nothing;
- ``X-Sparktriage-Schema``: the body's schema: ``sparktriage.diagnosis/v2`` for a
  diagnosis, ``sparktriage.alert/v1`` for a spike alert; none on a Slack message
  (it is Slack's format, not ours).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from sparktriage.delivery.spikes import ALERT_SCHEMA, ALERT_SINK, SLACK_SINK
from sparktriage.payload import SCHEMA_VERSION
from sparktriage.records import AppInfo
from sparktriage.settings import Settings

TIMESTAMP = "X-Sparktriage-Timestamp"
SIGNATURE = "X-Sparktriage-Signature"
IDEMPOTENCY_KEY = "Idempotency-Key"
SCHEMA = "X-Sparktriage-Schema"
#: How old a signed request may be before a receiver should refuse it.
TOLERANCE = 300
#: The schema header of each kind of outbox body (``Delivery.sink``); None: no header.
SCHEMAS: dict[str, str | None] = {"webhook": SCHEMA_VERSION, ALERT_SINK: ALERT_SCHEMA, SLACK_SINK: None}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str | None, body: bytes, signature: str | None,
           *, now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """What a receiver checks: a fresh timestamp and a signature over it and the body."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def request_headers(secret: str | None, body: bytes, key: str, *, now: float | None = None,
                    sink: str = "webhook") -> dict[str, str]:
    """The headers of one try; ``sink`` (the outbox row's) names the body's schema."""
    timestamp = int(time.time() if now is None else now)
    headers = {"Content-Type": "application/json", IDEMPOTENCY_KEY: key, TIMESTAMP: str(timestamp),
               "User-Agent": "sparktriage-webhook"}
    schema = SCHEMAS[sink]
    if schema is not None:
        headers[SCHEMA] = schema
    if secret:
        headers[SIGNATURE] = sign(secret, timestamp, body)
    return headers


def webhook_urls(settings: Settings, app: AppInfo) -> list[str]:
    """The receiver of one application's diagnosis: its project's route, else its team's, else the default."""
    routes = settings.webhook_routes
    for key in (f"project:{app.workflow.project}", f"team:{app.team}"):
        if key in routes:
            return [routes[key]]
    return [settings.webhook_url] if settings.webhook_url else []
