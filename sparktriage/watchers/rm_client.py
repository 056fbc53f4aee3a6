"""The ResourceManager REST API, as a client of an HA pair (or more) sees it.

Every configured URL is a peer; the one that answered last is asked first. A
standby RM answers ``307 Temporary Redirect`` with the active's URL in
``Location`` (``RMWebAppFilter``); the redirect is followed here, with the
same credentials (``requests`` drops them on a redirect to another host), and
when the standby knows no active it answers 307 with only a ``Refresh``
header, or a plain-text page: then the next peer is tried. Authentication:
none, ``simple`` (Hadoop's ``user.name`` parameter), HTTP basic (a gateway
such as Knox), or SPNEGO/Kerberos through requests-gssapi.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import requests

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings

log = logging.getLogger("sparktriage.watch.yarn")
APPS_PATH = "/ws/v1/cluster/apps"
MAX_REDIRECTS = 3


class RMUnavailable(Exception):
    """No configured ResourceManager gave an answer (unreachable, standby without active, 5xx)."""


def _auth(settings: Settings) -> Any:
    if settings.yarn_auth in ("none", "simple"):
        return None
    if settings.yarn_auth == "basic":
        if not settings.yarn_user or settings.yarn_password is None:
            raise ConfigError("yarn_auth=basic needs yarn_user and yarn_password (SPARKTRIAGE_YARN_PASSWORD)")
        return requests.auth.HTTPBasicAuth(settings.yarn_user, settings.yarn_password)
    if settings.yarn_auth == "kerberos":
        try:
            from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth
        except ImportError as exc:
            raise ConfigError("yarn_auth=kerberos needs requests-gssapi: pip install 'sparktriage[kerberos]'") from exc
        return HTTPSPNEGOAuth(mutual_authentication=OPTIONAL)
    raise ConfigError(f"yarn_auth must be none, simple, basic or kerberos, not {settings.yarn_auth!r}")


class RMClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.urls = [u.strip().rstrip("/") for u in (settings.yarn_rm or "").split(",") if u.strip()]
        if not self.urls:
            raise ConfigError("watch yarn needs --rm URL[,URL...] (SPARKTRIAGE_YARN_RM)")
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"ResourceManager URL {url!r} must start with http:// or https://")
        self.settings = settings
        self.session = session or requests.Session()
        self.session.auth = _auth(settings)
        if settings.yarn_ca_bundle:
            self.session.verify = settings.yarn_ca_bundle
        self.active = 0

    def _params(self, since_ms: int) -> dict[str, Any]:
        params: dict[str, Any] = {"states": "FINISHED,FAILED,KILLED", "finishedTimeBegin": since_ms}
        if self.settings.yarn_application_types:
            params["applicationTypes"] = self.settings.yarn_application_types
        if self.settings.yarn_auth == "simple" and self.settings.yarn_user:
            params["user.name"] = self.settings.yarn_user
        return params

    def _get(self, base: str, since_ms: int) -> tuple[str, list[dict[str, Any]]]:
        """(the URL that answered, its applications), redirects followed; raises RMUnavailable or ConfigError."""
        url, params = base + APPS_PATH, self._params(since_ms)
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(url, params=params, timeout=self.settings.watch_timeout,
                                        allow_redirects=False, headers={"Accept": "application/json"})
            location = response.headers.get("Location")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                url, params = urljoin(url, location), None  # the Location carries the query
                log.info("%s redirects to %s", base, url.split("?")[0])
                continue
            break
        else:
            raise RMUnavailable(f"{base}: more than {MAX_REDIRECTS} redirects")
        if response.status_code in (401, 403):
            challenge = response.headers.get("WWW-Authenticate", "")
            hint = ""
            if "Negotiate" in challenge:
                hint = (" (no valid Kerberos ticket or keytab: kinit, or KRB5_CLIENT_KTNAME)"
                        if self.settings.yarn_auth == "kerberos" else
                        " (it asks for Kerberos: set yarn_auth=kerberos and kinit)")
            raise ConfigError(f"{base}: HTTP {response.status_code} {response.reason}{hint}; "
                              f"check yarn_auth/yarn_user (now {self.settings.yarn_auth})")
        if response.status_code != 200:
            raise RMUnavailable(f"{base}: HTTP {response.status_code} {response.text[:120].strip()!r}")
        try:
            data = response.json()
        except ValueError as exc:  # "This is standby RM..." or "There is no active RM right now." pages
            raise RMUnavailable(f"{base}: not a JSON answer: {response.text[:120].strip()!r}") from exc
        if not isinstance(data, dict) or "apps" not in data:
            raise RMUnavailable(f"{base}: not a ResourceManager apps answer")
        apps = (data["apps"] or {}).get("app") or []  # {"apps": null} when nothing matches
        return response.url, [a for a in apps if isinstance(a, dict)]

    def finished_apps(self, since_ms: int) -> list[dict[str, Any]]:
        """Applications that reached FINISHED, FAILED or KILLED at or after ``since_ms`` (epoch ms)."""
        problems = []
        order = self.urls[self.active:] + self.urls[: self.active]
        for base in order:
            try:
                answered, apps = self._get(base, since_ms)
            except (requests.RequestException, RMUnavailable) as exc:
                problems.append(str(exc) if isinstance(exc, RMUnavailable) else f"{base}: {exc.__class__.__name__}")
                continue
            # the peer a standby redirected to is asked first next time
            peer = next((n for n, url in enumerate(self.urls) if answered.startswith(url + "/")),
                        self.urls.index(base))
            if peer != self.active:
                log.info("ResourceManager %s is the active one now", self.urls[peer])
                self.active = peer
            return apps
        raise RMUnavailable("; ".join(problems))
