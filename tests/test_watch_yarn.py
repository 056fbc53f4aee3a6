"""``watch yarn`` against ResourceManagers on loopback that answer as Hadoop documents,
through the real ``requests`` client: HA redirects, auth, outages, the cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings
from tests.rm_server import RMPair, rm_app
from sparktriage.watchers.cursor import Cursor
from sparktriage.watchers.publisher import MemoryPublisher
from sparktriage.watchers.rm_client import RMClient, RMUnavailable
from sparktriage.watchers.yarn import YarnWatcher

NOW = 1_800_000_000_000


def watcher(rm: RMPair, tmp: Path, urls: list[str] | None = None, **settings) -> tuple[YarnWatcher, MemoryPublisher]:
    s = Settings(**{"yarn_rm": ",".join(urls or rm.urls), "data_dir": str(tmp), "watch_timeout": 2.0, **settings})
    publisher = MemoryPublisher()
    return YarnWatcher(s, RMClient(s), publisher, Cursor(tmp / "watch-yarn.json")), publisher


def ids(publisher: MemoryPublisher) -> list[str]:
    return [r["app_id"] for r in publisher.records]


@pytest.fixture
def rm():
    with RMPair() as pair:
        yield pair


def test_each_finished_application_is_published_once_with_what_the_rm_said(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(
        rm_app(1, state="FAILED", final="FAILED", finished=NOW - 5000, attempt=2,
               diagnostics="AM Container for appattempt_1712000000000_0001_000002 exited with  exitCode: -104",
               tags="azkaban.flow.projectname:ads,azkaban.flow.flowid:daily,azkaban.job.id:load,"
                    "azkaban.flow.execid:881,team:growth"),
        rm_app(2, finished=NOW - 4000),
        rm_app(3, state="RUNNING", final="UNDEFINED", finished=0),
        rm_app(4, finished=NOW - 3000, app_type="MAPREDUCE"),
    )
    w, pub = watcher(rm, tmp_path)
    assert w.poll(NOW) == 2
    assert w.poll(NOW + 1000) == 0  # the overlap asks again; nothing is sent twice
    first = pub.records[0]
    assert ids(pub) == ["application_1712000000000_0001", "application_1712000000000_0002"]
    assert (first["status"], first["attempt"], first["user"], first["queue"], first["team"]) == \
        ("FAILED", 2, "etl", "root.etl", "growth")
    assert first["workflow"] == {"project": "ads", "flow": "daily", "job": "load", "execution": "881"}
    assert first["lifecycle"]["diagnostics"].endswith("exitCode: -104")
    assert first["lifecycle"]["am_host"] == "node-7.example" and first["lifecycle"]["elapsed_ms"] > 0
    query = rm.cluster.requests[0][2]
    assert query["states"] == ["FINISHED,FAILED,KILLED"] and query["applicationTypes"] == ["SPARK"]


def test_an_application_that_finished_late_inside_the_overlap_is_not_missed(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(rm_app(1, finished=NOW - 1000))
    w, pub = watcher(rm, tmp_path, yarn_overlap=60)
    w.poll(NOW)
    rm.cluster.add(rm_app(2, finished=NOW - 30_000))  # recorded with a finish time before the watermark
    w.poll(NOW + 5000)
    assert ids(pub) == ["application_1712000000000_0001", "application_1712000000000_0002"]


def test_a_restart_resumes_from_the_cursor(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(*[rm_app(n, finished=NOW - 100 + n) for n in range(5)])
    w, pub = watcher(rm, tmp_path)
    w.poll(NOW)
    rm.cluster.add(*[rm_app(n, finished=NOW + n) for n in range(5, 9)])
    again, pub2 = watcher(rm, tmp_path)  # a new process reading the same cursor file
    again.poll(NOW + 10_000)
    assert len(ids(pub)) == 5 and ids(pub2) == [f"application_1712000000000_{n:04d}" for n in range(5, 9)]


def test_a_batch_in_flight_when_the_watcher_died_is_sent_again_not_lost(rm: RMPair, tmp_path: Path) -> None:
    class Dying(MemoryPublisher):
        def send(self, records):
            raise RuntimeError("SIGKILL arrives while the broker is acknowledging")

    rm.cluster.add(rm_app(1, finished=NOW - 10))
    w, _ = watcher(rm, tmp_path)
    w.publisher = Dying()
    with pytest.raises(RuntimeError):
        w.poll(NOW)
    assert list(Cursor(tmp_path / "watch-yarn.json").pending) == ["application_1712000000000_0001"]
    again, pub = watcher(rm, tmp_path)
    again.run(stop=__import__("threading").Event(), once=True)
    assert ids(pub) == ["application_1712000000000_0001"]
    assert not Cursor(tmp_path / "watch-yarn.json").pending


def test_the_standby_redirects_to_the_active_and_the_active_is_asked_first_after(rm: RMPair,
                                                                                 tmp_path: Path) -> None:
    rm.cluster.add(rm_app(1, finished=NOW - 10))
    rm.cluster.active = 1
    w, pub = watcher(rm, tmp_path)  # rm.urls[0], the standby, is listed first
    w.poll(NOW)
    w.poll(NOW + 1)
    assert ids(pub) == ["application_1712000000000_0001"]
    assert [r[0] for r in rm.cluster.requests] == [0, 1, 1]


def test_basic_credentials_survive_the_redirect_to_another_host(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(rm_app(1, finished=NOW - 10))
    rm.cluster.basic, rm.cluster.active = ("triage", "s3cret"), 1
    w, pub = watcher(rm, tmp_path, yarn_auth="basic", yarn_user="triage", yarn_password="s3cret")
    w.poll(NOW)
    assert ids(pub) == ["application_1712000000000_0001"]


def test_a_standby_that_knows_no_active_sends_the_watcher_to_the_next_peer(tmp_path: Path) -> None:
    with RMPair(3) as rm:
        rm.cluster.add(rm_app(1, finished=NOW - 10))
        rm.cluster.active = None
        w, _ = watcher(rm, tmp_path)
        with pytest.raises(RMUnavailable, match="not a JSON answer|Refresh|307"):
            w.poll(NOW)
        rm.cluster.active = 2  # the election is over
        w.poll(NOW)
        assert rm.cluster.requests[-1][0] == 2


def test_a_failing_or_slow_peer_is_skipped_for_the_next(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(rm_app(1, finished=NOW - 10))
    rm.cluster.fail_next = 1
    w, pub = watcher(rm, tmp_path, urls=[rm.urls[0], rm.urls[0]])  # the same RM twice: the retry succeeds
    w.poll(NOW)
    assert ids(pub) == ["application_1712000000000_0001"]
    rm.cluster.delay = 1.5
    slow, _ = watcher(rm, tmp_path / "slow", watch_timeout=0.5)
    with pytest.raises(RMUnavailable, match="ReadTimeout"):
        slow.poll(NOW)


@pytest.mark.parametrize(("knob", "expected"), [
    ({"negotiate": True}, "Kerberos"), ({"basic": ("u", "p")}, "HTTP 401"), ({"forbidden": True}, "HTTP 403")])
def test_refused_credentials_are_a_configuration_error_that_says_what_to_set(rm: RMPair, tmp_path: Path,
                                                                             knob: dict, expected: str) -> None:
    for name, value in knob.items():
        setattr(rm.cluster, name, value)
    w, _ = watcher(rm, tmp_path)
    with pytest.raises(ConfigError, match=expected):
        w.poll(NOW)


def test_bad_settings_refuse_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--rm"):
        RMClient(Settings())
    with pytest.raises(ConfigError, match="http://"):
        RMClient(Settings(yarn_rm="rm-1:8088"))
    with pytest.raises(ConfigError, match="yarn_password"):
        RMClient(Settings(yarn_rm="http://rm-1:8088", yarn_auth="basic"))
    with pytest.raises(ConfigError, match="not a regex"):
        YarnWatcher(Settings(yarn_rm="http://rm:8088", watch_tag_patterns={"flow": "("}), None, None, None)


def test_metrics_count_what_was_published_and_readiness_follows_the_rm(rm: RMPair, tmp_path: Path) -> None:
    rm.cluster.add(rm_app(1, finished=NOW - 10), rm_app(2, finished=NOW - 5))
    w, _ = watcher(rm, tmp_path)
    w.poll(NOW)
    registry = w.metrics.registry
    assert registry.get_sample_value("sparktriage_watch_records_published_total",
                                     {"source": "yarn", "event": "app_end"}) == 2
    assert w.metrics.health.ready() == (True, "ready")
    rm.cluster.fail_next = 2  # both peers answer 500
    w.run(__import__("threading").Event(), once=True)
    ready, why = w.metrics.health.ready()
    assert not ready and "failing" in why
    assert registry.get_sample_value("sparktriage_watch_requests_total", {"source": "yarn", "outcome": "error"}) == 1


def test_spnego_against_a_real_kdc_through_an_ha_redirect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """yarn_auth=kerberos: requests-gssapi gets a service ticket for HTTP/localhost from a real KDC (client
    keytab), the RM checks it with its keytab; the standby's redirect is authenticated again."""
    from tests.kdc import kerberos_realm

    with kerberos_realm(tmp_path / "krb") as realm, RMPair(host="localhost") as rm:
        for name, value in realm.env.items():
            monkeypatch.setenv(name, value)
        rm.cluster.negotiate = rm.cluster.spnego_verify = True
        rm.cluster.active = 1
        rm.cluster.add(rm_app(1, finished=NOW - 10))
        w, pub = watcher(rm, tmp_path, yarn_auth="kerberos")
        w.poll(NOW)
        assert ids(pub) == ["application_1712000000000_0001"]
        assert rm.cluster.principals == [realm.client, realm.client]  # the standby, then the active
        monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "no-such.keytab"))
        monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/empty-ccache")
        stranger, _ = watcher(rm, tmp_path / "stranger", yarn_auth="kerberos")
        with pytest.raises(ConfigError, match="no valid Kerberos ticket"):
            stranger.poll(NOW)
