"""A throwaway MIT Kerberos realm on 127.0.0.1 for the SPNEGO test: its own KDC process,
an ``HTTP/localhost`` service keytab (the ResourceManager's) and a client keytab.

Needs Debian's krb5-kdc / krb5-admin-server and the ``kerberos`` extra
(requests-gssapi, built against libkrb5-dev); skips with the reason when absent.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparktriage.tools.broker import free_port, wait_for_port

REALM = "TEST.LOCAL"


@dataclass(frozen=True)
class Realm:
    env: dict[str, str]  # KRB5_CONFIG, KRB5_KTNAME (the RM's keys), KRB5_CLIENT_KTNAME, KRB5CCNAME
    client: str


def _run(*args: str, env: dict[str, str]) -> None:
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=60)


@contextmanager
def kerberos_realm(folder: Path) -> Iterator[Realm]:
    for tool in ("krb5kdc", "kdb5_util", "kadmin.local"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is absent (apt-get install krb5-kdc krb5-admin-server)")
    pytest.importorskip("requests_gssapi", reason="the kerberos extra is not installed (needs libkrb5-dev)")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "krb5.conf").write_text(
        f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_realm = false\n dns_lookup_kdc = false\n"
        f" rdns = false\n udp_preference_limit = 1\n[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
        f"[domain_realm]\n localhost = {REALM}\n")
    (folder / "kdc.conf").write_text(
        f"[kdcdefaults]\n kdc_ports = {port}\n kdc_tcp_ports = {port}\n[realms]\n {REALM} = {{\n"
        f"  database_name = {folder}/principal\n  key_stash_file = {folder}/stash\n"
        f"  acl_file = {folder}/kadm5.acl\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n }}\n")
    env = {"KRB5_CONFIG": str(folder / "krb5.conf"), "KRB5_KDC_PROFILE": str(folder / "kdc.conf"), "PATH":
           "/usr/sbin:/usr/bin:/sbin:/bin"}
    _run("kdb5_util", "create", "-s", "-r", REALM, "-P", "master-password-for-tests", env=env)
    for query in ("addprinc -randkey HTTP/localhost", f"ktadd -k {folder}/http.keytab HTTP/localhost",
                  "addprinc -randkey triage", f"ktadd -k {folder}/client.keytab triage"):
        _run("kadmin.local", "-r", REALM, "-q", query, env=env)
    kdc = subprocess.Popen(["krb5kdc", "-n", "-r", REALM], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=15)
        yield Realm(env={"KRB5_CONFIG": env["KRB5_CONFIG"], "KRB5_KTNAME": str(folder / "http.keytab"),
                         "KRB5_CLIENT_KTNAME": str(folder / "client.keytab"),
                         "KRB5CCNAME": f"FILE:{folder}/ccache"}, client=f"triage@{REALM}")
    finally:
        kdc.terminate()
        try:
            kdc.wait(10)
        except subprocess.TimeoutExpired:
            kdc.kill()
