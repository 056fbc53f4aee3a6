"""A minimal workflow-tool receiver for sparktriage's webhook (standard library only).

It does what a receiver must: verify the signature over timestamp and body,
refuse stale requests, treat a repeated ``Idempotency-Key`` as already done,
and show the diagnoses as an exceptions tab at ``GET /``.

    python examples/receiver.py --port 8808 --secret s3cret --print
    sparktriage worker --webhook-url http://127.0.0.1:8808/hook --webhook-secret s3cret

``--fail-first N`` answers 503 to the first N requests (to watch retries).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, timestamp: str | None, body: bytes, signature: str | None, tolerance: int = 300) -> bool:
    """The check every receiver needs: HMAC-SHA256 of ``timestamp + "." + body``, fresh timestamp."""
    if not (timestamp and signature and timestamp.isdigit()) or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Receiver(ThreadingHTTPServer):
    def __init__(self, port: int, secret: str, *, fail_first: int = 0, always_fail: bool = False,
                 echo: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.secret, self.fail_first, self.always_fail, self.echo = secret, fail_first, always_fail, echo
        self.accepted: dict[str, dict] = {}  # idempotency key -> payload, each diagnosis once
        self.requests: list[tuple[dict[str, str], bytes, int]] = []  # every request and our answer
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server
        with srv.lock:
            if not verify(srv.secret, self.headers.get("X-Sparktriage-Timestamp"), body,
                          self.headers.get("X-Sparktriage-Signature")):
                status = 401
            elif srv.always_fail or srv.fail_first > 0:
                srv.fail_first -= 1
                status = 503
            else:
                srv.accepted.setdefault(self.headers["Idempotency-Key"], json.loads(body))
                status = 200
            srv.requests.append((dict(self.headers.items()), body, status))
            if srv.echo:  # one write under the lock: concurrent requests do not interleave
                head = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
                print(f"--- {self.command} {self.path} -> {status}\n{head}\n{body.decode()}\n", flush=True)
        self.send_response(status)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            payloads = list(self.server.accepted.values())
        page = "<h1>Exceptions</h1>" + "".join(_tab(p) for p in payloads)
        data = f"<!doctype html><meta charset=utf-8><title>Exceptions</title>{page}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _tab(p: dict) -> str:
    """One application's exceptions tab: the root cause first, then every distinct exception."""
    e = html.escape
    rows = "".join(f"<tr><td>{x['count']}</td><td>{e(x['exc_class'] or ' '.join(filter(None, (x.get('level'), x.get('logger')))))}</td><td>{e(x['message'][:200])}</td></tr>"
                   for x in p["exceptions"])
    evidence = "".join(f"<pre>{e(excerpt)}</pre>" for excerpt in p["evidence"])
    link = f' <a href="{e(p["dashboard_url"])}">in the dashboard</a>' if p.get("dashboard_url") else ""
    return (f"<section><h2>{e(p['app_id'])} (attempt {p['attempt']}): {e(p['category'])}</h2>"
            f"<p>{e(p['summary'])}</p><p><b>What to do:</b> {e(p['remediation'] or '')}</p>"
            f"<p>confidence {p['confidence']:.2f}, decided by {e(p['rule_id'] or p['source'])}; "
            f"ended {e(p.get('ended') or '?')}, diagnosed {e(p['diagnosed'])}{link}</p>"
            f"{evidence}<table><tr><th>count</th><th>exception</th><th>message</th></tr>{rows}</table></section>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8808)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--print", dest="echo", action="store_true", help="print every request's headers and body")
    args = parser.parse_args()
    server = Receiver(args.port, args.secret, fail_first=args.fail_first, echo=args.echo)
    print(f"receiving on http://127.0.0.1:{server.server_port}/ (exceptions tab at /)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
