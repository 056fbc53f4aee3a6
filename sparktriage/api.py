"""The read API (``sparktriage api``): diagnoses for tools that pull instead of receiving the webhook.

Every diagnosis is served as the same ``sparktriage.diagnosis/v1`` document
as the webhook and the output topic (``payload.build_payload``), inside an
entry that says when the application ended and when it was diagnosed.
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
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sparktriage.payload import SCHEMA_VERSION, build_payload
from sparktriage.store import reads, tokens
from sparktriage.store.sql import diagnosis_from_row
from sparktriage.taxonomy import DOMAINS, UNKNOWN, is_known

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "diagnosis.json"
SUMMARY_DAYS = 7
MAX_LIMIT = 500
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
#: The store writes the unknown category's domain as "-"; the API says "unknown".
_DOMAIN_OUT = {"-": UNKNOWN}
_DOMAIN_IN = {UNKNOWN: "-"}

Domain = Literal["user", "data", "infra", "platform", "unknown"]
assert set(DOMAINS) | {UNKNOWN} == set(Domain.__args__)  # type: ignore[attr-defined]


def _iso(value: dt.datetime | None) -> str | None:
    value = reads.utc(value)
    return None if value is None else value.isoformat()


def document(row: dict[str, Any]) -> dict[str, Any]:
    """The published diagnosis document of a stored (diagnosis + application) row."""
    return build_payload(reads.app_info(row), diagnosis_from_row(row))


def entry(row: dict[str, Any]) -> dict[str, Any]:
    out = {"ended": _iso(row["ended"]), "diagnosed_at": _iso(row["created"]), "diagnosis": document(row)}
    if row["superseded"] is not None:
        out["superseded_at"] = _iso(row["superseded"])
    return out


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


def load_schema() -> dict[str, Any]:
    """The diagnosis document's JSON Schema: the file shipped with the package, else derived from a sample."""
    if SCHEMA_FILE.exists():
        return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return _derived_schema()


def _derived_schema() -> dict[str, Any]:
    """Until the schema file ships: the shape of a fully populated document, every leaf nullable."""
    from sparktriage.records import AppInfo, Diagnosis

    sample = build_payload(AppInfo(app_id="a", team="t", user="u", queue="q"), Diagnosis.from_dict({
        "app_id": "a", "category": "c", "domain": "d", "confidence": 1.0, "source": "rule", "rule_id": "r",
        "hint": "h", "notes": ["n"], "rule_pack_version": "p", "model_version": "m",
        "evidence": [{"excerpt": "e", "host": "h", "container_id": "c", "ts": 1.0, "rule_id": "r"}],
        "exceptions": [{"exc_class": "E", "message": "m", "count": 1, "first_ts": 1.0, "first_container": "c",
                        "roles": ["driver"], "category": "c"}]}))

    def shape(value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return {"type": "object", "properties": {k: shape(v) for k, v in value.items()}, "required": list(value)}
        if isinstance(value, list):
            return {"type": "array", "items": shape(value[0]) if value else {}}
        kind = {bool: "boolean", int: "integer", float: "number"}.get(type(value), "string")
        return {"type": [kind, "null"]}

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_VERSION,
            "title": "sparktriage diagnosis", **shape(sample)}


def create_api(engine: sa.Engine) -> FastAPI:
    api = FastAPI(
        title="sparktriage",
        version=SCHEMA_VERSION,
        description="Root causes of failed Spark applications, as the webhook and the output topic publish them.",
    )
    bearer = HTTPBearer(auto_error=False, description="a token from `sparktriage token create`")

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
                attempt["current"] = entry(row)
            else:
                attempt["superseded"].append(entry(row))
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
        return JSONResponse({"items": [entry(r) for r in rows], "next_cursor": _cursor(rows[-1]) if more else None})

    @api.get("/v1/summary", summary="Failed applications per category and domain, for a team and a window")
    def summary(who: Token, team: Team = None, since: Since = None, until: Until = None) -> JSONResponse:
        end = _when("until", until, dt.datetime.now(dt.UTC))
        start = _when("since", since, end - dt.timedelta(days=SUMMARY_DAYS))
        if start >= end:
            raise HTTPException(400, "since: must be before until")
        counts = reads.counts(engine, reads.Window(start, end, teams=_teams(who, team)))
        domains: dict[str, int] = {}
        for _, domain, n in counts:
            domain = _DOMAIN_OUT.get(domain, domain)
            domains[domain] = domains.get(domain, 0) + n
        return JSONResponse({
            "team": team, "scope": who.scope, "since": start.isoformat(), "until": end.isoformat(),
            "failed_applications": sum(n for *_, n in counts),
            "by_domain": dict(sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_category": [{"category": c, "domain": _DOMAIN_OUT.get(d, d), "applications": n} for c, d, n in counts],
        })

    @api.get("/v1/schema", summary="The JSON Schema of the diagnosis document")
    def schema() -> JSONResponse:
        return JSONResponse(load_schema())

    return api
