"""The read API through a real HTTP client against a running ``sparktriage api``, on SQLite and PostgreSQL.

Every answer is checked against the store itself (SQL over the seeded
history), never against numbers written here.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import pytest
import sqlalchemy as sa

from sparktriage.tools.broker import free_port
from sparktriage.payload import payload_text
from sparktriage.payload import schema as payload_schema
from sparktriage.records import AppInfo
from sparktriage.history.seed import seed_store
from sparktriage.store import open_store, tokens
from sparktriage.store import schema as t
from tests.conftest import _throwaway_pg_database
from tests.diagnosis_schema import assert_valid

pytestmark = pytest.mark.slow
HOOK = "http://127.0.0.1:9/hook"  # never called: the outbox row is what the test compares


@dataclass
class Api:
    url: str
    db: str
    engine: sa.Engine
    admin: str  # a token for every team
    ads: str  # a token for team ads only
    relabelled: str  # an application with a superseded diagnosis
    hooked: str  # an application whose webhook body sits in the outbox

    def get(self, path: str, token: str | None = None, **params: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=10)


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sparktriage.cli", "--db", db, *args],
                          capture_output=True, text=True, timeout=60)


def _serve(db: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "--db", db, "api", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # imports and migrations take long on a busy machine
        while True:
            try:
                if httpx.get(url + "/v1/schema", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "api exited"
            assert time.monotonic() < deadline, "the api did not answer within 180 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _prepare(db: str) -> tuple[sa.Engine, str, str]:
    """A seeded history, one application relabelled by hand, one saved with a webhook request."""
    seed_store(db, days=10, apps_per_day=25, seed=3, labels=0)
    store = open_store(db)
    with store.engine.connect() as conn:
        first, second = conn.execute(sa.select(t.diagnoses.c.app_id).order_by(t.diagnoses.c.id).limit(2)).scalars()
    store.label(first, 1, "user_code_error", note="it was our bug", author="test")
    app = AppInfo(app_id="application_1_0001", team="ads", user="ads_1", ended=time.time() - 3600,
                  final_status="FAILED")
    current = store.current_diagnosis(second)
    assert current is not None
    store.save(app, [], current, [(HOOK, payload_text(app, current))])  # as the worker does
    return store.engine, first, app.app_id


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if request.param == "sqlite":
        databases = iter([f"sqlite:///{tmp_path_factory.mktemp('api')}/api.db"])
        close = None
    else:
        close = _throwaway_pg_database()
        databases = iter([close.__enter__()])
    db = next(databases)
    try:
        engine, relabelled, hooked = _prepare(db)
        made = _cli(db, "token", "create", "admin", "--all-teams")
        assert made.returncode == 0, made.stderr
        admin = made.stdout.strip()
        _, ads = tokens.create(engine, "ads-tool", ["ads"])
        for url in _serve(db):
            yield Api(url, db, engine, admin, ads, relabelled, hooked)
        engine.dispose()
    finally:
        if close is not None:
            close.__exit__(None, None, None)


def _team_of(api: Api, app_id: str) -> str:
    with api.engine.connect() as conn:
        return conn.execute(sa.select(t.applications.c.team).where(t.applications.c.app_id == app_id)).scalar_one()


def _expected(api: Api, where: str = "1=1", **params: object) -> list[tuple[str, int]]:
    """(app_id, attempt) of current diagnoses matching ``where``, newest end first: the API's order."""
    query = ("select a.app_id, a.attempt from applications a join diagnoses d on d.app_id = a.app_id "
             "and d.attempt = a.attempt where d.superseded is null and " + where +
             " order by a.ended desc, a.app_id desc, a.attempt desc")
    with api.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


def _walk(api: Api, token: str, **params: object) -> list[dict]:
    """Every page of /v1/diagnoses, following next_cursor."""
    items, cursor, pages = [], None, 0
    while True:
        answer = api.get("/v1/diagnoses", token, **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 1000


def _ids(items: list[dict]) -> list[tuple[str, int]]:
    return [(i["app_id"], i["attempt"]) for i in items]


def test_paging_walks_every_diagnosis_once_in_order(api: Api) -> None:
    expected = _expected(api, "a.team = :team", team="search")
    limit = len(expected) // 3 + 1  # several pages, the last one short, whatever the seeded history holds
    assert limit > 1, "the seeded history gives team search applications to page through"
    items = _walk(api, api.admin, team="search", limit=limit)
    assert _ids(items) == expected


def test_filters_match_the_store(api: Api) -> None:
    got = _walk(api, api.admin, category="input_missing", domain="data", limit=500)
    assert _ids(got) == _expected(api, "d.top_category = 'input_missing'")
    assert got and {i["domain"] for i in got} == {"data"}
    with api.engine.connect() as conn:  # a subcategory matches itself only; its top level matches all of them
        sub = conn.execute(sa.text(  # one whose top level holds more than it does, so the two answers must differ
            "select s.category from diagnoses s where s.category like '%/%' and s.superseded is null "
            "group by s.category, s.top_category having count(*) < (select count(*) from diagnoses d "
            "where d.top_category = s.top_category and d.superseded is null) order by s.category limit 1")).scalar_one()
    narrow = _walk(api, api.admin, category=sub, limit=500)
    assert _ids(narrow) == _expected(api, "d.category = :c", c=sub)
    top = _walk(api, api.admin, category=sub.split("/")[0], limit=500)
    assert _ids(top) == _expected(api, "d.top_category = :c", c=sub.split("/")[0]) and len(top) > len(narrow)
    user = got[0]["user"]
    assert _ids(_walk(api, api.admin, user=user, limit=500)) == _expected(api, "a.user = :u", u=user)
    window = _walk(api, api.admin, project="growth", since="2026-01-01T00:00:00Z", until="2099-01-01T00:00:00+02:00",
                   limit=500)
    assert _ids(window) == _expected(api, "a.wf_project = 'growth'")
    days = sorted({i["ended"][:10] for i in window})
    middle = days[len(days) // 2]
    later = _walk(api, api.admin, project="growth", since=middle, limit=500)
    assert later and all(i["ended"][:10] >= middle for i in later)
    assert len(later) < len(window)


def test_documents_are_the_webhook_document(api: Api) -> None:
    with api.engine.connect() as conn:
        body = conn.execute(sa.select(t.deliveries.c.body).where(t.deliveries.c.app_id == api.hooked)).scalar_one()
    sent = json.loads(body)
    served = api.get(f"/v1/applications/{api.hooked}", api.admin).json()["attempts"][0]["current"]
    assert {k: v for k, v in served.items() if k != "diagnosed"} == {k: v for k, v in sent.items() if k != "diagnosed"}
    made = [dt.datetime.fromisoformat(d["diagnosed"].replace("Z", "+00:00")) for d in (served, sent)]
    assert abs((made[0] - made[1]).total_seconds()) < 60  # the time stored with it, not the time of the request
    for item in _walk(api, api.admin, team="ads", limit=200):
        assert_valid(item)


def test_an_application_shows_what_its_diagnosis_superseded(api: Api) -> None:
    answer = api.get(f"/v1/applications/{api.relabelled}", api.admin)
    assert answer.status_code == 200, answer.text
    (attempt,) = answer.json()["attempts"]
    assert attempt["current"]["category"] == "user_code_error" and attempt["current"]["source"] == "human"
    (old,) = attempt["superseded"]
    assert old["source"] != "human" and old["diagnosed"] < attempt["current"]["diagnosed"]
    assert_valid(old)
    assert api.get("/v1/applications/application_0_missing", api.admin).status_code == 404


def test_a_team_token_sees_only_its_team(api: Api) -> None:
    mine = _walk(api, api.ads, limit=500)
    assert _ids(mine) == _expected(api, "a.team = 'ads'")
    other = _walk(api, api.admin, team="search", limit=50)[0]["app_id"]
    assert _team_of(api, other) == "search"
    assert api.get(f"/v1/applications/{other}", api.admin).status_code == 200
    hidden = api.get(f"/v1/applications/{other}", api.ads)
    assert hidden.status_code == 404 and other not in json.dumps(hidden.json()["detail"]).replace(other, "", 1)
    for path in ("/v1/diagnoses", "/v1/summary"):
        refused = api.get(path, api.ads, team="search")
        assert refused.status_code == 403 and "ads" in refused.json()["detail"]
    assert api.get("/v1/diagnoses", api.ads, team="ads").status_code == 200


def test_summary_counts_a_team_and_window(api: Api) -> None:
    since, until = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
    body = api.get("/v1/summary", api.ads, since=since, until=until).json()
    with api.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select d.top_category, count(*) from diagnoses d join applications a on a.app_id = d.app_id and "
            "a.attempt = d.attempt where d.superseded is null and a.team = 'ads' group by d.top_category")).all()
    assert {c["category"]: c["applications"] for c in body["by_category"]} == dict(rows)
    assert body["failed_applications"] == sum(n for _, n in rows) == sum(body["by_domain"].values())
    assert body["scope"] == "ads"
    everyone = api.get("/v1/summary", api.admin, since=since, until=until).json()
    assert everyone["failed_applications"] > body["failed_applications"]
    assert api.get("/v1/summary", api.admin, team="ads", since=since, until=until).json()["by_category"] == \
        body["by_category"]


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer stk_1_" + "x" * 43, "Basic abc"])
def test_requests_without_a_valid_token_are_refused(api: Api, header: str | None) -> None:
    answer = httpx.get(api.url + "/v1/diagnoses", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    made = _cli(api.db, "token", "create", "short-lived", "--team", "ads")
    secret = made.stdout.strip()
    assert api.get("/v1/diagnoses", secret).status_code == 200
    token_id = secret.split("_")[1]
    listed = _cli(api.db, "token", "list").stdout
    assert "short-lived" in listed and secret not in listed and secret.split("_", 2)[2] not in listed
    assert _cli(api.db, "token", "revoke", token_id).returncode == 0
    assert api.get("/v1/diagnoses", secret).status_code == 401
    assert _cli(api.db, "token", "revoke", token_id).returncode == 2  # already revoked


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"since": "yesterday"}, {"until": "2026-13-01"},
    {"category": "no_such_category"}, {"domain": "weather"}, {"cursor": "not-a-cursor"},
    {"cursor": "W10"}, {"since": "2026-02-01", "until": "2026-01-01"},
    {"since": "0001-01-01T00:00:00+05:00"}, {"team": "x" * 300},
])
def test_bad_parameters_get_a_4xx_with_a_reason(api: Api, params: dict) -> None:
    answer = api.get("/v1/diagnoses", api.admin, **params)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert answer.json()["detail"]


def test_openapi_describes_the_endpoints(api: Api) -> None:
    spec = httpx.get(api.url + "/openapi.json").json()
    assert {"/v1/applications/{app_id}", "/v1/diagnoses", "/v1/summary", "/v1/schema"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_the_schema_file_is_served(api: Api) -> None:
    schema = api.get("/v1/schema").json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == payload_schema()


def test_cli_refuses_an_unreachable_store_in_one_line(tmp_path: Path) -> None:
    done = _cli("postgresql+psycopg://postgres@127.0.0.1:1/none", "token", "list")
    assert done.returncode == 2 and "cannot open the store" in done.stderr and "Traceback" not in done.stderr


def _served(api: Api, route: str, status: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(api.url + "/metrics").text
    family = next(f for f in text_string_to_metric_families(text) if f.name == "sparktriage_api_request_seconds")
    return sum(s.value for s in family.samples if s.name.endswith("_count") and s.labels["route"] == route
               and s.labels["status"] == status)


def test_metrics_count_requests_and_the_probes_answer(api: Api) -> None:
    before = {status: _served(api, "/v1/summary", status) for status in ("200", "403")}
    for _ in range(3):
        assert api.get("/v1/summary", api.ads).status_code == 200
    assert api.get("/v1/summary", api.ads, team="search").status_code == 403
    assert _served(api, "/v1/summary", "200") == before["200"] + 3
    assert _served(api, "/v1/summary", "403") == before["403"] + 1
    assert httpx.get(api.url + "/healthz").status_code == 200
    ready = httpx.get(api.url + "/readyz")
    assert ready.status_code == 200 and ready.text.strip() == "ready"
