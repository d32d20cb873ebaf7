"""Point-target quality over whole IW bursts: a grid of targets, a pass, every burst.

:func:`plan_iw_grid` places point targets at near, mid and far range of each sub-swath and
at the start, middle and end of a burst's valid area (fully focused lines and samples),
predicted from the burst's raw timing with the focusing set-up itself
(:func:`sar.focus.tops.setup.setup_burst`) before anything is simulated.
:func:`run_iw_quality_grid` simulates the pass as Level-0 packets
(:func:`sar.sim.datatake.simulate_datatake`, FDBAQ), decodes and focuses it like ``eoport
focus`` (:func:`sar.process.focus_packets`) and checks every target in every burst whose
valid area holds it: 3 dB widths, PSLR and ISLR against the theory of the windows the
product declares (:mod:`sar.quality.theory`), position against the zero-Doppler
prediction from the product's orbit, and phase against the analytic value.

Phase convention of the focused image (eoport TOPS and stripmap processors): a point
target of real amplitude at zero-Doppler slant range ``R0`` has phase ``-4 pi R0 / lambda
- pi / 4`` at its zero-Doppler position (the ``-pi / 4`` is the stationary phase of the
azimuth chirp, which the matched filter ``exp(j 4 pi R0 (D - 1) / lambda)`` does not
remove); in a TOPS burst it is read after removing the TN phase ramp
(:func:`sar.focus.tops.deramp.tops_phase`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sar.constants import SPEED_OF_LIGHT
from sar.errors import QualityError
from sar.focus.model import RawData
from sar.focus.tops.setup import setup_burst
from sar.geo.ellipsoid import ecef_to_geodetic, geodetic_to_ecef
from sar.geo.geolocate import geolocate, zero_doppler_time
from sar.product.model import SlcImage
from sar.quality.geolocation import analyse_targets
from sar.sim.acquisition import Acquisition
from sar.sim.scene import Target
from sar.sim.timeline import Burst

CHIP_MARGIN = 32
"""Pixels a target must stay inside the image (half the analysis chip)."""

RANGE_FRACTIONS = (0.05, 0.5, 0.95)
LINE_FRACTIONS = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class Tolerances:
    """Acceptance of one target (issue 12): 3 dB width within ``width`` (relative) of
    theory, PSLR within ``pslr_db``, ISLR within ``islr_db``, position within
    ``position_px`` in each direction, phase within ``phase_rad``."""

    width: float = 0.05
    pslr_db: float = 1.0
    islr_db: float = 1.5
    position_px: float = 0.05
    phase_rad: float = 0.01


@dataclass(frozen=True)
class GridTarget:
    """A target of the grid: where it is and where in the burst it was placed."""

    name: str
    lat: float
    lon: float
    height: float
    rcs: float
    swath: str
    range_fraction: float
    line_fraction: float

    def target(self) -> Target:
        """The simulator's target."""
        return Target(self.lat, self.lon, self.height, self.rcs)


@dataclass(frozen=True)
class TargetCheck:
    """Measured against expected, for one target in one product.

    Widths are relative errors (measured / theory - 1); PSLR/ISLR differences in dB
    (measured - theory, positive is worse); positions measured - predicted in pixels;
    phase measured - analytic, rad. ``margin`` is the largest deviation over its
    tolerance (``<= 1``: within all tolerances).
    """

    target: str
    product: str
    swath: str
    polarisation: str
    line: float
    sample: float
    range_width: float
    azimuth_width: float
    range_pslr_db: float
    azimuth_pslr_db: float
    range_islr_db: float
    azimuth_islr_db: float
    range_error_px: float
    azimuth_error_px: float
    phase_error_rad: float
    margin: float
    measured: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def passed(self) -> bool:
        """Within every tolerance."""
        return self.margin <= 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        out = asdict(self)
        out["passed"] = self.passed
        return out


def _stub_raw(acq: Acquisition, burst: Burst) -> RawData:
    """RawData of a burst's timing and radar parameters with zero-cost placeholder echoes
    (only shapes are read by the set-up)."""
    sw, win = burst.swath, acq.windows[burst.swath.name]
    echoes = np.broadcast_to(np.zeros((1, 1), dtype=np.complex64), (burst.n_lines, win.n_samples))
    return RawData(
        echoes=echoes, line_times=burst.line_times, slant_range_time=win.slant_range_time,
        range_sampling_rate=sw.sampling_rate, prf=sw.prf, chirp=sw.chirp,
        orbit=acq.placed.orbit, mode="IW", swath=sw.name,
        azimuth_steering_rate=sw.azimuth_steering_rate,
    )  # fmt: skip


def plan_iw_grid(
    acq: Acquisition,
    *,
    cycle: int | None = None,
    range_fractions: Iterable[float] = RANGE_FRACTIONS,
    line_fractions: Iterable[float] = LINE_FRACTIONS,
    height: float = 0.0,
    rcs: float = 5000.0,
    swaths: Iterable[str] | None = None,
) -> list[GridTarget]:
    """Targets at the given fractions of the valid area of one burst cycle's bursts.

    Parameters
    ----------
    acq
        The planned IW acquisition (:func:`sar.sim.acquisition.plan_acquisition`).
    cycle
        Burst cycle whose bursts hold the grid (default: the middle one of the pass).
    range_fractions, line_fractions
        Positions across the valid samples and valid lines (0: first, 1: last), kept
        :data:`CHIP_MARGIN` pixels inside the image.
    height, rcs
        Target height above WGS84 (m) and radar cross-section (m^2).
    swaths
        Sub-swaths to place targets in (default all).

    Raises
    ------
    QualityError
        If the acquisition is not IW or has no burst in ``cycle``.
    """
    if acq.mode.upper() != "IW":
        raise QualityError(f"the quality grid needs an IW acquisition, got {acq.mode}")
    cycles = sorted({b.index for b in acq.bursts})
    chosen = cycles[len(cycles) // 2] if cycle is None else cycle
    wanted = None if swaths is None else {s.upper() for s in swaths}
    bursts = [
        b for b in acq.bursts if b.index == chosen and (wanted is None or b.swath.name in wanted)
    ]
    if not bursts:
        raise QualityError(f"no burst in cycle {chosen} (cycles {cycles})")
    orbit = acq.placed.orbit
    out: list[GridTarget] = []
    for burst in bursts:
        setup = setup_burst(
            _stub_raw(acq, burst), range_window="hamming:0.75", azimuth_window=None,
            azimuth_bandwidth=None, output_azimuth_time_interval=2.0555563e-3,
            doppler_centroid=None, strip_width=768, bistatic=True,
        )  # fmt: skip
        v0, v1 = setup.valid_lines
        s1 = setup.samples_out - setup.plan.range_halo_right
        lo_line, hi_line = max(v0, CHIP_MARGIN), min(v1 - 1, setup.lines_out - 1 - CHIP_MARGIN)
        lo_s, hi_s = CHIP_MARGIN, min(s1 - 1, setup.samples_out - 1 - CHIP_MARGIN)
        for fr in range_fractions:
            sample = lo_s + fr * (hi_s - lo_s)
            r = 0.5 * SPEED_OF_LIGHT * (setup.tau0 + sample / setup.fs)
            for fl in line_fractions:
                line = lo_line + fl * (hi_line - lo_line)
                t = setup.first_line_time + line * setup.interval
                xyz = geolocate(orbit, t, r, height=height)
                lat, lon, h = ecef_to_geodetic(np.asarray(xyz).reshape(1, 3))
                name = f"{burst.swath.name}_r{fr:.2f}_l{fl:.2f}"
                out.append(GridTarget(
                    name, float(lat[0]), float(lon[0]), float(h[0]), rcs, burst.swath.name,
                    float(fr), float(fl),
                ))  # fmt: skip
    return out


def analytic_phase(slant_range: float, wavelength: float) -> float:
    """Phase of a unit real point target at its zero-Doppler position, rad (module doc)."""
    return -4.0 * math.pi * slant_range / wavelength - 0.25 * math.pi


def phase_at(slc: SlcImage, line: float, sample: float, half: int = 16) -> float:
    """Phase (rad) of the image at a fractional position: band-limited (Fourier)
    interpolation of the TN-deramped ``2 half x 2 half`` neighbourhood, plus the TN phase
    there (TOPS; stripmap images are at baseband already)."""
    i0, j0 = int(round(line)), int(round(sample))
    rows = np.arange(i0 - half, i0 + half)
    cols = np.arange(j0 - half, j0 + half)
    if rows[0] < 0 or cols[0] < 0 or rows[-1] >= slc.lines or cols[-1] >= slc.samples:
        raise QualityError(f"position ({line:.1f}, {sample:.1f}) too close to the image edge")
    chip = slc.image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.complex128)
    ramp = 0.0
    if slc.azimuth_steering_rate > 0.0:
        from sar.focus.tops.deramp import tops_phase

        chip = chip * np.exp(-1j * tops_phase(slc, rows[:, None], cols[None, :]))
        ramp = float(tops_phase(slc, line, sample))
    spec = np.fft.fft2(chip)
    f = np.fft.fftfreq(2 * half)
    dl, ds = line - rows[0], sample - cols[0]
    kernel = np.exp(2j * np.pi * (f[:, None] * dl + f[None, :] * ds))
    value = complex(np.sum(spec * kernel))
    return math.atan2(value.imag, value.real) + ramp


def _wrap(x: float) -> float:
    return float(np.angle(np.exp(1j * x)))


def _inside(slc: SlcImage, line: float, sample: float) -> bool:
    v0, v1 = slc.valid_lines
    s0, s1 = slc.valid_samples
    return (
        max(v0, CHIP_MARGIN) <= line <= min(v1 - 1, slc.lines - 1 - CHIP_MARGIN)
        and max(s0, CHIP_MARGIN) <= sample <= min(s1 - 1, slc.samples - 1 - CHIP_MARGIN)
    )


def holding_targets(slc: SlcImage, targets: Iterable[GridTarget]) -> list[GridTarget]:
    """The targets of the product's swath whose predicted position lies in its valid area."""
    from sar.quality.geolocation import predict_position

    out = []
    for t in targets:
        if t.swath != slc.swath:
            continue
        line, sample = predict_position(slc, t.lat, t.lon, t.height)
        if _inside(slc, line, sample):
            out.append(t)
    return out


def check_product(
    slc: SlcImage, product: str, targets: Iterable[GridTarget],
    tolerances: Tolerances = Tolerances(),
) -> list[TargetCheck]:  # fmt: skip
    """Measure every target of ``targets`` whose predicted position lies in the product's
    valid area (:func:`holding_targets`) against the theory of the product's windows."""
    mine = holding_targets(slc, targets)
    if not mine:
        return []
    reports = analyse_targets(slc, mine)
    wavelength = SPEED_OF_LIGHT / slc.radar_frequency
    t_mid = slc.line_time(0.5 * (slc.lines - 1))
    checks = []
    for t, rep in zip(mine, reports, strict=True):
        if rep.range_theory is None or rep.azimuth_theory is None:
            raise QualityError(f"{product}: no theory for windows of the product")
        rt, at = rep.range_theory, rep.azimuth_theory
        _, r0 = zero_doppler_time(slc.orbit, geodetic_to_ecef(t.lat, t.lon, t.height), t_mid)
        phase = phase_at(slc, rep.predicted_line, rep.predicted_sample)
        dphi = _wrap(phase - analytic_phase(float(r0), wavelength))
        dev = {
            "range_width": rep.range_resolution_px / rt[0] - 1.0,
            "azimuth_width": rep.azimuth_resolution_px / at[0] - 1.0,
            "range_pslr_db": rep.range_pslr_db - rt[1],
            "azimuth_pslr_db": rep.azimuth_pslr_db - at[1],
            "range_islr_db": rep.range_islr_db - rt[2],
            "azimuth_islr_db": rep.azimuth_islr_db - at[2],
            "range_error_px": rep.range_error_px,
            "azimuth_error_px": rep.azimuth_error_px,
            "phase_error_rad": dphi,
        }
        tol = {
            "range_width": tolerances.width, "azimuth_width": tolerances.width,
            "range_pslr_db": tolerances.pslr_db, "azimuth_pslr_db": tolerances.pslr_db,
            "range_islr_db": tolerances.islr_db, "azimuth_islr_db": tolerances.islr_db,
            "range_error_px": tolerances.position_px,
            "azimuth_error_px": tolerances.position_px, "phase_error_rad": tolerances.phase_rad,
        }  # fmt: skip
        margin = max(abs(dev[k]) / tol[k] for k in dev)
        measured = {
            "range_resolution_px": rep.range_resolution_px,
            "azimuth_resolution_px": rep.azimuth_resolution_px,
            "range_pslr_db": rep.range_pslr_db, "azimuth_pslr_db": rep.azimuth_pslr_db,
            "range_islr_db": rep.range_islr_db, "azimuth_islr_db": rep.azimuth_islr_db,
            "range_theory_px": rt[0], "azimuth_theory_px": at[0],
            "range_theory_pslr_db": rt[1], "azimuth_theory_pslr_db": at[1],
            "range_theory_islr_db": rt[2], "azimuth_theory_islr_db": at[2],
        }  # fmt: skip
        checks.append(TargetCheck(
            target=t.name, product=product, swath=slc.swath, polarisation=slc.polarisation,
            line=rep.predicted_line, sample=rep.predicted_sample, margin=float(margin),
            measured=measured, **{k: float(v) for k, v in dev.items()},
        ))  # fmt: skip
    return checks


@dataclass(frozen=True)
class GridReport:
    """Result of :func:`run_iw_quality_grid`."""

    targets: list[GridTarget]
    checks: list[TargetCheck]
    products: int
    seconds: dict[str, float]

    @property
    def worst(self) -> TargetCheck | None:
        """The check with the largest margin."""
        return max(self.checks, key=lambda c: c.margin, default=None)

    def unchecked(self) -> list[str]:
        """Grid targets no product's valid area held."""
        seen = {c.target for c in self.checks}
        return [t.name for t in self.targets if t.name not in seen]

    @property
    def passed(self) -> bool:
        """Every target checked at least once and every check within tolerance."""
        return bool(self.checks) and not self.unchecked() and all(c.passed for c in self.checks)


def focused_grid_products(
    data: bytes, relative_orbit: int | None = None
) -> Iterator[tuple[str, SlcImage]]:
    """Decode and focus a Level-0 stream like ``eoport focus`` (name, product)."""
    from sar.l0.packets import decode_packets
    from sar.process import focus_packets

    packets = decode_packets(data)
    for product in focus_packets(packets, relative_orbit=relative_orbit):
        yield product.name, product.slc


def run_iw_quality_grid(
    center: tuple[float, float] = (45.0, 10.0),
    duration: float = 8.0,
    *,
    pol: str = "VV",
    n_samples: int | None = None,
    seed: int = 0,
    tolerances: Tolerances = Tolerances(),
    range_fractions: Iterable[float] = RANGE_FRACTIONS,
    line_fractions: Iterable[float] = LINE_FRACTIONS,
    swaths: Iterable[str] | None = None,
) -> GridReport:
    """Simulate an IW pass with a target grid, focus every burst, check every target.

    Parameters
    ----------
    center
        Scene centre (lat, lon), deg (mid-IW2).
    duration
        Sensing duration, s (whole burst cycles; at least 3 cycles put the grid in a
        burst with neighbours on both sides).
    pol
        ``"VV"``, ``"VH"``, ``"VV+VH"`` ... (every channel is checked).
    n_samples
        Narrowed echo window (``None``: the full swath).
    seed
        Simulation seed.
    tolerances, range_fractions, line_fractions, swaths
        See :class:`Tolerances` and :func:`plan_iw_grid`.
    """
    import time

    from sar.sim.acquisition import plan_acquisition
    from sar.sim.datatake import simulate_datatake

    t0 = time.perf_counter()
    acq = plan_acquisition("IW", center, duration, pol=pol, n_samples=n_samples)
    grid = plan_iw_grid(
        acq, range_fractions=range_fractions, line_fractions=line_fractions, swaths=swaths
    )
    datatake = simulate_datatake(
        "IW", center, duration, [g.target() for g in grid], pol=pol, seed=seed,
        n_samples=n_samples,
    )  # fmt: skip
    t1 = time.perf_counter()
    checks: list[TargetCheck] = []
    products = 0
    focus_s = 0.0
    check_s = 0.0
    mark = time.perf_counter()
    for name, slc in focused_grid_products(datatake.data):
        now = time.perf_counter()
        focus_s += now - mark
        products += 1
        checks.extend(check_product(slc, name, grid, tolerances))
        mark = time.perf_counter()
        check_s += mark - now
    seconds = {"simulate": t1 - t0, "focus": focus_s, "check": check_s,
               "total": time.perf_counter() - t0}  # fmt: skip
    return GridReport(grid, checks, products, seconds)


def targets_json(targets: Iterable[GridTarget]) -> dict[str, Any]:
    """A targets file (``{"targets": [...]}``) of the grid, for ``eoport simulate``."""
    return {"targets": [
        {"name": t.name, "lat": t.lat, "lon": t.lon, "height": t.height, "rcs": t.rcs}
        for t in targets
    ]}  # fmt: skip


