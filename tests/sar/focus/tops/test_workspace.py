"""FocusWorkspace: which buffers and FFT workspaces are reused, kept and dropped (no
focusing; :mod:`tests.sar.focus.tops.test_burst` checks reuse gives identical images)."""

from __future__ import annotations

import threading

import numpy as np

from sar.focus.tops.workspace import (
    MAX_SHAPES,
    MAX_THREAD_WORKSPACES,
    BufferPool,
    FocusWorkspace,
)


def test_pool_reuses_exact_shape_then_smallest_larger_buffer() -> None:
    pool = BufferPool(2, threading.Lock())
    a = pool.take((10, 20))
    b = pool.take((30, 20))
    assert a.shape == (10, 20) and a.dtype == np.complex64 and a.flags.c_contiguous
    pool.give(a)
    pool.give(b)
    assert pool.take((30, 20)) is b  # exact shape first
    view = pool.take((5, 30))  # 150 elements: the smallest free buffer that fits (a)
    assert view.base is a and view.shape == (5, 30) and view.flags.c_contiguous
    pool.give(view)  # a view gives its whole buffer back
    assert pool.take((10, 20)) is a


def test_pool_keeps_the_largest_buffers_and_ignores_foreign_arrays() -> None:
    pool = BufferPool(2, threading.Lock())
    small, mid, big = pool.take((1, 10)), pool.take((1, 20)), pool.take((1, 30))
    for buf in (small, mid, big):
        pool.give(buf)
    assert pool.take((1, 20)) is mid and pool.take((1, 30)) is big
    assert pool.take((1, 10)) is not small  # the smallest was dropped
    pool.give(np.empty((1, 10), dtype=np.complex64))  # not from this pool
    pool.give(big[:, ::2])  # not contiguous
    pool.give(big.astype(np.complex128))  # not complex64
    pool.give(big[:, 1:])  # does not start the buffer
    assert pool.take((1, 30)) is not big
    pool.give(big)
    pool.give(big)  # twice: kept once
    assert pool.take((1, 30)) is big and pool.take((1, 30)) is not big


def test_workspaces_are_isolated_and_recycle_only_their_own_images() -> None:
    first, second = FocusWorkspace(), FocusWorkspace()
    image = first.take_output((4, 8))
    second.recycle(image)
    assert second.take_output((4, 8)) is not image
    first.recycle(image)
    assert first.take_output((4, 8)) is image
    scratch = first.take_scratch((4, 8))
    first.recycle(scratch)  # scratch and outputs are separate pools
    assert first.take_output((4, 8)) is not scratch
    first.give_scratch(scratch)
    assert first.take_scratch((4, 8)) is scratch


def test_range_and_strip_workspaces_are_reused_per_shape() -> None:
    ws = FocusWorkspace()
    r = ws.take_range(256)
    assert r.rng_buf.shape[1] == 256
    ws.give_range(256, r)
    assert ws.take_range(256) is r
    assert ws.take_range(256) is not r  # checked out: another thread gets its own
    shapes = (64, 80, 64)
    s = ws.take_strip(shapes)
    assert s.a_rows.shape[0] == 64 and s.a_rows.shape[1] >= 64 and s.c_block.shape[1] >= 80
    ws.give_strip(shapes, s)
    assert ws.take_strip(shapes) is s
    ws.give_strip(shapes, s)
    ws.clear()
    assert ws.take_strip(shapes) is not s


def test_workspace_bounds_what_it_keeps() -> None:
    ws = FocusWorkspace()
    kept = [ws.take_range(128) for _ in range(MAX_THREAD_WORKSPACES + 2)]
    for r in kept:
        ws.give_range(128, r)
    again = [ws.take_range(128) for _ in range(MAX_THREAD_WORKSPACES + 2)]
    assert sum(any(a is k for k in kept) for a in again) == MAX_THREAD_WORKSPACES
    for r in again:
        ws.give_range(128, r)
    for n in range(MAX_SHAPES):  # more sample counts than kept: the cache starts over
        ws.give_range(130 + 2 * n, ws.take_range(130 + 2 * n))
    assert all(ws.take_range(128) is not r for r in kept)
