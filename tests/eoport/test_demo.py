"""``eoport demo`` and ``eoport run``: the one-command chain and stage entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eoport.cli import main
from eoport.errors import ExitStatus
from eoport.pipeline import DEMO_CENTER, DEMO_RELATIVE_ORBIT
from sar.sim.acquisition import plan_acquisition


def test_run_ingest_without_a_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "ingest", "--bootstrap-servers", "127.0.0.1:1"]) == ExitStatus.INVALID
    assert "needs --file" in capsys.readouterr().err


def test_demo_json_reports_products_deliveries_and_latency(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert main(["demo", "--json", "--speedup", "2"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["complete"] is True
    assert summary["mode"] == "IW"
    # early data selection: of the IW1, IW2, IW3 bursts of the cycle only IW2 holds the
    # subscribed AOIs; the two others stay raw (focusable on request)
    assert summary["products"] == summary["jobs"] == summary["bursts_focused"] == 1
    assert summary["bursts_skipped"] == 2 and len(summary["skipped_keys"]) == 2
    # one target per AOI, both inside the IW2 burst: one delivery per subscription
    assert summary["delivered"] == summary["expected_deliveries"] == 2
    assert summary["webhook_received"] == 1
    assert 0 < summary["latency_p50_s"] <= summary["latency_p95_s"] < 300
    assert summary["gaps"] == 0 and summary["errors"] == 0
    # the station's manifest accounts for every burst sent
    assert summary["bursts_sent"] == 3 and summary["bursts_missing"] == []
    assert summary["bursts_failed"] == [] and summary["bursts_incomplete"] == []
    stages = summary["stage_p50_s"]
    assert set(stages) >= {"assemble", "focus", "deliver", "kafka_to_job"}
    # one burst: last chunk on Kafka -> job published spans assemble, aux and publish
    parts = stages["assemble"] + stages["aux"] + stages["publish"]
    assert stages["kafka_to_job"] == pytest.approx(parts, abs=0.003)
    # the stream keys are the ESA burst IDs the simulator planned for the demo's track
    acq = plan_acquisition("IW", DEMO_CENTER, 3.0, relative_orbit=DEMO_RELATIVE_ORBIT)
    labels = sorted(acq.burst_label(b) for b in acq.bursts)
    assert labels[0].startswith("t117_")
    assert summary["burst_labels"] == [x for x in labels if x.endswith("_iw2")]
    keys = sorted(f"05A5A5/{b.swath.name}/VV/{b.burst_id}" for b in acq.bursts)
    assert summary["burst_keys"] == [k for k in keys if "/IW2/" in k]
    assert sorted(summary["burst_keys"] + summary["skipped_keys"]) == keys


@pytest.mark.slow
def test_demo_autoscales_workers_on_a_longer_dual_pol_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    args = ["demo", "--json", "--cycles", "3", "--pol", "VV+VH", "--focus", "all",
            "--autoscale", "1..3", "--speedup", "2"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["complete"] is True and summary["polarisation"] == "VV+VH"
    # three cycles x three sub-swaths x two polarisations, every one focused
    assert summary["bursts_sent"] == summary["products"] == 18
    assert summary["bursts_missing"] == [] and summary["bursts_skipped"] == 0
    workers = [n for _, n in summary["workers_over_time"]]
    assert workers[0] == 1 and max(workers) >= 2  # scaled up with the backlog
    assert summary["backlog_peak_bursts"] >= 2
    assert summary["backlog_peak_s"] > 2 * 2.75
    assert 0 < summary["burst_latency_p50_s"] <= summary["burst_latency_max_s"]
