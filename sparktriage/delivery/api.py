"""The read API (``sparktriage api``): diagnoses for tools that pull instead of receiving the webhook.

Every diagnosis is served as the same document as the webhook and the
output topic (``payload.build_payload``, ``schemas/diagnosis.json``), its
``diagnosed`` time the one stored with it.
Requests carry a bearer token (``sparktriage token create``); a team's
token sees only its teams' applications: another team's application is not
found, and asking for another team's list or summary is forbidden.
Parameters are checked before any query: a bad one is a 4xx saying which
and why, an unreachable store a 503, never a 500. Lists page by an opaque
keyset cursor. It reads the store the dashboards read (``store/reads.py``).
"""

import base64
import binascii
import datetime as dt
import json
import time
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sparktriage.metrics import Health, new_registry
from sparktriage.payload import SCHEMA_VERSION, build_payload, schema
from sparktriage.store import reads, tokens
from sparktriage.store.sql import diagnosis_from_row
from sparktriage.taxonomy import DOMAINS, UNKNOWN, is_known

SUMMARY_DAYS = 7
MAX_LIMIT = 500
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
#: The document says "-" for the domain of the unknown category; a filter may say "unknown" too.
_DOMAIN_IN = {UNKNOWN: "-"}

Domain = Literal["user", "data", "infra", "platform", "-", "unknown"]
assert set(DOMAINS) | {"-", UNKNOWN} == set(Domain.__args__)  # type: ignore[attr-defined]


def _iso(value: dt.datetime) -> str:
    return reads.utc(value).isoformat()


def document(row: dict[str, Any], dashboard_url: str | None = None) -> dict[str, Any]:
    """The published diagnosis document of a stored (diagnosis + application) row, as of when it was made."""
    return build_payload(reads.app_info(row), diagnosis_from_row(row), diagnosed=reads.utc(row["created"]).timestamp(),
                         dashboard_url=dashboard_url)


def _cursor(row: dict[str, Any]) -> str:
    key = [_iso(row["ended"]), row["app_id"], row["attempt"]]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _position(cursor: str) -> reads.Key:
    """A cursor back to the position it names; 400 when it is not one this API gave out."""
    try:
        ended, app_id, attempt = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = dt.datetime.fromisoformat(ended)
        if not isinstance(app_id, str) or not isinstance(attempt, int) or when.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(400, "cursor: not a cursor this API gave out (pass next_cursor unchanged)") from None
    return when.astimezone(dt.UTC), app_id, attempt


def _when(name: str, value: dt.datetime | None, default: dt.datetime) -> dt.datetime:
    """A time parameter in UTC (a time without offset is UTC)."""
    if value is None:
        return default
    try:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:
        raise HTTPException(400, f"{name}: {value.isoformat()} is out of range") from None


def _category(value: str | None) -> str | None:
    if value is not None and not is_known(value):
        raise HTTPException(400, f"category: {value!r} is not a taxonomy category (see /v1/schema or taxonomy.md)")
    return value


def _teams(token: tokens.Token, team: str | None) -> frozenset[str] | None:
    """The teams a request may read: the token's scope, narrowed by ``team``; 403 outside the scope."""
    if team is not None and not token.sees(team):
        raise HTTPException(403, f"team: this token is scoped to {token.scope}, not {team!r}")
    if team is not None:
        return frozenset({team})
    return None if token.teams is None else frozenset(token.teams)


def _ping(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("select 1"))


def create_api(engine: sa.Engine, dashboard_url: str | None = None) -> FastAPI:
    """The app; ``dashboard_url`` makes each document link to the dashboard's Explorer (as the webhook's do)."""
    # Reads only: each statement its own transaction, so no BEGIN and ROLLBACK round trips per request.
    engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    api = FastAPI(
        title="sparktriage",
        version=SCHEMA_VERSION,
        description="Root causes of failed Spark applications, as the webhook and the output topic publish them.",
    )
    bearer = HTTPBearer(auto_error=False, description="a token from `sparktriage token create`")
    registry = new_registry()
    latency = Histogram("sparktriage_api_request_seconds", "Read API requests, by route and status.",
                        ["route", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                        registry=registry)
    health = Health({"store": lambda: _ping(engine)}, stale_after=float("inf"))  # alive while it answers

    @api.middleware("http")
    async def timed(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        latency.labels(getattr(route, "path", "other"), str(response.status_code)).observe(
            time.perf_counter() - started)
        return response

    @api.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @api.get("/healthz", include_in_schema=False)
    @api.get("/readyz", include_in_schema=False)
    def probe(request: Request) -> PlainTextResponse:
        ok, why = health.ready() if request.url.path == "/readyz" else health.alive()
        return PlainTextResponse(why + "\n", status_code=200 if ok else 503)

    def token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> tokens.Token:
        if credentials is None:
            raise HTTPException(401, "an Authorization: Bearer <token> header is required",
                                headers={"WWW-Authenticate": "Bearer"})
        found = tokens.authenticate(engine, credentials.credentials)
        if found is None:
            raise HTTPException(401, "the token is unknown, revoked or malformed",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return found

    Token = Annotated[tokens.Token, Depends(token)]
    Since = Annotated[dt.datetime | None, Query(description="applications that ended at or after (ISO 8601; UTC "
                                                             "when no offset is given)")]
    Until = Annotated[dt.datetime | None, Query(description="applications that ended before (ISO 8601)")]
    Team = Annotated[str | None, Query(max_length=128, description="one team (within the token's scope)")]

    @api.exception_handler(sa.exc.OperationalError)
    async def store_unreachable(_request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        return JSONResponse({"detail": f"the store is unreachable: {str(exc.orig)[:200]}"}, status_code=503)

    @api.get("/v1/applications/{app_id}", summary="One application's diagnoses, per attempt, with their history")
    def application(app_id: Annotated[str, PathParam(max_length=128)], who: Token) -> JSONResponse:
        rows = reads.application(engine, app_id, who.teams)
        if not rows:
            raise HTTPException(404, f"no diagnosed application {app_id!r} visible to this token")
        attempts: dict[int, dict[str, Any]] = {}
        for row in rows:  # per attempt, the newest diagnosis first
            attempt = attempts.setdefault(row["attempt"], {"attempt": row["attempt"], "current": None,
                                                             "superseded": []})
            if row["superseded"] is None:
                attempt["current"] = document(row, dashboard_url)
            else:
                attempt["superseded"].append(document(row, dashboard_url))
        return JSONResponse({"app_id": app_id, "attempts": list(attempts.values())})

    @api.get("/v1/diagnoses", summary="Current diagnoses, newest end first, filtered, paged by cursor")
    def diagnoses(
        who: Token, team: Team = None, since: Since = None, until: Until = None,
        category: Annotated[str | None, Query(max_length=128, description="a taxonomy id or its top level")] = None,
        domain: Domain | None = None,
        user: Annotated[str | None, Query(max_length=128)] = None,
        project: Annotated[str | None, Query(max_length=256, description="the workflow project")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")] = None,
    ) -> JSONResponse:
        w = reads.Window(_when("since", since, _EARLIEST), _when("until", until, _LATEST), category=_category(category),
                         user=user, project=project, domain=_DOMAIN_IN.get(domain, domain), teams=_teams(who, team))
        if w.start >= w.end:
            raise HTTPException(400, "since: must be before until")
        rows = reads.page(engine, w, after=None if cursor is None else _position(cursor), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return JSONResponse({"items": [document(r, dashboard_url) for r in rows],
                             "next_cursor": _cursor(rows[-1]) if more else None})

    @api.get("/v1/summary", summary="Failed applications per category and domain, for a team and a window")
    def summary(who: Token, team: Team = None, since: Since = None, until: Until = None) -> JSONResponse:
        end = _when("until", until, dt.datetime.now(dt.UTC))
        start = _when("since", since, end - dt.timedelta(days=SUMMARY_DAYS))
        if start >= end:
            raise HTTPException(400, "since: must be before until")
        counts = reads.counts(engine, reads.Window(start, end, teams=_teams(who, team)))
        domains: dict[str, int] = {}
        for _, domain, n in counts:
            domains[domain] = domains.get(domain, 0) + n
        return JSONResponse({
            "team": team, "scope": who.scope, "since": start.isoformat(), "until": end.isoformat(),
            "failed_applications": sum(n for *_, n in counts),
            "by_domain": dict(sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_category": [{"category": c, "domain": d, "applications": n} for c, d, n in counts],
        })

    @api.get("/v1/schema", summary="The JSON Schema of the diagnosis document")
    def document_schema() -> JSONResponse:
        return JSONResponse(schema())

    return api
