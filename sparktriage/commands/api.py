"""Commands of the read API: ``api`` serves it, ``token`` makes, lists and revokes its bearer tokens.

Registered into ``sparktriage.commands`` like those of ``stream``; each handler
resolves its inputs, calls one library function and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sparktriage.commands import arg, command

if TYPE_CHECKING:
    from sparktriage.settings import Settings


def _engine(settings: Settings, name: str):  # noqa: ANN202 - sa.Engine, imported lazily
    """The store's engine, or None after saying in one line why it cannot be opened."""
    import sqlalchemy as sa

    from sparktriage.store import open_store

    try:
        return open_store(settings.db).engine
    except (sa.exc.OperationalError, sa.exc.ArgumentError, ImportError) as exc:
        print(f"sparktriage {name}: cannot open the store {settings.db}: {str(exc).splitlines()[0]}", file=sys.stderr)
        print("  check --db / SPARKTRIAGE_DB and that the database is up", file=sys.stderr)
        return None


@command(
    "api",
    "serve the read API over the store: diagnoses by application, filtered lists, summaries, the schema",
    "sparktriage --db postgresql+psycopg://triage@db/triage api --host 0.0.0.0 --port 8600",
    args=[arg("--host", dest="api_host", help="address to listen on (default 127.0.0.1)"),
          arg("--port", dest="api_port", type=int, help="port (default 8600)")],
)
def _api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from sparktriage.delivery.api import create_api
    from sparktriage.reach import port_free

    engine = _engine(settings, "api")
    if engine is None:
        return 2
    port_free(settings.api_host, settings.api_port, "the read API")
    print(f"read API on http://{settings.api_host}:{settings.api_port}/v1/ (OpenAPI at /docs; store {settings.db}; "
          "Ctrl-C stops it)", flush=True)
    uvicorn.run(create_api(engine, settings.dashboard_url), host=settings.api_host, port=settings.api_port, log_level="warning")
    return 0


@command(
    "token",
    "bearer tokens of the read API: `create NAME --team T` (or --all-teams) prints one once; `list`; `revoke ID`",
    "sparktriage token create airflow-ads --team ads",
    args=[arg("action", choices=["create", "list", "revoke"], help="what to do"),
          arg("target", nargs="?", help="create: a name for the token; revoke: its id"),
          arg("--team", action="append", default=[], help="a team the token may read (repeat for several)"),
          arg("--all-teams", action="store_true", help="the token reads every team (admins, platform tools)")],
)
def _token(args: argparse.Namespace, settings: Settings) -> int:
    from sparktriage.store import tokens

    def usage(problem: str) -> int:
        print(f"sparktriage token {args.action}: {problem}", file=sys.stderr)
        return 2

    if args.action == "create" and not args.target:
        return usage("give the token a name, e.g. `token create airflow-ads --team ads`")
    if args.action == "create" and bool(args.team) == args.all_teams:
        return usage("give its teams (--team T, repeatable) or --all-teams")
    if args.action == "revoke" and not (args.target or "").isdigit():
        return usage("give the id of the token to revoke (see `token list`)")
    engine = _engine(settings, "token")
    if engine is None:
        return 2
    if args.action == "create":
        token, secret = tokens.create(engine, args.target, None if args.all_teams else args.team)
        print(f"token {token.id} ({token.name}, {token.scope}); shown this once, keep it secret:", file=sys.stderr)
        print(secret)
    elif args.action == "list":
        for token in tokens.listed(engine):
            state = f"revoked {token.revoked:%Y-%m-%d %H:%M}" if token.revoked else "live"
            print(f"{token.id:>5}  {token.name:24s}  {token.scope:30s}  created {token.created:%Y-%m-%d %H:%M}  {state}")
    elif not tokens.revoke(engine, int(args.target)):
        return usage(f"no live token {args.target}")
    else:
        print(f"token {args.target} revoked")
    return 0
