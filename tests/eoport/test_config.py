"""Process settings: environment parsing, validation, factories."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoport.config import (
    AssemblerSettings,
    DemoSettings,
    FocusWorkerSettings,
    IngestSettings,
    load,
)
from streams._infra.errors import ConfigurationError


def test_defaults_are_valid_and_distinct_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EOPORT_BOOTSTRAP_SERVERS", "EOPORT_OBJECT_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    assembler = load(AssemblerSettings)
    focus = load(FocusWorkerSettings)
    assert assembler.group_id == "eoport-assembler" and focus.group_id == "eoport-focus"
    assert assembler.topics.focus_jobs == "focus-jobs"
    assert {s.name: s.partitions for s in focus.topics.specs()}["focus-jobs"] == 24


def test_environment_overrides_with_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOPORT_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("EOPORT_TOPICS__FOCUS_JOBS", "jobs.v2")
    monkeypatch.setenv("EOPORT_GAP_TIMEOUT_S", "7.5")
    monkeypatch.setenv("EOPORT_OBJECT_STORE_URL", "s3://eoport-products/nrt")
    monkeypatch.setenv("EOPORT_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    settings = load(AssemblerSettings)
    assert settings.bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.gap_timeout_s == 7.5
    assert "jobs.v2" in {s.name for s in settings.topics.specs()}
    endpoint = settings.s3_endpoint()
    assert endpoint is not None and endpoint.endpoint_url == "http://127.0.0.1:9000"
    bus = settings.make_bus()
    assert bus.bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert bus.session_timeout_ms == 45_000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EOPORT_BOOTSTRAP_SERVERS", "kafka-0", "EOPORT_BOOTSTRAP_SERVERS"),
        ("EOPORT_BOOTSTRAP_SERVERS", "kafka:99999", "not host:port"),
        ("EOPORT_CHUNK_SIZE", "2000000", "EOPORT_CHUNK_SIZE"),
        ("EOPORT_OBJECT_STORE_URL", "gs://bucket", "use a path"),
        ("EOPORT_TOPICS__RAW_CHUNKS", "raw chunks", "invalid Kafka topic name"),
        ("EOPORT_STATION", "MAT/1", "EOPORT_STATION"),
        ("EOPORT_RELATIVE_ORBIT", "176", "EOPORT_RELATIVE_ORBIT"),
        ("EOPORT_RELATIVE_ORBIT", "0", "EOPORT_RELATIVE_ORBIT"),
    ],
)
def test_invalid_settings_fail_at_start_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        load(IngestSettings)


def test_ingest_relative_orbit_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EOPORT_RELATIVE_ORBIT", raising=False)
    assert load(IngestSettings).relative_orbit is None  # unknown: burst labels t000_...
    monkeypatch.setenv("EOPORT_RELATIVE_ORBIT", "117")
    assert load(IngestSettings).relative_orbit == 117


def test_demo_settings_make_a_local_object_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EOPORT_OBJECT_STORE_URL", str(tmp_path / "objects"))
    demo = load(DemoSettings)
    assert demo.session_timeout_ms == 6000 and demo.broker_storage == "memory"
    store = demo.make_object_store()
    store.put_bytes(store.url("x"), b"1")
    assert (tmp_path / "objects" / "x").read_bytes() == b"1"


def test_focus_worker_fft_planning_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EOPORT_FFT_EFFORT", "patient")
    monkeypatch.setenv("EOPORT_FFT_WISDOM", str(tmp_path / "fftw.wisdom"))
    focus = load(FocusWorkerSettings)
    assert focus.fft_effort == "patient" and focus.fft_wisdom == str(tmp_path / "fftw.wisdom")
    monkeypatch.setenv("EOPORT_FFT_EFFORT", "exhaustive-please")
    with pytest.raises(ConfigurationError, match="EOPORT_FFT_EFFORT"):
        load(FocusWorkerSettings)
