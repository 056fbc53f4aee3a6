"""The shipped sample applications: classify names each one's expected root cause,
and the demo diagnoses all of them through the real broker and worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.core import load_classifier
from sparktriage.broker import free_port
from sparktriage.classify import classify_paths
from sparktriage.demo import run_demo, sample_dirs
from sparktriage.settings import Settings
from sparktriage.store import open_store

SAMPLES = sample_dirs()


def test_there_are_samples() -> None:
    assert len(SAMPLES) >= 4


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_classify_finds_the_expected_root_cause(folder: Path) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    diagnosis = classify_paths(load_classifier(Settings()), [str(folder)])
    assert diagnosis.app_id == meta["app_id"]
    assert diagnosis.category.split("/")[0] == meta["expected"]
    assert diagnosis.evidence and diagnosis.evidence[0].container_id


@pytest.mark.broker
@pytest.mark.slow
def test_demo_diagnoses_every_sample_within_a_minute(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/demo.db"
    settings = Settings(db=db, broker_port=free_port(), data_dir=str(tmp_path / "var"))
    assert run_demo(settings, timeout=60, keep_running=False) == len(SAMPLES)
    store = open_store(db)
    for folder in SAMPLES:
        meta = json.loads((folder / "metadata.json").read_text())
        assert store.current_diagnosis(meta["app_id"]).category.split("/")[0] == meta["expected"]
