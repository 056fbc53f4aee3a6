"""Bearer tokens of the read API: made once, kept only as a hash, scoped to teams.

A token reads ``stk_<id>_<secret>``. The id finds its row; the secret's
SHA-256 is compared with the stored hash in constant time
(``hmac.compare_digest``), so neither a database dump nor response timing
gives a token away. The secret is 32 random bytes: a fast hash is enough
(nothing to brute-force, unlike a password). A token's scope is a list of
teams, or every team (``teams`` null: an admin's or a platform tool's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from sparktriage.store import schema as t
from sparktriage.store.reads import utc

PREFIX = "stk_"
_SHAPE = re.compile(r"stk_(\d{1,18})_([A-Za-z0-9_-]{20,100})")


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    teams: tuple[str, ...] | None  # None: every team
    created: dt.datetime
    revoked: dt.datetime | None = None

    def sees(self, team: str | None) -> bool:
        return self.teams is None or team in self.teams

    @property
    def scope(self) -> str:
        return "all teams" if self.teams is None else ", ".join(self.teams)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _token(row: sa.Row) -> Token:
    teams = None if row.teams is None else tuple(row.teams)
    return Token(row.id, row.name, teams, utc(row.created), utc(row.revoked))


def create(engine: sa.Engine, name: str, teams: Sequence[str] | None) -> tuple[Token, str]:
    """A new token; returns it with the only copy of its secret (print it once, never store it)."""
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    scope = None if teams is None else sorted(set(teams))
    with engine.begin() as conn:
        token_id = conn.execute(sa.insert(t.api_tokens).values(
            name=name, secret_hash=_hash(secret), teams=scope, created=now)).inserted_primary_key[0]
    token = Token(token_id, name, None if scope is None else tuple(scope), now)
    return token, f"{PREFIX}{token_id}_{secret}"


def listed(engine: sa.Engine) -> list[Token]:
    with engine.connect() as conn:
        return [_token(r) for r in conn.execute(sa.select(t.api_tokens).order_by(t.api_tokens.c.id))]


def revoke(engine: sa.Engine, token_id: int) -> bool:
    """Revoke a token at once; False when there is no such live token."""
    a = t.api_tokens
    with engine.begin() as conn:
        return conn.execute(sa.update(a).where(a.c.id == token_id, a.c.revoked.is_(None))
                            .values(revoked=dt.datetime.now(dt.UTC))).rowcount == 1


def authenticate(engine: sa.Engine, presented: str) -> Token | None:
    """The live token ``presented`` is, or None (malformed, unknown, wrong secret or revoked)."""
    shape = _SHAPE.fullmatch(presented)
    if shape is None:
        return None
    a = t.api_tokens
    with engine.connect() as conn:
        row = conn.execute(sa.select(a).where(a.c.id == int(shape.group(1)))).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(shape.group(2))) or row.revoked is not None:
        return None
    return _token(row)
