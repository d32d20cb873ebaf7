"""Build :class:`~sar.focus.model.RawData` from decoded Level-0 echo packets.

Selection and alignment (S1-IF-ASD-PL-0007 issue 13):

- echo packets are those with SES signal type 0 (section 3.2.5.14); one swath number
  (SES SSB, 3.2.5.14) and one channel polarisation (SAS SSB POL code, 3.2.5.13, with the
  receive channel of a dual-polarisation take, 3.2.2.5:
  :func:`sar.l0.bursts.channel_polarisation`) are kept;
- lines are sorted by packet datation (3.2.1), taken as the transmit time of the line's
  pulse; the two-way time of sample 0 is ``rank * PRI + SWST + 320 / (8 f_ref)``
  (3.2.5.9-3.2.5.11, :func:`sar.l0.radar.range_time_of_first_sample`);
- lines whose SWST differs are shifted onto the grid of the earliest window by
  ``round((tau_i - tau_0) * fs)`` samples (zero-filled), so all lines share one range grid;
- the chirp (TXPRR, TXPSF, TXPL, 3.2.5.6-3.2.5.8), PRI and range decimation (3.2.5.4)
  must not change within the selection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sar.errors import FocusError
from sar.focus.model import ChirpParameters, RawData
from sar.geo.orbit import Orbit
from sar.l0 import radar
from sar.l0.bursts import channel_polarisation
from sar.l0.enums import polarisation_name
from sar.product.model import MissingLines

ECHO_SIGNAL_TYPE = 0
"""SES signal type of echo packets (S1-IF-ASD-PL-0007 table 3.2-20)."""


def swath_name(swath_number: int) -> tuple[str, str]:
    """(mode, swath) names of an SES swath number: 1-6 stripmap ``S1``-``S6``, 10-12 IW,
    13-17 EW, 20-21 wave; other numbers give ``("??", "swath_N")``."""
    n = int(swath_number)
    if 1 <= n <= 6:
        return "SM", f"S{n}"
    if 10 <= n <= 12:
        return "IW", f"IW{n - 9}"
    if 13 <= n <= 17:
        return "EW", f"EW{n - 12}"
    if n in (20, 21):
        return "WV", f"WV{n - 19}"
    return "??", f"swath_{n}"


def _pick(values: npt.NDArray[Any], wanted: Any, what: str) -> Any:
    present = sorted({v.item() if hasattr(v, "item") else v for v in values})
    if wanted is None:
        if len(present) != 1:
            raise FocusError(f"echo packets hold several {what}s {present}: choose one")
        return present[0]
    if wanted not in present:
        raise FocusError(f"no echo packets of {what} {wanted!r} (present: {present})")
    return wanted


def _single(values: npt.NDArray[Any], what: str) -> int:
    unique = np.unique(values)
    if unique.size != 1:
        raise FocusError(f"{what} changes within the selected packets: {unique.tolist()}")
    return int(unique[0])


DATATION_STEP = 2.0**-16
"""Resolution of the packet datation fine time, s (S1-IF-ASD-PL-0007 section 3.2.1)."""

MAX_MISSING_FRACTION = 0.05
"""Largest fraction of missing PRIs tolerated inside one selection (filled with zeros)."""


def line_grid(
    pri_count: npt.NDArray[Any], stamps: npt.NDArray[np.float64], pri: float,
    max_missing_fraction: float = MAX_MISSING_FRACTION,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:  # fmt: skip
    """Place packets on a regular line grid from their PRI counters.

    Packet datation is quantised to 2^-16 s (15 us, a few percent of a PRI), so line
    times are rebuilt as ``t0 + k * PRI`` with ``k`` from the PRI count (section
    3.2.4.2, wrapping at 2^32) and ``t0`` fitted to the datation of all lines. Missing
    PRIs become empty (zero) lines.

    Parameters
    ----------
    pri_count
        PRI counter of each packet, in time order.
    stamps
        Packet datation, GPS s.
    pri
        Pulse repetition interval, s.
    max_missing_fraction
        Largest fraction of missing PRIs accepted.

    Returns
    -------
    rows
        Line index of each packet in the grid.
    times
        Time of every grid line, GPS s.

    Raises
    ------
    FocusError
        Duplicate PRI counts, too many missing lines, or datation inconsistent with PRI.
    """
    counts = pri_count.astype(np.int64)
    steps = np.diff(counts) % (1 << 32)
    rows = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
    if np.any(steps == 0):
        raise FocusError("duplicate PRI counts in one swath and polarisation")
    n_lines = int(rows[-1]) + 1
    missing = n_lines - rows.size
    if missing > max_missing_fraction * n_lines:
        raise FocusError(
            f"{missing} of {n_lines} PRIs are missing (more than "
            f"{max_missing_fraction:.0%}): the selection is not one continuous acquisition"
        )
    t0 = float(np.mean(stamps - rows * pri))
    residual = np.abs(stamps - (t0 + rows * pri))
    if float(residual.max()) > 2.0 * DATATION_STEP:
        raise FocusError(
            f"packet datation departs from the PRI grid by {residual.max() * 1e6:.1f} us "
            "(wrong PRI or PRI counter)"
        )
    return rows, t0 + np.arange(n_lines, dtype=np.float64) * pri


def missing_ranges(rows: npt.NDArray[np.int64]) -> tuple[tuple[int, int], ...]:
    """Half-open ``(first, stop)`` ranges of the grid lines that no packet fills, given the
    increasing line index of every packet (:func:`line_grid`)."""
    jumps = np.flatnonzero(np.diff(rows) > 1)
    return tuple((int(rows[i]) + 1, int(rows[i + 1])) for i in jumps)


def missing_record(raw: RawData) -> MissingLines:
    """The product's record of the raw lines missing from ``raw`` (none: empty ranges)."""
    first = float(raw.line_times[0]) if raw.lines else 0.0
    return MissingLines(
        ranges=tuple(raw.missing_lines), lines=raw.lines, first_line_time=first,
        line_interval=1.0 / raw.prf if raw.prf > 0 else 0.0,
    )  # fmt: skip


def raw_from_packets(
    packets: Any,
    orbit: Orbit,
    *,
    swath: str | int | None = None,
    polarisation: str | None = None,
    max_missing_fraction: float = MAX_MISSING_FRACTION,
) -> RawData:
    """Assemble the echo lines of one swath and polarisation on a common range grid.

    Missing PRIs (lost packets) become zero lines of the grid, listed in
    ``RawData.missing_lines``.

    Parameters
    ----------
    packets
        Decoded packets (:class:`sar.l0.packets.Level0Packets`: ``headers`` records of
        :data:`sar.l0.fields.HEADER_DTYPE`, ``iq`` complex64 [n, max_samples]).
    orbit
        Orbit covering the packets.
    swath
        Swath name (``"S3"``, ``"IW1"``) or SES swath number; ``None`` if only one.
    polarisation
        ``"VV"``, ``"VH"``, ``"HH"``, ``"HV"``; ``None`` if only one.
    max_missing_fraction
        Largest fraction of missing PRIs accepted (a TOPS burst with a hole passes 1).

    Returns
    -------
    RawData

    Raises
    ------
    FocusError
        No echoes, ambiguous selection, or radar parameters changing within it.
    """
    headers = packets.headers
    iq = packets.iq
    if headers.shape[0] == 0:
        raise FocusError("no packets")
    echo = headers["signal_type"] == ECHO_SIGNAL_TYPE
    if not np.any(echo):
        raise FocusError("no echo packets (signal type 0) in the input")
    numbers = headers["swath_number"][echo].astype(int)
    if isinstance(swath, str):
        names = {int(n): swath_name(int(n))[1] for n in np.unique(numbers)}
        match = [n for n, name in names.items() if name == swath.upper()]
        if not match:
            present = sorted(names.values())
            raise FocusError(f"no echo packets of swath {swath!r} (present: {present})")
        swath_no = match[0]
    else:
        swath_no = int(_pick(numbers, swath, "swath number"))
    sel = echo & (headers["swath_number"] == swath_no)
    codes = channel_polarisation(headers[sel])
    names = {int(c): polarisation_name(int(c)) for c in np.unique(codes)}
    pols = np.array([names[int(c)] for c in codes])
    pol = str(_pick(pols, polarisation, "polarisation"))
    idx = np.nonzero(sel)[0][pols == pol]
    h = headers[idx]
    stamps = np.asarray(radar.packet_time(h["coarse_time"], h["fine_time"]), dtype=np.float64)
    order = np.argsort(stamps, kind="stable")
    idx, h, stamps = idx[order], h[order], stamps[order]
    if stamps.size < 2:
        raise FocusError("fewer than 2 echo lines in the selection")
    ramp_code = _single(h["tx_ramp_rate"], "TXPRR")
    chirp = ChirpParameters(
        ramp_rate=radar.tx_ramp_rate_hz_per_s(ramp_code),
        start_frequency=radar.tx_pulse_start_frequency_hz(
            _single(h["tx_pulse_start_frequency"], "TXPSF"), ramp_code),
        pulse_length=radar.tx_pulse_length_s(_single(h["tx_pulse_length"], "TXPL")),
    )
    pri_code = _single(h["pri"], "PRI")
    rows, times = line_grid(h["pri_count"], stamps, radar.pri_s(pri_code), max_missing_fraction)
    fs = radar.range_sampling_rate(_single(h["range_decimation"], "range decimation"))
    tau = np.array([radar.range_time_of_first_sample(int(r), pri_code, int(s))
                    for r, s in zip(h["rank"], h["swst"], strict=True)])
    tau0 = float(tau.min())
    shift = np.rint((tau - tau0) * fs).astype(np.int64)
    n_samples = h["n_samples"].astype(np.int64)
    width = int(np.max(shift + n_samples))
    echoes = np.zeros((times.size, width), dtype=np.complex64)
    for line, src, k, n in zip(rows, idx, shift, n_samples, strict=True):
        echoes[line, k: k + n] = iq[src, :n]
    mode, name = swath_name(swath_no)
    return RawData(
        echoes=echoes,
        line_times=times,
        slant_range_time=tau0,
        range_sampling_rate=fs,
        prf=1.0 / radar.pri_s(pri_code),
        chirp=chirp,
        orbit=orbit,
        mode=mode,
        swath=name,
        polarisation=pol,
        data_take_id=int(h["data_take_id"][0]),
        extra={
            "swath_number": swath_no,
            "swst_shifts": int(np.count_nonzero(shift)),
            "missing_lines": int(times.size - idx.size),
        },
        missing_lines=missing_ranges(rows),
    )
