"""The JSON truth of a simulated data-take (``RAW.dat.json``).

Everything a test or a user needs to check a focused product against the simulation:
targets with their zero-Doppler times, slant ranges and two-way delays, the orbit state
vectors (ISO UTC and GPS seconds), radar parameters and bursts per swath, the
conventions of the simulated stream, and the noise and ADC scaling.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from sar.constants import SPEED_OF_LIGHT
from sar.geo.geolocate import zero_doppler_times
from sar.sim.acquisition import Acquisition
from sar.sim.scene import ClutterPatch, Target, targets_ecef
from sar.timeutil import gps_seconds_to_iso

CONVENTIONS: dict[str, str] = {
    "datation": "packet time = transmit time of the line's pulse (2^-16 s steps)",
    "line_times": "first_line_time + k * line_interval, exact (transmit times)",
    "sample0_delay": "rank*PRI + SWST + 320/(8 f_ref) after transmission",
    "pulse": "exp(j 2 pi (TXPSF t + TXPRR t^2/2)), 0 <= t < TXPL, from transmission",
    "carrier": "exp(-j 2 pi f0 tau), tau = bistatic two-way delay (not stop-and-go)",
    "steering": "psi = k_psi (t - burst mid_time), beam address 512 + psi/(0.018/512 rad)",
    "amplitude": "sqrt(rcs) * sinc^2 azimuth pattern * (850 km)^2/(R_tx R_rx) * adc_scale",
}


def _stamp(t: float) -> dict[str, Any]:
    return {"utc": gps_seconds_to_iso(t), "gps_seconds": t}


def build_truth(
    acq: Acquisition,
    targets: list[Target],
    *,
    baq: str,
    seed: int,
    data_take_id: int,
    snr_db: float | None,
    noise_power: float,
    adc_scale: float,
    noise_std_adc: float,
    clutter: ClutterPatch | None,
) -> dict[str, Any]:
    """Build the JSON-serialisable truth of an acquisition.

    Returns
    -------
    dict
        Keys: mode, center, polarisations, rx_channels, baq, data_take_id, seed,
        start_time, stop_time, ascending, anx_time, relative_orbit, reference_time,
        reference_look_angle_deg, conventions, targets, clutter, noise, orbit, swaths.
    """
    placed = acq.placed
    orbit = placed.orbit
    records: list[dict[str, Any]] = []
    if targets:
        xyz = targets_ecef(targets)
        t_zd, r_zd = zero_doppler_times(orbit, xyz, placed.reference_time)
        for i, tg in enumerate(targets):
            delay = 2 * float(r_zd[i]) / SPEED_OF_LIGHT
            seen = []
            for sw in acq.swaths:
                win = acq.windows[sw.name]
                end = win.slant_range_time + win.n_samples / sw.sampling_rate
                if win.slant_range_time <= delay < end:
                    seen.append(sw.name)
            records.append({
                **tg.to_dict(), "ecef": [float(v) for v in xyz[i]],
                "zero_doppler_time": _stamp(float(t_zd[i])), "slant_range": float(r_zd[i]),
                "two_way_delay": delay, "swaths": seen,
            })  # fmt: skip
    swaths: dict[str, Any] = {}
    for sw in acq.swaths:
        win = acq.windows[sw.name]
        swaths[sw.name] = {
            "prf": sw.prf, "pri": sw.pri, "pri_code": sw.pri_code,
            "range_decimation": sw.range_decimation, "range_sampling_rate": sw.sampling_rate,
            "chirp": {
                "ramp_rate": sw.chirp.ramp_rate, "start_frequency": sw.chirp.start_frequency,
                "pulse_length": sw.chirp.pulse_length, "txprr_code": sw.txprr_code,
                "txpsf_code": sw.txpsf_code, "txpl_code": sw.txpl_code,
            },
            "rank": win.rank, "swst": win.swst, "swst_code": win.swst_code,
            "swl_code": win.swl_code, "slant_range_time": win.slant_range_time,
            "n_samples": win.n_samples,
            "look_angle_span_deg": [sw.look_near_deg, sw.look_far_deg],
            "azimuth_steering_rate": sw.azimuth_steering_rate,
            "swath_number": sw.swath_number, "ecc_number": sw.ecc_number,
            "elevation_beam_address": sw.elevation_beam_address,
            "bursts": [
                {
                    "index": b.index, "burst_id": b.burst_id, "label": acq.burst_label(b),
                    "first_line_time": _stamp(b.first_line_time), "n_lines": b.n_lines,
                    "mid_time": _stamp(b.mid_time), "line_interval": sw.pri,
                }
                for b in acq.bursts if b.swath.name == sw.name
            ],
        }  # fmt: skip
    return {
        "mode": acq.mode,
        "center": {"lat": acq.center[0], "lon": acq.center[1]},
        "polarisations": [c.name for c in acq.channels],
        "rx_channels": {c.name: c.rx_channel_id for c in acq.channels},
        "baq": baq,
        "data_take_id": data_take_id,
        "seed": seed,
        "start_time": _stamp(acq.start_time),
        "stop_time": _stamp(acq.start_time + acq.span),
        "ascending": placed.ascending,
        "anx_time": _stamp(placed.anx_time),
        "relative_orbit": acq.relative_orbit,
        "reference_time": _stamp(placed.reference_time),
        "reference_look_angle_deg": placed.look_angle_deg,
        "conventions": dict(CONVENTIONS),
        "targets": records,
        "clutter": None if clutter is None else asdict(clutter),
        "noise": {
            "snr_db": snr_db,
            "noise_power_sim": noise_power,
            "noise_std_adc": noise_std_adc,
            "adc_scale": adc_scale,
        },  # fmt: skip
        "orbit": {
            "state_vectors": [
                {
                    "time": gps_seconds_to_iso(float(t)),
                    "gps_seconds": float(t),
                    "position": [float(v) for v in p],
                    "velocity": [float(v) for v in v3],
                }
                for t, p, v3 in zip(orbit.times, orbit.positions, orbit.velocities, strict=True)
            ],
        },  # fmt: skip
        "swaths": swaths,
    }


def truth_target_times(truth: dict[str, Any]) -> np.ndarray:
    """Zero-Doppler times (GPS s) of the truth's targets, in file order."""
    return np.array([t["zero_doppler_time"]["gps_seconds"] for t in truth["targets"]])
