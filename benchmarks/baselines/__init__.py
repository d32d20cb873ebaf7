"""Plain-numpy reference implementations of focusing: the baselines the benchmarks time
the fast paths against, and references the tests compare them with.

:mod:`benchmarks.baselines.stripmap`
    :func:`~benchmarks.baselines.stripmap.focus_stripmap_baseline` (same algorithm as
    :func:`sar.focus.rda.focus_stripmap`).
:mod:`benchmarks.baselines.tops`
    :func:`~benchmarks.baselines.tops.focus_burst_baseline` (same algorithm as
    :func:`sar.focus.tops.focus_burst`).
"""
