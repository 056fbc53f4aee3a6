"""``sparktriage watch k8s``: Spark pods (and SparkApplications) that end, told once each.

One watch per namespace (or one over all namespaces) of the pods labelled
``spark-role``, and, when the spark-operator's CRD is installed, of its
``SparkApplication`` resources. Each stream lists first, then watches from
the list's ``resourceVersion``; the cursor file
(``<data_dir>/watch-k8s.json``) keeps each stream's last resourceVersion, so a
restart resumes where it stopped. When the API answers 410 Gone (that version
is compacted away) the stream lists again: terminations already sent are
recognised by the pod's uid and not sent twice; those that happened in the
gap are in the new list, as long as the pod still exists.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings
from sparktriage.watchers.cursor import Cursor
from sparktriage.watchers.metrics import WatcherMetrics, watching
from sparktriage.watchers.k8s_pods import (OPERATOR_GROUP, OPERATOR_PLURAL, OPERATOR_VERSION, pod_key, pod_record,
                               sparkapp_key, sparkapp_record)
from sparktriage.watchers.publisher import Publisher, publish, resend_pending
from sparktriage.watchers.tags import TagMapper

log = logging.getLogger("sparktriage.watch.k8s")
SELECTOR = "spark-role"
#: Seconds between two writes of a stream's resourceVersion alone (publishing writes the cursor anyway).
VERSION_SAVE_EVERY = 1.0
#: Seconds a watch request lasts before it is renewed (the API server ends it anyway).
WATCH_SECONDS = 300


def cursor_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "watch-k8s.json"


def load_api_client(settings: Settings) -> Any:
    """An ApiClient from ``k8s_kubeconfig``, else the pod's service account, else ~/.kube/config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if settings.k8s_kubeconfig:
            return config.new_client_from_config(config_file=settings.k8s_kubeconfig)
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except ConfigException:
            return config.new_client_from_config()
    except (ConfigException, OSError) as exc:
        raise ConfigError(f"no Kubernetes credentials: {exc} (run in a pod with a service account, "
                          f"or give --kubeconfig)") from exc


@dataclass
class Stream:
    """One list+watch: its name in the cursor, how to list, and how an object becomes a record."""

    name: str
    list_fn: Callable[..., Any]
    args: tuple[Any, ...]
    record: Callable[[dict[str, Any], str], dict[str, Any] | None]
    key: Callable[[dict[str, Any]], str]


class K8sWatcher:
    def __init__(self, settings: Settings, api_client: Any, publisher: Publisher, cursor: Cursor,
                 metrics: WatcherMetrics | None = None) -> None:
        self.settings, self.api, self.publisher, self.cursor = settings, api_client, publisher, cursor
        self.tags = TagMapper.from_settings(settings.watch_tag_patterns)
        self.metrics = metrics or WatcherMetrics("k8s")
        self.lock = threading.Lock()  # the cursor and the publisher are shared by the streams
        self.saved_at = 0.0
        self.open_watches: dict[str, Any] = {}  # stream name -> its kubernetes Watch, to close on stop

    def streams(self) -> list[Stream]:
        from kubernetes import client

        core, custom = client.CoreV1Api(self.api), client.CustomObjectsApi(self.api)
        namespaces = [n.strip() for n in self.settings.k8s_namespaces.split(",") if n.strip()]
        pods = lambda obj, kind: pod_record(obj, kind, self.tags)  # noqa: E731
        apps = lambda obj, kind: sparkapp_record(obj, self.tags)  # noqa: E731
        found = []
        for ns in namespaces or [None]:
            if ns:
                found.append(Stream(f"pods/{ns}", core.list_namespaced_pod, (ns,), pods, pod_key))
            else:
                found.append(Stream("pods", core.list_pod_for_all_namespaces, (), pods, pod_key))
            if self._operator_installed(custom, ns):
                if ns:
                    found.append(Stream(f"sparkapplications/{ns}", custom.list_namespaced_custom_object,
                                        (OPERATOR_GROUP, OPERATOR_VERSION, ns, OPERATOR_PLURAL), apps, sparkapp_key))
                else:
                    found.append(Stream("sparkapplications", custom.list_cluster_custom_object,
                                        (OPERATOR_GROUP, OPERATOR_VERSION, OPERATOR_PLURAL), apps, sparkapp_key))
        return found

    def _operator_installed(self, custom: Any, ns: str | None, tries: int = 4) -> bool:
        """Whether the spark-operator's SparkApplication resource is served (and readable) here."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        args = (OPERATOR_GROUP, OPERATOR_VERSION, ns, OPERATOR_PLURAL) if ns else \
            (OPERATOR_GROUP, OPERATOR_VERSION, OPERATOR_PLURAL)
        probe = custom.list_namespaced_custom_object if ns else custom.list_cluster_custom_object
        for attempt in range(tries):
            try:
                probe(*args, limit=1, _request_timeout=self.settings.watch_timeout)
                return True
            except ApiException as exc:
                if exc.status in (404, 403):
                    log.info("no SparkApplications to watch%s (HTTP %s)", f" in {ns}" if ns else "", exc.status)
                    return False
                if exc.status == 401 or attempt == tries - 1:
                    raise ConfigError(f"the Kubernetes API answers HTTP {exc.status} {exc.reason}: "
                                      f"check --kubeconfig or the service account token") from exc
            except (HTTPError, OSError) as exc:
                if attempt == tries - 1:
                    raise ConfigError(f"the Kubernetes API cannot be reached: {exc!r}") from exc
            time.sleep(2 ** attempt)
        return False

    def _handle(self, stream: Stream, obj: dict[str, Any], kind: str) -> int:
        """Send the object's end if it ended and was not sent; a deleted object's key is forgotten
        after (its uid never comes back), so the sent keys stay as many as the objects that exist."""
        key = f"{stream.name}|{stream.key(obj)}"
        record = stream.record(obj, kind)
        with self.lock:
            sent = publish(self.publisher, self.cursor, {key: (record, time.time())}) if record else []
            if kind == "DELETED" and self.cursor.sent.pop(key, None) is not None:
                self.cursor.save()
        self.metrics.sent(sent)
        self.metrics.health.beat()
        return len(sent)

    def _save_version(self, stream: Stream, version: str | None, *, lazily: bool = False) -> None:
        """Remember where the stream is. ``lazily``: at most once a second (every pod change moves
        the version; a crash then resumes a second early, and the sent keys keep that harmless)."""
        with self.lock:
            if version is None:
                self.cursor.position.pop(stream.name, None)
            else:
                self.cursor.position[stream.name] = version
            if lazily and time.monotonic() - self.saved_at < VERSION_SAVE_EVERY:
                return
            self.cursor.save()
            self.saved_at = time.monotonic()

    def relist(self, stream: Stream) -> str:
        """List every object, send the ends not sent yet, forget sent keys whose object is gone."""
        response = stream.list_fn(*stream.args, label_selector=SELECTOR if stream.name.startswith("pods") else None,
                                  _preload_content=False, _request_timeout=self.settings.watch_timeout)
        listing = json.loads(response.data)
        # executors first: their evidence must reach the worker before the driver's end closes the application
        items = sorted(listing.get("items") or [],
                       key=lambda o: ((o.get("metadata") or {}).get("labels") or {}).get("spark-role") == "driver")
        sent = sum(self._handle(stream, item, "LISTED") for item in items)
        present = {f"{stream.name}|{stream.key(item)}" for item in items}
        with self.lock:  # objects deleted while nobody watched: their keys can go
            self.cursor.sent = {k: t for k, t in self.cursor.sent.items()
                                if not k.startswith(stream.name + "|") or k in present}
        version = str(listing["metadata"]["resourceVersion"])
        self._save_version(stream, version)
        log.info("%s: listed %d objects, %d ends sent, watching from resourceVersion %s",
                 stream.name, len(items), sent, version)
        self.metrics.ok(stream.name)
        return version

    def watch(self, stream: Stream, stop: threading.Event, once: bool = False) -> None:
        """List (unless resuming), then watch until ``stop``; re-list on 410 Gone; back off on errors."""
        from kubernetes import watch as k8s_watch
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        version = self.cursor.position.get(stream.name)
        failures = 0
        while not stop.is_set():
            try:
                if version is None:
                    version = self.relist(stream)
                if once:
                    return
                watcher = k8s_watch.Watch()
                self.open_watches[stream.name] = watcher
                kwargs: dict[str, Any] = {"resource_version": version, "timeout_seconds": WATCH_SECONDS,
                                          "allow_watch_bookmarks": True,
                                          "_request_timeout": (self.settings.watch_timeout, WATCH_SECONDS + 30)}
                if stream.name.startswith("pods"):
                    kwargs["label_selector"] = SELECTOR
                for event in watcher.stream(stream.list_fn, *stream.args, **kwargs):
                    if stop.is_set():
                        break
                    raw = event["raw_object"]
                    if event["type"] != "BOOKMARK":
                        self._handle(stream, raw, event["type"])
                    new = (raw.get("metadata") or {}).get("resourceVersion")
                    if new and new != version:
                        version = str(new)
                        self._save_version(stream, version, lazily=True)
                failures = 0
                self.metrics.ok(stream.name)
            except ApiException as exc:
                if stop.is_set():
                    return
                if exc.status == 410:
                    self.metrics.relists.labels("k8s").inc()
                    log.info("%s: resourceVersion %s is gone (410); listing again", stream.name, version)
                    version = None
                    self._save_version(stream, None)
                    continue
                if exc.status in (401, 403):
                    raise ConfigError(f"the Kubernetes API refuses to {'list' if version is None else 'watch'} "
                                      f"{stream.name} (HTTP {exc.status}): {exc.reason}; see the RBAC rules in "
                                      f"the README") from exc
                failures += 1
                self.metrics.error(stream.name)
                log.warning("%s: API error %s %s (%d in a row)", stream.name, exc.status, exc.reason, failures)
            except (HTTPError, OSError, ValueError) as exc:
                if stop.is_set():
                    return  # the stream was closed under it by run()
                failures += 1
                self.metrics.error(stream.name)
                log.warning("%s: %r (%d in a row)", stream.name, exc, failures)
            if failures:
                stop.wait(min(2 ** failures, 60))

    def run(self, stop: threading.Event, once: bool = False) -> None:
        """One thread per stream; the first ConfigError (401/403) stops them all and is raised."""
        with self.lock:
            resent = resend_pending(self.publisher, self.cursor)
        if resent:
            self.metrics.sent(resent)
            log.warning("sent again %d lifecycle records that were in flight when the watcher stopped", len(resent))
        errors: list[BaseException] = []

        def guarded(stream: Stream) -> None:
            try:
                self.watch(stream, stop, once)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                if not stop.is_set():  # after stop, only the closed stream's own complaint
                    errors.append(exc)
                    stop.set()

        threads = [threading.Thread(target=guarded, args=(s,), name=s.name, daemon=True) for s in self.streams()]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads) and not stop.is_set():
            time.sleep(0.5)
        for watcher in list(self.open_watches.values()):  # a watch blocked on a quiet stream: close it
            watcher.stop()
            response = getattr(watcher, "_resp", None)
            if response is not None:
                response.close()
        for thread in threads:
            thread.join(5)
        with self.lock:
            self.cursor.save()  # the versions saved lazily
        if errors:
            raise errors[0]


def run(settings: Settings, once: bool = False, stop: threading.Event | None = None) -> None:
    api = load_api_client(settings)
    cursor = Cursor(cursor_path(settings))
    with watching(settings, "k8s") as (publisher, metrics):
        K8sWatcher(settings, api, publisher, cursor, metrics).run(stop or threading.Event(), once=once)
