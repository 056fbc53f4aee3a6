"""``sparktriage watch yarn|k8s``: the watchers that tell the worker how every application ended.

Registered into ``sparktriage.commands`` like those of ``stream``; the handler resolves its
inputs, runs one watcher until SIGTERM or Ctrl-C, and says in one line what
to fix when the cluster manager or the broker cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from sparktriage.commands import arg, command
from sparktriage.errors import ConfigError

if TYPE_CHECKING:
    from sparktriage.settings import Settings


@command(
    "watch",
    "publish how every application ended, from the YARN ResourceManager or the Kubernetes API, "
    "as lifecycle records on spark-logs (final status, diagnostics, exit code, termination reason)",
    "sparktriage watch yarn --rm http://rm-1:8088,http://rm-2:8088",
    args=[
        arg("source", choices=["yarn", "k8s"], help="yarn: poll the ResourceManager REST API; "
            "k8s: watch Spark driver and executor pods (and SparkApplications)"),
        arg("--rm", dest="yarn_rm", metavar="URL[,URL...]", help="ResourceManager URLs, the HA peers (yarn_rm)"),
        arg("--yarn-auth", dest="yarn_auth", choices=["none", "simple", "basic", "kerberos"],
            help="how to authenticate to the RM (default none; basic takes yarn_user / SPARKTRIAGE_YARN_PASSWORD)"),
        arg("--yarn-user", dest="yarn_user", help="user for simple or basic authentication"),
        arg("--namespaces", dest="k8s_namespaces", metavar="NS[,NS...]",
            help="Kubernetes namespaces to watch (default: all, which needs a ClusterRole)"),
        arg("--kubeconfig", dest="k8s_kubeconfig", help="kubeconfig file (default: in-cluster, then ~/.kube/config)"),
        arg("--interval", dest="watch_interval", type=float, help="seconds between RM polls (default 15)"),
        arg("--data-dir", dest="data_dir", help="folder of the watcher's cursor file (default var)"),
        arg("--web-port", dest="watch_web_port", type=int,
            help="port of /metrics, /healthz, /readyz on worker_web_host (default 6067; 0: off)"),
        arg("--once", action="store_true", help="one poll (yarn) or one list (k8s), then exit"),
    ],
)
def _watch(args: argparse.Namespace, settings: Settings) -> int:
    import requests

    from sparktriage.watchers.rm_client import RMUnavailable

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.source == "yarn":
            from sparktriage.watchers.yarn import run
        else:
            from sparktriage.watchers.k8s import run
        run(settings, once=args.once, stop=stop)
    except (RMUnavailable, requests.RequestException) as exc:
        print(f"sparktriage watch {args.source}: no ResourceManager answers: {exc}", file=sys.stderr)
        print("  check --rm (every HA peer, with http:// and port 8088) and that this host may reach it",
              file=sys.stderr)
        return 2
    except ConfigError:
        raise  # the CLI prints it and exits 2
    except Exception as exc:  # noqa: BLE001 - an unreachable broker or API: one clear line, not a traceback
        from kafka.errors import KafkaError

        if isinstance(exc, KafkaError):
            print(f"sparktriage watch {args.source}: the broker {settings.bootstrap} cannot be used: {exc!r}",
                  file=sys.stderr)
            return 2
        raise
    return 0
