"""Transform-size choice of the TOPS azimuth chain (:mod:`sar.focus.tops.geometry`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.tops import make_burst
from sar.focus.sizes import fft_cost, smooth_sizes_between
from sar.focus.tops.geometry import (
    IW_AZIMUTH_TIME_INTERVAL,
    SPECAN_MARGIN,
    burst_geometry,
    choose_strip_span,
    plan_azimuth,
)


def test_fft_cost_prefers_sizes_fftw_runs_fast() -> None:
    def per_nlogn(n: int) -> float:
        return fft_cost(n) / (n * math.log2(n))

    assert per_nlogn(2048) < per_nlogn(2560) < per_nlogn(2500)
    # at most one factor 2: several times slower in FFTW (measured 0.48-0.67 vs 0.12 ns)
    assert per_nlogn(2025) > 3.0 * per_nlogn(2048)
    assert per_nlogn(2187) > 3.0 * per_nlogn(2048)
    # a factor outside 2, 3, 5 is never preferred over a 5-smooth neighbour
    assert fft_cost(2058) > fft_cost(2160)


@pytest.mark.parametrize("samples", [4000, 20000])
def test_plan_holds_the_unfolded_band_with_fast_sizes(samples: int) -> None:
    raw = make_burst(1500, samples)
    fs = raw.range_sampling_rate
    tau0 = raw.slant_range_time
    tau1 = tau0 + (samples - 3400) / fs
    g = burst_geometry(raw, tau0, tau1)
    plan = plan_azimuth(g, raw.lines, raw.prf, IW_AZIMUTH_TIME_INTERVAL, tau0, tau1, fs,
                        0.0, 768)  # fmt: skip
    n1, n2 = plan.n_mosaic, plan.n_specan
    assert n1 in smooth_sizes_between(n1, n1) and n2 in smooth_sizes_between(n2, n2)
    kt = g.centroid_rate(np.array([tau0, tau1]))
    for k_t in kt:
        # per-strip mosaicking rate (exact output spacing) and the band N' must hold
        k_m = float(k_t) * n2 * IW_AZIMUTH_TIME_INTERVAL * raw.prf / n1
        assert k_m * n1 / raw.prf >= g.k_s * raw.lines / raw.prf + raw.prf
        assert 0.95 < k_m / g.k_s < 1.0 + SPECAN_MARGIN + 0.05
    ideal = g.k_s * n1 / (math.sqrt(float(kt[0] * kt[1])) * IW_AZIMUTH_TIME_INTERVAL * raw.prf)
    assert 0.985 <= n2 / ideal <= 1.0 + SPECAN_MARGIN
    # the chosen N'' is the cheapest size the window allows for this N' (FFT + 9 passes)
    allowed = smooth_sizes_between(int(ideal * 0.985), int(ideal * (1.0 + SPECAN_MARGIN)) + 1)
    assert fft_cost(n2) + 9 * n2 == min(fft_cost(n) + 9 * n for n in allowed)


@pytest.mark.parametrize(("min_width", "halos"), [(768, 96), (256, 40), (768, 130), (1000, 8)])
def test_strip_span_is_a_fast_length_at_least_the_requested_width(
    min_width: int, halos: int
) -> None:
    span = choose_strip_span(min_width, halos)
    need = min_width + halos
    assert need <= span <= 1.25 * need + 1
    assert span in smooth_sizes_between(span, span)
    # never a length FFTW runs several times slower
    assert fft_cost(span) < 2.0 * span * math.log2(span)
    if (min_width, halos) == (768, 96):
        assert span == 1024  # measured fastest for IW1 (see choose_strip_span)
