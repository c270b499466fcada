from pathlib import Path

import pytest

from monitor.settings import DEFAULT_DB, MAX_BODY_BYTES, Settings, load_settings


def test_defaults_are_the_named_constants():
    s = load_settings(environ={})
    assert s == Settings()
    assert s.db_path == DEFAULT_DB and s.max_body_bytes == MAX_BODY_BYTES and s.allow_private_hosts == ()


def test_environment_overrides_defaults_and_explicit_arguments_override_both():
    env = {"MONITOR_DB": "/data/w.duckdb", "MONITOR_ALLOW_PRIVATE_HOSTS": " 127.0.0.1, 10.0.0.0/8 ,,",
           "MONITOR_PER_HOST_DELAY": "0.5", "MONITOR_WRITER_MEMORY": "2GB"}
    s = load_settings(environ=env)
    assert s.db_path == Path("/data/w.duckdb")
    assert s.allow_private_hosts == ("127.0.0.1", "10.0.0.0/8")
    assert s.per_host_delay == 0.5 and s.writer_memory_limit == "2GB"
    assert load_settings(environ=env, db_path=Path("x.duckdb")).db_path == Path("x.duckdb")


def test_none_overrides_are_ignored():
    assert load_settings(environ={}, db_path=None) == Settings()


def test_pages_per_task_from_the_environment_must_be_a_positive_whole_number():
    from monitor.exceptions import ConfigError

    assert load_settings(environ={"MONITOR_PAGES_PER_TASK": "100"}).pages_per_task == 100
    for bad in ("0", "-3", "lots", "2.5"):
        with pytest.raises(ConfigError, match="MONITOR_PAGES_PER_TASK"):
            load_settings(environ={"MONITOR_PAGES_PER_TASK": bad})


def test_the_writer_wait_is_seconds_from_the_environment_and_none_by_default():
    from monitor.exceptions import ConfigError

    assert load_settings(environ={}).writer_wait == 0.0
    assert load_settings(environ={"MONITOR_WRITER_WAIT": "90"}).writer_wait == 90.0
    assert load_settings(environ={"MONITOR_WRITER_WAIT": "90"}, writer_wait=5.0).writer_wait == 5.0
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="MONITOR_WRITER_WAIT must be a number of seconds"):
            load_settings(environ={"MONITOR_WRITER_WAIT": bad})
