"""Big-endian bit reading for the numba user-data kernels (S1-IF-ASD-PL-0007 section 3.3).

Space-packet user data is a big-endian bit stream. The kernels keep a 64-bit *bit buffer*
whose most significant bits are the next bits of the stream, and refill it without
branches (the "variant 4" refill of F. Giesen, *Reading bits in far too many ways*, 2018):
one unaligned 8-byte load at the next unread byte, shifted under the bits still held, so
that after every refill at least 56 bits are available::

    bitbuf |= load_be64(next_byte) >> bitcount
    next_byte += (63 - bitcount) >> 3
    bitcount |= 56

Consuming ``n`` bits is ``bitbuf <<= n; bitcount -= n``. Bytes at or after the end of a
packet's user data read as zero (as the previous decoder did), so a packet whose codes
run past its end decodes deterministically and is reported as too short.

The helpers take the buffer's *address* (``buf.ctypes.data``) rather than the array:
LLVM then inlines them into the hot loops without reference counting, and the loads
become single ``movbe`` instructions. Callers guarantee ``end <= buf.size``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba as nb
import numpy as np
import numpy.typing as npt
from numba.core import types
from numba.extending import intrinsic

U64 = np.uint64
"""Shorthand: numba keeps ``uint64`` arithmetic in ``uint64`` only between ``uint64`` values."""


@intrinsic
def _load_be64(typingctx: Any, address: Any) -> tuple[Any, Any]:
    """Unaligned big-endian 8-byte load from an integer address (numba intrinsic)."""
    sig = types.uint64(address)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i64 = context.get_value_type(types.uint64)
        pointer = builder.inttoptr(args[0], i64.as_pointer())
        value = builder.load(pointer, align=1)
        bswap = builder.module.declare_intrinsic("llvm.bswap", [i64])
        return builder.call(bswap, [value])

    return sig, codegen


@intrinsic
def _load_u8(typingctx: Any, address: Any) -> tuple[Any, Any]:
    """One byte from an integer address, zero-extended to uint64 (numba intrinsic)."""
    sig = types.uint64(address)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        pointer = builder.inttoptr(args[0], context.get_value_type(types.uint8).as_pointer())
        return builder.zext(builder.load(pointer), context.get_value_type(types.uint64))

    return sig, codegen


@intrinsic
def _store_u32(typingctx: Any, array: Any, index: Any, value: Any) -> tuple[Any, Any]:
    """Store the low 32 bits of ``value`` little-endian at byte ``index`` of a uint8 array.

    Unaligned and unchecked: the caller keeps ``index + 4 <= array.size``.
    """
    sig = types.void(array, index, value)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type, _, value_type = signature.args
        data = context.make_array(array_type)(context, builder, args[0]).data
        u32 = context.get_value_type(types.uint32)
        pointer = builder.bitcast(builder.gep(data, [args[1]]), u32.as_pointer())
        builder.store(context.cast(builder, args[2], value_type, types.uint32), pointer, align=1)
        return context.get_dummy_value()

    return sig, codegen


load_be64 = cast(Callable[[int], np.uint64], _load_be64)
"""``load_be64(address)``: unaligned big-endian uint64 at an address (in numba code only)."""

load_u8 = cast(Callable[[int], np.uint64], _load_u8)
"""``load_u8(address)``: one byte at an address, as uint64 (in numba code only)."""

store_u32 = cast(Callable[[npt.NDArray[np.uint8], np.uint64, np.uint64], None], _store_u32)
"""``store_u32(array, index, value)``: unaligned, unchecked 4-byte store (numba code only)."""


@nb.njit(cache=True)
def peek_word(base: int, pos: int, end: int) -> np.uint64:
    """The 8 bytes at ``base + pos`` as a big-endian uint64; bytes at or after ``end`` are 0."""
    if pos + 8 <= end:
        return load_be64(base + pos)
    word = U64(0)
    for j in range(8):
        word <<= U64(8)
        if pos + j < end:
            word |= load_u8(base + pos + j)
    return word


@nb.njit(cache=True)
def refill(
    base: int, end: int, pos: int, bitbuf: np.uint64, bitcount: int
) -> tuple[int, np.uint64, int]:
    """Top up the bit buffer to 56-63 bits; returns ``(next byte, bitbuf, bitcount)``."""
    bitbuf |= peek_word(base, pos, end) >> U64(bitcount)
    return pos + ((63 - bitcount) >> 3), bitbuf, bitcount | 56


@nb.njit(cache=True)
def align16(start: int, pos: int, bitcount: int) -> int:
    """Bits consumed since ``start``, rounded up to the next 16-bit word (end of a channel)."""
    consumed = (pos - start) * 8 - bitcount
    return consumed + (-consumed) % 16
