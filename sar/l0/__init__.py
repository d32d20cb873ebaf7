"""Sentinel-1 Level-0 space packets (S1-IF-ASD-PL-0007): decoding, encoding, scanning.

Modules: :mod:`~sar.l0.fields` (header record), :mod:`~sar.l0.enums` (code tables),
:mod:`~sar.l0.headers` (68-byte headers), :mod:`~sar.l0.luts` (reconstruction tables),
:mod:`~sar.l0.userdata` / :mod:`~sar.l0.encoders` (bypass, BAQ, FDBAQ user data),
:mod:`~sar.l0.packets` (:func:`~sar.l0.packets.decode_packets`,
:func:`~sar.l0.packets.encode_packets`, :func:`~sar.l0.packets.reencode_packets`),
:mod:`~sar.l0.framing` and
:mod:`~sar.l0.stream` (packet boundaries, resynchronisation), :mod:`~sar.l0.radar`
(physical units), :mod:`~sar.l0.ancillary` (orbit/attitude words), :mod:`~sar.l0.info`
(summary), :mod:`~sar.l0.bursts` (TOPS bursts); throughput: :mod:`benchmarks.decode`.
"""
