"""Vector step of FDBAQ reconstruction: a 32-entry table applied to 16 quads at once.

Reconstruction (S1-IF-ASD-PL-0007 section 5.2) maps each sample byte ``sign << 4 |
M-code`` to ``±level[M]``: within a block that is a lookup in a 32-entry float table
(16 levels, 16 negated levels). With AVX-512 one ``vpermi2ps`` instruction makes 16
such lookups (index bits 0-3 pick the level, bit 4 the negated half), so
:func:`lut_interleave16` reads 16 bytes of each channel (IE, IO, QE, QO), looks them up
and writes the 64 floats interleaved as ``IE, QE, IO, QO`` per quad. Without AVX-512
(or when numba compiles for a generic CPU) the same intrinsic expands to scalar code;
results are identical, table lookups being exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import llvmlite.binding as llvm_binding  # type: ignore[import-untyped]
from llvmlite import ir
from numba.core import config, types
from numba.extending import intrinsic

_VPERMI2PS = "llvm.x86.avx512.vpermi2var.ps.512"


def avx512_available() -> bool:
    """Whether numba compiles for a CPU with AVX-512F (host CPU unless NUMBA_CPU_NAME)."""
    if getattr(config, "CPU_NAME", None):
        return "+avx512f" in (getattr(config, "CPU_FEATURES", None) or "")
    return bool(llvm_binding.get_host_cpu_features().get("avx512f", False))


def _interleave_masks() -> tuple[list[int], list[int]]:
    pairs = [x for k in range(16) for x in (k, 16 + k)]  # (IE, QE) and (IO, QO) per quad
    quads = [x for k in range(16) for x in (2 * k, 2 * k + 1, 32 + 2 * k, 33 + 2 * k)]
    return pairs, quads


def _make(vector: bool | None) -> Any:
    @intrinsic
    def _lut_interleave16(
        typingctx: Any, out_address: Any, codes_address: Any, nq: Any, lut_address: Any
    ) -> tuple[Any, Any]:
        sig = types.void(out_address, codes_address, nq, lut_address)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            out_at, codes_at, n, lut_at = args
            use_vector = avx512_available() if vector is None else vector
            i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
            channels = []
            if use_vector:
                v16f = ir.VectorType(f32, 16)
                v16i32 = ir.VectorType(i32, 16)
                lut = builder.inttoptr(lut_at, v16f.as_pointer())
                low = builder.load(lut, align=4)
                high = builder.load(builder.gep(lut, [ir.Constant(i32, 1)]), align=4)
                permute = builder.module.declare_intrinsic(
                    _VPERMI2PS, fnty=ir.FunctionType(v16f, [v16f, v16i32, v16f])
                )
                for c in range(4):  # IE, IO, QE, QO
                    at = builder.add(codes_at, builder.mul(n, ir.Constant(i64, c)))
                    codes = builder.load(
                        builder.inttoptr(at, ir.VectorType(ir.IntType(8), 16).as_pointer()),
                        align=1,
                    )
                    index = builder.zext(codes, v16i32)
                    channels.append(builder.call(permute, [low, index, high]))
            else:
                lut = builder.inttoptr(lut_at, f32.as_pointer())
                for c in range(4):
                    at = builder.add(codes_at, builder.mul(n, ir.Constant(i64, c)))
                    base = builder.inttoptr(at, ir.IntType(8).as_pointer())
                    vec = ir.Constant(ir.VectorType(f32, 16), None)
                    for k in range(16):
                        code = builder.load(builder.gep(base, [ir.Constant(i64, k)]))
                        entry = builder.gep(lut, [builder.zext(code, i64)])
                        vec = builder.insert_element(
                            vec, builder.load(entry, align=4), ir.Constant(i32, k)
                        )
                    channels.append(vec)
            ie, io, qe, qo = channels
            pairs, quads = _interleave_masks()
            mask32 = ir.Constant(ir.VectorType(i32, 32), pairs)
            even = builder.shuffle_vector(ie, qe, mask32)
            odd = builder.shuffle_vector(io, qo, mask32)
            out = builder.shuffle_vector(even, odd, ir.Constant(ir.VectorType(i32, 64), quads))
            target = builder.inttoptr(out_at, ir.VectorType(f32, 64).as_pointer())
            builder.store(out, target, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return _lut_interleave16


_Interleave = Callable[[int, int, int, int], None]

lut_interleave16 = cast(_Interleave, _make(None))
"""``lut_interleave16(out, codes, nq, lut)`` (addresses; numba code only): for quads
``k = 0..15``, ``out[4k + (0, 1, 2, 3)] = lut[codes[(0, 2, 1, 3) * nq + k]]`` (float32
at ``out``, 32-float table at ``lut``, bytes < 32 at ``codes``). AVX-512 when numba's
target CPU has it."""

lut_interleave16_generic = cast(_Interleave, _make(False))
"""The same without vector permutes (for tests of the fallback)."""
