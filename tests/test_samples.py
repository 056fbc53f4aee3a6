"""The shipped sample applications: classify names each one's expected root cause,
and the demo diagnoses all of them through the real broker and worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from classifiers.core import load_classifier
from dashboard.queries import data_range
from sparktriage.tools.classify import classify_paths
from sparktriage.tools.demo import sample_dirs
from sparktriage.settings import Settings
from sparktriage.store import open_store
from sparktriage.store import schema as t
from sparktriage.taxonomy import is_known

SAMPLES = sample_dirs()


def test_every_sample_folder_is_a_whole_application_of_its_own() -> None:
    """``sample_dirs`` keeps only folders with metadata: a folder that lost it would silently drop
    out of the tests below and of the demo, so every folder must be found, with its own logs."""
    root = SAMPLES[0].parent if SAMPLES else None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != "__pycache__") if root else []
    assert SAMPLES == folders and folders, "every sample folder has its metadata.json"
    metas = [json.loads((folder / "metadata.json").read_text()) for folder in SAMPLES]
    assert len({m["app_id"] for m in metas}) == len(metas), "each sample is a different application"
    for folder, meta in zip(SAMPLES, metas):
        assert is_known(meta["expected"]) and meta["status"] in ("FAILED", "KILLED"), folder.name
        number = meta["app_id"].removeprefix("application_")
        logs = sorted(folder.glob("container_*.log"))
        assert logs and all(number in log.name for log in logs), f"{folder.name}: containers of another app"


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_classify_finds_the_expected_root_cause(folder: Path) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    classifier = load_classifier(Settings())
    diagnosis = classify_paths(classifier, [str(folder)])
    assert diagnosis.app_id == meta["app_id"]
    assert diagnosis.category.split("/")[0] == meta["expected"]
    assert diagnosis.evidence and diagnosis.evidence[0].container_id
    deciding = diagnosis.evidence[0]
    fired = [rule.id for rule in classifier.engine.match(deciding.excerpt, deciding.role)]
    assert diagnosis.rule_id in fired, "the excerpt shows the lines that decided it"


@pytest.mark.broker
@pytest.mark.slow
def test_demo_diagnoses_every_sample_within_a_minute(demo_db: str) -> None:
    store = open_store(demo_db)
    for folder in SAMPLES:
        meta = json.loads((folder / "metadata.json").read_text())
        assert store.current_diagnosis(meta["app_id"]).category.split("/")[0] == meta["expected"]
    with store.engine.connect() as conn:  # app_end records without ts still end: the dashboards select by end
        ended = conn.execute(sa.select(t.applications.c.app_id, t.applications.c.ended)).all()
    assert len(ended) == len(SAMPLES) and all(when is not None for _, when in ended), ended
    assert data_range(store.engine) is not None, "the dashboards have something to show"
