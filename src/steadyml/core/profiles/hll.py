"""A vectorized HyperLogLog distinct-count sketch (precision 12: 4096 registers, ~1.6 %).

The DataSketches HLL of the ``datasketches`` package updates one value per Python call,
which is a per-row loop on millions of rows; this one hashes a whole NumPy array at once
(SplitMix/murmur ``fmix64`` on the IEEE bits of floats, BLAKE2b on the distinct strings of
a chunk). Registers merge by element-wise maximum, so merging is exact, associative and
commutative.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from steadyml.core.profiles.scratch import Scratch

__all__ = ["HyperLogLog"]

_P = 12
_M = 1 << _P
_LOW_BITS = 64 - _P
_ALPHA = 0.7213 / (1.0 + 1.079 / _M)
_U = np.uint64


def _fmix64(bits: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place on ``bits`` (a writable ``uint64`` array)."""
    tmp = np.empty_like(bits) if scratch is None else scratch
    for multiplier in (_U(0xFF51AFD7ED558CCD), _U(0xC4CEB9FE1A85EC53), None):
        np.right_shift(bits, _U(33), out=tmp)
        np.bitwise_xor(bits, tmp, out=bits)
        if multiplier is not None:
            np.multiply(bits, multiplier, out=bits)
    return bits


class HyperLogLog:
    """Distinct-count sketch with ``2**12`` registers.

    Parameters
    ----------
    registers
        Existing registers (``uint8``, length 4096) to start from; a fresh sketch when
        omitted.

    Examples
    --------
    >>> import numpy as np
    >>> hll = HyperLogLog()
    >>> hll.update_floats(np.arange(10_000, dtype=float))
    >>> abs(hll.estimate() - 10_000) < 500
    True
    """

    precision = _P
    relative_error = 1.04 / np.sqrt(_M)

    def __init__(self, registers: np.ndarray | None = None) -> None:
        if registers is None:
            self._registers = np.zeros(_M, dtype=np.uint8)
        else:
            regs = np.asarray(registers, dtype=np.uint8)
            if regs.shape != (_M,):
                raise ValueError(f"a HyperLogLog has {_M} registers, got shape {regs.shape}")
            self._registers = regs.copy()

    @property
    def registers(self) -> np.ndarray:
        """A read-only copy of the registers."""
        regs = self._registers.copy()
        regs.setflags(write=False)
        return regs

    def update_hashes(self, hashes: np.ndarray, scratch: Scratch | None = None) -> None:
        """Add 64-bit hashes (``uint64``; the array is overwritten).

        ``scratch`` supplies reusable work arrays (see :class:`Scratch`); without it,
        temporaries are allocated.
        """
        n = hashes.size
        if n == 0:
            return
        work = scratch if scratch is not None else Scratch()
        index = work.take("hll_index", n, np.uint64)
        np.right_shift(hashes, _U(_LOW_BITS), out=index)
        np.bitwise_and(hashes, _U((1 << _LOW_BITS) - 1), out=hashes)
        converted = work.take("hll_float", n, np.float64)
        np.copyto(converted, hashes, casting="unsafe")
        exponent = converted.view(np.int64)
        np.right_shift(exponent, 52, out=exponent)  # non-negative: the sign bit is 0
        # a low part of bit length b has biased exponent 1022 + b (0 when it is 0), and
        # its rank (leading zeros + 1 within the low bits) is LOW_BITS + 1 - b
        np.subtract(_LOW_BITS + 1023, exponent, out=exponent)
        np.minimum(exponent, _LOW_BITS + 1, out=exponent)
        np.maximum.at(self._registers, index.view(np.int64), exponent.astype(np.uint8))

    def update_floats(self, values: np.ndarray, scratch: Scratch | None = None) -> None:
        """Add float values (``-0.0`` counts as ``0.0``; NaN should be removed first)."""
        work = scratch if scratch is not None else Scratch()
        bits = work.take("hll_bits", values.size, np.uint64)
        np.add(values, 0.0, out=bits.view(np.float64))
        self.update_hashes(_fmix64(bits, work.take("hll_tmp", values.size, np.uint64)), work)

    def update_strings(self, values: Iterable[str]) -> None:
        """Add strings (pass the *distinct* values of a chunk: this loops in Python)."""
        digests = [
            int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "little")
            for v in values
        ]
        if digests:
            self.update_hashes(np.array(digests, dtype=np.uint64))

    def merge(self, other: HyperLogLog) -> None:
        """Fold ``other`` into this sketch (element-wise maximum of registers)."""
        np.maximum(self._registers, other._registers, out=self._registers)

    def copy(self) -> HyperLogLog:
        """An independent copy."""
        return HyperLogLog(self._registers)

    def estimate(self) -> float:
        """The estimated number of distinct values."""
        regs = self._registers.astype(np.float64)
        raw = _ALPHA * _M * _M / float(np.sum(np.exp2(-regs)))
        zeros = int(np.count_nonzero(self._registers == 0))
        if raw <= 2.5 * _M and zeros:
            return float(_M * np.log(_M / zeros))
        return raw
