"""Settings resolve once from flags, SPARKTRIAGE_* variables and TOML; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings, load_settings


def test_defaults_when_nothing_is_given() -> None:
    assert load_settings(environ={}) == Settings()


def test_flags_beat_environment_beat_toml(tmp_path: Path) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text('bootstrap = "toml:9092"\ndb = "sqlite:///toml.db"\npartitions = 3\n')
    env = {"SPARKTRIAGE_BOOTSTRAP": "env:9092", "SPARKTRIAGE_PARTITIONS": "5"}
    s = load_settings({"bootstrap": "flag:9092"}, environ=env, config_file=toml)
    assert s.bootstrap == "flag:9092"
    assert s.partitions == 5
    assert s.db == "sqlite:///toml.db"


def test_config_file_from_environment_and_sparktriage_table(tmp_path: Path) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text('[sparktriage]\ninactivity_timeout = 12.5\nwebhook_routes = { "team:ads" = "http://127.0.0.1:1/x" }\n')
    s = load_settings(environ={"SPARKTRIAGE_CONFIG": str(toml)})
    assert s.inactivity_timeout == 12.5
    assert s.webhook_routes == {"team:ads": "http://127.0.0.1:1/x"}


def test_every_unknown_key_is_reported_at_once(tmp_path: Path) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text('bootstrapp = "x"\npartitions = "many"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"SPARKTRIAGE_DBB": "x"}, config_file=toml)
    text = str(err.value)
    assert "bootstrapp" in text and "SPARKTRIAGE_DBB" in text and "partitions" in text
    assert len(err.value.problems) == 3


def test_typed_values_from_environment() -> None:
    s = load_settings(environ={
        "SPARKTRIAGE_EXCERPT_RETENTION_DAYS": "30",
        "SPARKTRIAGE_WEBHOOK_ROUTES": '{"project:etl": "http://127.0.0.1:9/h"}',
        "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "",
    })
    assert s.excerpt_retention_days == 30
    assert s.webhook_routes == {"project:etl": "http://127.0.0.1:9/h"}
    assert s.producer_max_batch_size is None


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text("this is = not toml =")
    with pytest.raises(ConfigError, match="config file"):
        load_settings(environ={}, config_file=toml)


def test_values_take_the_type_of_their_field(tmp_path: Path) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text('session_timeout = 12\nwebhook_retries = 7\nmodel_mode = "off"\nrules_dir = "/etc/rules"\n')
    s = load_settings({"dashboard_port": 8600, "data_dir": tmp_path},
                      environ={"SPARKTRIAGE_WEBHOOK_BACKOFF": "1.5", "SPARKTRIAGE_EXCERPT_RETENTION_DAYS": "30",
                               "SPARKTRIAGE_WEBHOOK_URL": "", "SPARKTRIAGE_PARTITIONS": "4"},
                      config_file=toml)
    assert (s.session_timeout, s.webhook_retries, s.model_mode, s.rules_dir) == (12.0, 7, "off", "/etc/rules")
    assert type(s.session_timeout) is float and type(s.partitions) is int and s.partitions == 4
    assert (s.webhook_backoff, s.excerpt_retention_days, s.webhook_url) == (1.5, 30, None)
    assert (s.dashboard_port, s.data_dir) == (8600, str(tmp_path))


@pytest.mark.parametrize(("key", "value"), [
    ("partitions", "true"),  # a boolean is not a number
    ("partitions", "2.5"),  # nor is a fraction an integer
    ("session_timeout", '"soon"'),
    ("bootstrap", "9092"),  # a number is not a host list
    ("db", '["sqlite:///a.db"]'),
    ("webhook_routes", '"http://127.0.0.1:9/h"'),  # routes are a table
    ("model_mode", '"maybe"'),
    ("producer_max_batch_size", "false"),
])
def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path, key: str, value: str) -> None:
    toml = tmp_path / "st.toml"
    toml.write_text(f"{key} = {value}\nbootstrapp = 1\n")
    with pytest.raises(ConfigError) as err:
        load_settings(environ={}, config_file=toml)
    assert len(err.value.problems) == 2, "the bad value and the unknown key, reported together"
    assert f"{key}=" in err.value.problems[0] and "bootstrapp" in err.value.problems[1]


@pytest.mark.parametrize(("var", "value"), [
    ("SPARKTRIAGE_PARTITIONS", ""), ("SPARKTRIAGE_PARTITIONS", "eight"), ("SPARKTRIAGE_WEBHOOK_ROUTES", "[1]"),
    ("SPARKTRIAGE_WEBHOOK_ROUTES", "{not json"), ("SPARKTRIAGE_MODEL_MODE", "OFF"),
    ("SPARKTRIAGE_EXCERPT_RETENTION_DAYS", "a month"),
])
def test_a_bad_environment_value_names_its_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        load_settings(environ={var: value})
