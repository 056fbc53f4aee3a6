"""A ResourceManager REST API on 127.0.0.1 that answers as Hadoop documents it.

``GET /ws/v1/cluster/apps`` with the ``states``, ``finishedTimeBegin``,
``finishedTimeEnd`` and ``applicationTypes`` filters, the documented JSON
(``{"apps": {"app": [...]}}``; ``{"apps": null}`` when nothing matches),
and an HA pair's behaviour (``RMWebAppFilter``): a standby answers ``307``
with ``Location`` on the active, or, when it knows no active, 307 with a
``Refresh`` header and a plain-text page. Knobs for the failures a watcher
must survive: HTTP basic or SPNEGO challenges (401), 403, 5xx, slow answers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLUSTER_TS = 1712000000000


def rm_app(n: int, *, state: str = "FINISHED", final: str = "SUCCEEDED", finished: int, diagnostics: str = "",
           tags: str = "", user: str = "etl", queue: str = "root.etl", attempt: int = 1,
           app_type: str = "SPARK") -> dict[str, Any]:
    """One application report with every field of the documented example."""
    app_id = f"application_{CLUSTER_TS}_{n:04d}"
    started = finished - 60_000 - n
    cid = f"container_e07_{CLUSTER_TS}_{n:04d}_{attempt:02d}_000001"
    return {
        "id": app_id, "user": user, "name": f"etl-job-{n}", "queue": queue, "state": state,
        "finalStatus": final, "progress": 100.0, "trackingUI": "History",
        "trackingUrl": f"http://rm-1.example:8088/proxy/{app_id}/", "diagnostics": diagnostics,
        "clusterId": CLUSTER_TS, "applicationType": app_type, "applicationTags": tags, "priority": 0,
        "startedTime": started, "launchTime": started + 800, "finishedTime": finished,
        "elapsedTime": finished - started,
        "amContainerLogs": f"http://node-7.example:8042/node/containerlogs/{cid}/{user}",
        "amHostHttpAddress": "node-7.example:8042", "amRPCAddress": "node-7.example:41231",
        "masterNodeId": "node-7.example:45454", "allocatedMB": -1, "allocatedVCores": -1,
        "reservedMB": -1, "reservedVCores": -1, "runningContainers": -1, "memorySeconds": 1843200,
        "vcoreSeconds": 450, "queueUsagePercentage": 0.0, "clusterUsagePercentage": 0.0,
        "resourceSecondsMap": {"entry": {"key": "memory-mb", "value": "1843200"}},
        "preemptedResourceMB": 0, "preemptedResourceVCores": 0, "numNonAMContainerPreempted": 0,
        "numAMContainerPreempted": 0, "preemptedMemorySeconds": 0, "preemptedVcoreSeconds": 0,
        "preemptedResourceSecondsMap": {}, "logAggregationStatus": "SUCCEEDED",
        "unmanagedApplication": False, "amNodeLabelExpression": "",
        "timeouts": {"timeout": [{"type": "LIFETIME", "expiryTime": "UNLIMITED", "remainingTimeInSeconds": -1}]},
    }


@dataclass
class Cluster:
    """What every RM of the pair shares: the applications, which RM is active, the knobs."""

    apps: list[dict[str, Any]] = field(default_factory=list)
    active: int | None = 0
    basic: tuple[str, str] | None = None  # (user, password) a gateway asks for
    negotiate: bool = False  # answer 401 WWW-Authenticate: Negotiate (a Kerberized RM)
    spnego_verify: bool = False  # check the SPNEGO token with gssapi against KRB5_KTNAME's keys
    principals: list[str] = field(default_factory=list)  # who authenticated, when verified
    forbidden: bool = False
    fail_next: int = 0  # answer 500 to the next N requests
    delay: float = 0.0  # seconds before answering
    requests: list[tuple[int, str, dict[str, list[str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    urls: list[str] = field(default_factory=list)

    def add(self, *apps: dict[str, Any]) -> None:
        with self.lock:
            self.apps.extend(apps)


def _handler(cluster: Cluster, index: int) -> type[BaseHTTPRequestHandler]:
    class RM(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, body: str, ctype: str = "application/json", **headers: str) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            with cluster.lock:
                cluster.requests.append((index, split.path, query))
                failing = cluster.fail_next > 0
                cluster.fail_next -= failing
            if cluster.delay:
                time.sleep(cluster.delay)
            auth = self.headers.get("Authorization") or ""
            if cluster.negotiate and not (auth.startswith("Negotiate ") and self._spnego(auth[10:])):
                return self._send(401, "<html><body>Authentication required</body></html>", "text/html",
                                  WWW_Authenticate="Negotiate")
            if cluster.basic:
                wanted = "Basic " + base64.b64encode(":".join(cluster.basic).encode()).decode()
                if self.headers.get("Authorization") != wanted:
                    return self._send(401, "Unauthorized", "text/plain", WWW_Authenticate='Basic realm="Knox"')
            if cluster.forbidden:
                return self._send(403, json.dumps({"RemoteException": {
                    "exception": "ForbiddenException", "message": "User etl is not authorized",
                    "javaClassName": "org.apache.hadoop.yarn.webapp.ForbiddenException"}}))
            if failing:
                return self._send(500, json.dumps({"RemoteException": {
                    "exception": "WebApplicationException", "message": "java.lang.NullPointerException",
                    "javaClassName": "javax.ws.rs.WebApplicationException"}}))
            if cluster.active != index:
                if cluster.active is not None:
                    target = cluster.urls[cluster.active] + self.path
                    return self._send(307, f"This is standby RM. The redirect url is: {target}\n", "text/plain",
                                      Location=target)
                return self._send(307, "Can not find any active RM. Will retry in next 5 seconds.\n"
                                       "HA Zookeeper Connection State: CONNECTED\n", "text/plain",
                                  Refresh=f"5;url={self.path}")
            if split.path != "/ws/v1/cluster/apps":
                return self._send(404, json.dumps({"RemoteException": {
                    "exception": "NotFoundException", "message": f"java.lang.Exception: {split.path} not found",
                    "javaClassName": "org.apache.hadoop.yarn.webapp.NotFoundException"}}))
            self._send(200, json.dumps({"apps": self._select(query)}))

        def _spnego(self, token: str) -> bool:
            """Accept the client's SPNEGO token as the RM's AuthenticationFilter does (with the HTTP/host keys)."""
            if not cluster.spnego_verify:
                return True
            import gssapi

            try:
                context = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
                context.step(base64.b64decode(token))
            except (gssapi.exceptions.GSSError, ValueError):
                return False
            cluster.principals.append(str(context.initiator_name))
            return context.complete

        def _select(self, query: dict[str, list[str]]) -> dict[str, Any] | None:
            states = {s.upper() for v in query.get("states", []) for s in v.split(",") if s}
            types = {t.upper() for v in query.get("applicationTypes", []) for t in v.split(",") if t}
            begin = int(query.get("finishedTimeBegin", ["0"])[0])
            end = int(query["finishedTimeEnd"][0]) if "finishedTimeEnd" in query else None
            with cluster.lock:
                chosen = [a for a in cluster.apps
                          if (not states or a["state"] in states)
                          and (not types or a["applicationType"].upper() in types)
                          and a["finishedTime"] >= begin and (end is None or a["finishedTime"] <= end)]
            return {"app": chosen} if chosen else None

    return RM


class RMPair:
    """Two (or more) ResourceManagers of one cluster on 127.0.0.1, each in its thread."""

    def __init__(self, n: int = 2, cluster: Cluster | None = None, host: str = "127.0.0.1") -> None:
        self.cluster = cluster or Cluster()
        self.servers = []
        for index in range(n):
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.cluster, index))
            server.daemon_threads = True
            self.servers.append(server)
            self.cluster.urls.append(f"http://{host}:{server.server_address[1]}")  # host: a name for SPNEGO
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def urls(self) -> list[str]:
        return self.cluster.urls

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> RMPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
