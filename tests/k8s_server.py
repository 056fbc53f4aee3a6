"""A Kubernetes API server on 127.0.0.1 that answers as the API reference documents it.

Pods (``/api/v1/pods``, ``/api/v1/namespaces/{ns}/pods``) and, when switched
on, spark-operator ``SparkApplication`` resources, listed
(``{"kind": "PodList", "metadata": {"resourceVersion"}, "items"}``) and
watched (``?watch=true&resourceVersion=N``: a chunked stream of
``{"type": "ADDED|MODIFIED|DELETED|BOOKMARK", "object": ...}`` lines until
``timeoutSeconds``). A version older than the compaction point answers the
way the API server does: one ``ERROR`` event whose object is a ``Status``
with ``code: 410, reason: Expired``. Bearer-token auth (401 ``Status``),
403 for a forbidden resource, 404 for an absent CRD, 5xx and slow answers on
demand.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPERATOR_PREFIX = "/apis/sparkoperator.k8s.io/v1beta2"


def status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code, **extra}


def spark_pod(name: str, app_id: str, role: str, *, namespace: str = "spark", node: str = "node-3",
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A running Spark pod with the labels Spark on Kubernetes sets."""
    container = "spark-kubernetes-driver" if role == "driver" else "spark-kubernetes-executor"
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                     "creationTimestamp": "2026-11-30T10:00:00Z",
                     "labels": {"spark-app-selector": app_id, "spark-role": role, "spark-app-name": "etl",
                                **({"spark-exec-id": name.rsplit("-", 1)[-1]} if role == "executor" else {}),
                                **(labels or {})}},
        "spec": {"containers": [{"name": container, "image": "apache/spark:3.5.3"}], "nodeName": node,
                 "restartPolicy": "Never"},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": container, "image": "apache/spark:3.5.3", "imageID": "docker.io/apache/spark@sha256:0f",
            "ready": True, "restartCount": 0, "started": True,
            "state": {"running": {"startedAt": "2026-11-30T10:00:05Z"}}}]},
    }


def terminate(pod: dict[str, Any], *, phase: str = "Failed", exit_code: int = 1, reason: str = "Error",
              message: str | None = None, pod_reason: str | None = None, pod_message: str | None = None) -> dict:
    """The pod as the kubelet reports it once its container ended (and, for an eviction, the pod's reason)."""
    pod = copy.deepcopy(pod)
    terminated = {"exitCode": exit_code, "reason": reason, "startedAt": "2026-11-30T10:00:05Z",
                  "finishedAt": "2026-11-30T10:07:41Z", "containerID": "containerd://9a1f"}
    if message:
        terminated["message"] = message
    st = pod["status"]
    st["phase"] = phase
    st["containerStatuses"][0].update(ready=False, started=False, state={"terminated": terminated})
    if pod_reason:
        st["reason"], st["message"] = pod_reason, pod_message or ""
    return pod


class KubeAPI:
    """The API server's state and its HTTP face, in a thread."""

    def __init__(self, token: str = "sparktriage-test-token") -> None:
        self.token = token
        self.cond = threading.Condition()
        self.version = 1000
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {"pods": {}, "sparkapplications": {}}
        self.log: dict[str, list[tuple[int, str, dict[str, Any]]]] = {"pods": [], "sparkapplications": []}
        self.compacted = 0
        self.operator = False
        self.forbidden: set[str] = set()
        self.fail_next = 0  # answer 500 to the next N requests whose path starts with fail_prefix
        self.fail_prefix = "/"
        self.delay = 0.0
        self.generation = 0  # bumped to end every open watch (an API server restart)
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: str, token: str | None = None) -> str:
        """A kubeconfig pointing at this server (the kubernetes client reads it as it would any)."""
        body = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
                "clusters": [{"name": "loopback", "cluster": {"server": self.url}}],
                "users": [{"name": "watcher", "user": {"token": token or self.token}}],
                "contexts": [{"name": "test", "context": {"cluster": "loopback", "user": "watcher"}}]}
        with open(path, "w") as fh:
            json.dump(body, fh)
        return path

    # -- changes ---------------------------------------------------------
    def _emit(self, kind: str, event: str, obj: dict[str, Any]) -> None:
        with self.cond:
            self.version += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.version)
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            if event == "DELETED":
                self.objects[kind].pop(key, None)
            else:
                self.objects[kind][key] = obj
            self.log[kind].append((self.version, event, obj))
            self.cond.notify_all()

    def put(self, obj: dict[str, Any], kind: str = "pods") -> None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        self._emit(kind, "MODIFIED" if key in self.objects[kind] else "ADDED", obj)

    def delete(self, namespace: str, name: str, kind: str = "pods") -> None:
        obj = self.objects[kind][(namespace, name)]
        self._emit(kind, "DELETED", obj)

    def compact(self) -> None:
        """etcd compaction: every version up to now is gone, open watches end (as when the
        API server restarts); a watch from an older version gets 410."""
        with self.cond:
            self.compacted = self.version
            for kind in self.log:
                self.log[kind] = []
            self.generation += 1
            self.cond.notify_all()

    def end_watches(self) -> None:
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def close(self) -> None:
        self.end_watches()
        self.server.shutdown()
        self.server.server_close()

    # -- reading ---------------------------------------------------------
    @staticmethod
    def selected(obj: dict[str, Any], namespace: str | None, selector: str) -> bool:
        meta = obj["metadata"]
        if namespace and meta["namespace"] != namespace:
            return False
        labels = meta.get("labels") or {}
        for term in filter(None, selector.split(",")):
            name, _, value = term.partition("=")
            if name not in labels or (value and labels[name] != value):
                return False
        return True


def _handler(api: KubeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chunk(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _route(self, path: str) -> tuple[str, str | None] | None:
            parts = path.strip("/").split("/")
            if path.startswith("/api/v1/"):
                if parts[2:] == ["pods"]:
                    return "pods", None
                if len(parts) == 5 and parts[2] == "namespaces" and parts[4] == "pods":
                    return "pods", parts[3]
            if path.startswith(OPERATOR_PREFIX + "/") and api.operator:
                if parts[3:] == ["sparkapplications"]:
                    return "sparkapplications", None
                if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "sparkapplications":
                    return "sparkapplications", parts[4]
            return None

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            with api.cond:
                api.requests.append((split.path, query))
                failing = api.fail_next > 0 and split.path.startswith(api.fail_prefix)
                api.fail_next -= failing
            if api.delay:
                time.sleep(api.delay)
            if self.headers.get("Authorization") != f"Bearer {api.token}":
                return self._json(401, status(401, "Unauthorized", "Unauthorized"))
            if failing:
                return self._json(500, status(500, "InternalError", "Internal error occurred: etcdserver: "
                                                                    "request timed out"))
            route = self._route(split.path)
            if route is None:
                return self._json(404, status(404, "NotFound", "the server could not find the requested resource"))
            kind, namespace = route
            watching = query.get("watch", ["false"])[0].lower() in ("true", "1")
            if kind in api.forbidden:
                scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
                group = "sparkoperator.k8s.io" if kind == "sparkapplications" else ""
                return self._json(403, status(
                    403, "Forbidden", f'{kind} is forbidden: User "system:serviceaccount:spark:sparktriage" cannot '
                    f'{"watch" if watching else "list"} resource "{kind}" in API group "{group}" {scope}',
                    details={"kind": kind}))
            selector = query.get("labelSelector", [""])[0]
            if not watching:
                with api.cond:
                    items = [o for o in api.objects[kind].values() if api.selected(o, namespace, selector)]
                    version = api.version
                limit = int(query.get("limit", ["0"])[0])
                items = items[:limit] if limit else items
                list_kind = "PodList" if kind == "pods" else "SparkApplicationList"
                return self._json(200, {"kind": list_kind, "apiVersion": "v1" if kind == "pods" else
                                        "sparkoperator.k8s.io/v1beta2",
                                        "metadata": {"resourceVersion": str(version)},
                                        "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                                                  for o in items]})
            self._watch(kind, namespace, selector, query)

        def _watch(self, kind: str, namespace: str | None, selector: str, query: dict[str, list[str]]) -> None:
            since = int(query.get("resourceVersion", ["0"])[0] or 0)
            timeout = float(query.get("timeoutSeconds", ["1800"])[0])
            bookmarks = query.get("allowWatchBookmarks", ["false"])[0].lower() in ("true", "1")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            deadline = time.monotonic() + timeout
            with api.cond:
                generation = api.generation
                expired = since and since < api.compacted
            try:
                if expired:
                    self._chunk({"type": "ERROR", "object": status(
                        410, "Expired", f"too old resource version: {since} ({api.compacted})")})
                    return
                while True:
                    with api.cond:
                        if api.generation != generation:
                            break
                        todo = [(v, e, o) for v, e, o in api.log[kind] if v > since]
                        if not todo:
                            left = deadline - time.monotonic()
                            if left <= 0:
                                break
                            api.cond.wait(min(left, 0.5))
                            continue
                    for version, event, obj in todo:
                        since = version
                        if api.selected(obj, namespace, selector):
                            self._chunk({"type": event, "object": obj})
                        elif bookmarks:
                            self._chunk({"type": "BOOKMARK", "object": {
                                "kind": obj["kind"], "apiVersion": obj["apiVersion"],
                                "metadata": {"resourceVersion": str(version)}}})
            finally:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

    return Handler
