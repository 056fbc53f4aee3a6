"""What a diagnosis says beside its category: advice for the platform the logs show, an
out-of-memory error whose process the log does not name, a line cut for its length."""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.core import diagnose, load_classifier
from classifiers.platform import KUBERNETES, YARN, platform_of
from logtext.assembly import CUT_SEEN
from logtext.events import extract_events
from sparktriage.records import AppInfo
from sparktriage.settings import Settings

ENGINE = load_classifier(Settings(model_mode="off")).engine
APP = AppInfo(app_id="application_1_0001", final_status="FAILED")


@dataclass
class FixedModel:
    """Answers chosen by the test: what the core does with them is under test."""

    answers: dict[str, tuple[str, float]]
    version: str = "fixed@1"
    threshold: float = 0.6

    def predict(self, texts):
        return [next((v for k, v in self.answers.items() if k in t), ("_none", 0.99)) for t in texts]


def _events(text: str, role: str = "executor"):
    return extract_events(text, app_id=APP.app_id, role=role)


K8S = ("24/03/12 10:11:12 ERROR ExecutorPodsWatchSnapshotSource: executor pod spark-exec-3 of "
       "etl-7f3c went away: its memory use reached the pod limit")
YARN_LOG = ("24/03/12 10:11:12 ERROR YarnAllocator: container container_e07_1710230000000_1042_01_000003 "
            "went away: its memory use reached the granted limit")


def test_the_platform_is_read_from_the_logs() -> None:
    assert platform_of(_events(K8S)) == KUBERNETES
    assert platform_of(_events(YARN_LOG)) == YARN
    assert platform_of(_events(K8S + "\n" + YARN_LOG)) is None


def test_a_kubernetes_failure_gets_no_yarn_advice() -> None:
    model = FixedModel({"went away": ("container_killed_memory", 0.9)})
    on_k8s = diagnose(_events(K8S), app=APP, engine=ENGINE, model=model)
    assert (on_k8s.source, on_k8s.category) == ("model", "container_killed_memory")
    assert on_k8s.remediation and "yarn" not in on_k8s.remediation.lower()
    on_yarn = diagnose(_events(YARN_LOG), app=APP, engine=ENGINE, model=model)
    assert "kubernetes" not in on_yarn.remediation.lower() and "pod" not in on_yarn.remediation.lower()


def test_an_oom_of_an_unnamed_process_says_so_unless_the_model_places_it() -> None:
    text = "24/03/12 10:11:12 ERROR Utils: uncaught error\njava.lang.OutOfMemoryError: Java heap space"
    where = _events(text, role="unknown")  # a log that does not say which process it is
    unsure = diagnose(where, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("driver_oom", 0.5)}))
    assert unsure.category == "executor_oom/driver_or_executor"
    assert "driver or an executor" in unsure.explain and not unsure.notes
    placed = diagnose(where, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("driver_oom", 0.9)}))
    assert placed.category == "driver_oom" and "not which process" in placed.explain
    assert all("disagrees" not in n for n in placed.notes)


def test_a_cut_line_keeps_its_cause_and_the_diagnosis_says_it_was_cut() -> None:
    line = ("24/03/12 10:11:12 ERROR Executor: task 3 dump " + "x" * 2_000_000
            + " java.lang.OutOfMemoryError: Java heap space " + "y" * 200_000)
    (event,) = _events(line)
    assert len(event.text) < 10_000 and CUT_SEEN in event.text
    d = diagnose([event], app=APP, engine=ENGINE)
    assert d.category.startswith("executor_oom") and any("cut" in n for n in d.notes)
    assert "java.lang.OutOfMemoryError: Java heap space" in d.evidence[0].excerpt
