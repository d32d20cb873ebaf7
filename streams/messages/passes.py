"""Pass accounting: what a station sent against what came out of the chain.

A ground station knows what it downlinked; :class:`PassManifest` lists it (one entry per
burst for TOPS data, keyed like every other record by :mod:`sar.identity`; one entry per
swath and polarisation for stripmap, by sensing time). It travels on ``events`` (kind
``pass-manifest``). :func:`account_pass` compares it with the products, the incomplete
bursts and the failures the chain reported, so that a burst lost or stuck anywhere shows
up as ``missing`` and a pass is never summarised as a success while bursts are missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams._infra.errors import SchemaError
from streams.messages.products import ProductRecord

COVERAGE_TOLERANCE_S = 0.01
"""Stripmap coverage: products must cover the sent sensing interval to within this, s
(a few PRIs at the data-take edges)."""


class ManifestEntry(BaseModel):
    """One burst (TOPS: ``key`` set) or one swath/polarisation series (stripmap) sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str | None = Field(description="burst key (TOPS); None for a stripmap series")
    data_take_id: int
    swath: str
    polarisation: str
    sensing_start_gps: float
    sensing_stop_gps: float
    packets: int = Field(ge=0)


class PassManifest(BaseModel):
    """What a station sent in one pass of one channel (value of an ``events`` record of
    kind ``pass-manifest``, in its ``detail``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    channel_key: str = Field(description="station/pass_id/channel")
    chunks: int = Field(ge=0)
    n_bytes: int = Field(ge=0)
    entries: list[ManifestEntry]

    @classmethod
    def from_detail(cls, detail: dict[str, object]) -> PassManifest:
        """Parse the ``detail`` of a ``pass-manifest`` event.

        Raises
        ------
        SchemaError
            If it is not a manifest of a version this code reads.
        """
        try:
            return cls.model_validate(detail)
        except ValueError as exc:
            raise SchemaError(f"invalid pass manifest: {str(exc).splitlines()[0]}") from exc


class PassReport(BaseModel):
    """The outcome of a pass against its manifest (``events`` kind ``pass-report``)."""

    model_config = ConfigDict(frozen=True)

    channel_key: str
    expected: int
    focused: list[str] = Field(description="burst keys (TOPS) with a product")
    incomplete: list[str] = Field(description="of those, focused with packets missing")
    failed: list[str] = Field(description="burst keys whose focusing failed (dead-lettered)")
    missing: list[str] = Field(
        description="sent but neither focused nor reported failed: lost or stuck"
    )
    extra: list[str] = Field(description="products of bursts the manifest does not list")

    @property
    def complete(self) -> bool:
        """Every burst sent came out as a product (possibly incomplete) or a failure."""
        return not self.missing


def _series(entry: ManifestEntry) -> tuple[int, str, str]:
    return (entry.data_take_id, entry.swath, entry.polarisation)


def _covered(start: float, stop: float, spans: list[tuple[float, float]]) -> bool:
    """Whether the union of ``spans`` covers ``[start, stop]`` (within the tolerance)."""
    reach = start
    for a, b in sorted(spans):
        if a > reach + COVERAGE_TOLERANCE_S:
            break
        reach = max(reach, b)
    return reach >= stop - COVERAGE_TOLERANCE_S


def account_pass(
    manifest: PassManifest,
    products: Iterable[ProductRecord],
    failed_keys: Iterable[str] = (),
) -> PassReport:
    """Compare what was sent with what came out.

    Parameters
    ----------
    manifest
        What the station sent.
    products
        Product records of the pass (any order, duplicates allowed).
    failed_keys
        Burst keys whose focusing failed permanently.

    Returns
    -------
    PassReport
        TOPS bursts by key; a stripmap series counts as focused when its products' sensing
        intervals cover the series' interval, else as missing (named
        ``datatake/swath/pol@start-stop``).
    """
    from sar.timeutil import utc_to_gps_seconds

    by_key: dict[str, ProductRecord] = {}
    spans: dict[tuple[int, str, str], list[tuple[float, float]]] = {}
    for p in products:
        by_key[p.burst_key] = p
        spans.setdefault((p.data_take_id, p.swath, p.polarisation), []).append(
            (utc_to_gps_seconds(p.sensing_start), utc_to_gps_seconds(p.sensing_stop))
        )
    failed = set(failed_keys)
    focused: list[str] = []
    incomplete: list[str] = []
    missing: list[str] = []
    failed_out: list[str] = []
    expected_keys: set[str] = set()
    for e in manifest.entries:
        if e.key is not None:
            expected_keys.add(e.key)
            product = by_key.get(e.key)
            if product is not None:
                focused.append(e.key)
                if (product.quality or {}).get("complete", 1.0) < 1.0:
                    incomplete.append(e.key)
            elif e.key in failed:
                failed_out.append(e.key)
            else:
                missing.append(e.key)
            continue
        name = (
            f"{e.data_take_id:06X}/{e.swath}/{e.polarisation}"
            f"@{e.sensing_start_gps:.3f}-{e.sensing_stop_gps:.3f}"
        )
        if _covered(e.sensing_start_gps, e.sensing_stop_gps, spans.get(_series(e), [])):
            focused.append(name)
        else:
            missing.append(name)
    tops_series = {_series(e) for e in manifest.entries if e.key is not None}
    extra = sorted(
        k for k, p in by_key.items()
        if k not in expected_keys and (p.data_take_id, p.swath, p.polarisation) in tops_series
    )  # fmt: skip
    return PassReport(
        channel_key=manifest.channel_key,
        expected=len(manifest.entries),
        focused=sorted(focused),
        incomplete=sorted(incomplete),
        failed=sorted(failed_out),
        missing=sorted(missing),
        extra=extra,
    )
