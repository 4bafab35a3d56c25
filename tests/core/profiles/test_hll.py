"""The vectorized HyperLogLog."""

from __future__ import annotations

import numpy as np
import pytest

from steadyml.core.profiles.hll import HyperLogLog

# 1.04 / sqrt(4096) = 1.6 % standard error; 4 standard errors bound a single estimate
TOLERANCE = 4 * HyperLogLog.relative_error


@pytest.mark.parametrize("n", [10, 1_000, 50_000, 1_000_000])
def test_estimates_distinct_floats(n: int) -> None:
    hll = HyperLogLog()
    values = np.random.default_rng(n).normal(size=n)
    hll.update_floats(np.concatenate([values, values[: n // 2]]))  # duplicates do not count
    assert abs(hll.estimate() - n) <= max(TOLERANCE * n, 1.0)


def test_integer_valued_floats_hash_well() -> None:
    hll = HyperLogLog()
    hll.update_floats(np.arange(200_000, dtype=np.float64))
    assert abs(hll.estimate() - 200_000) <= TOLERANCE * 200_000


def test_strings_and_signed_zero() -> None:
    strings = HyperLogLog()
    strings.update_strings(f"user-{i}" for i in range(30_000))
    assert abs(strings.estimate() - 30_000) <= TOLERANCE * 30_000
    zeros = HyperLogLog()
    zeros.update_floats(np.array([0.0, -0.0, 0.0]))
    assert round(zeros.estimate()) == 1


def test_merge_equals_the_sketch_of_the_union() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=20_000), rng.normal(size=30_000)
    left, right, union = HyperLogLog(), HyperLogLog(), HyperLogLog()
    left.update_floats(a)
    right.update_floats(b)
    union.update_floats(np.concatenate([a, b]))
    left.merge(right)
    np.testing.assert_array_equal(left.registers, union.registers)


def test_registers_are_validated_and_copied() -> None:
    with pytest.raises(ValueError, match="4096 registers"):
        HyperLogLog(np.zeros(10, dtype=np.uint8))
    hll = HyperLogLog()
    regs = hll.registers
    assert not regs.flags.writeable
    copy = hll.copy()
    copy.update_floats(np.array([1.0]))
    assert hll.estimate() == 0.0
    assert copy.estimate() > 0
