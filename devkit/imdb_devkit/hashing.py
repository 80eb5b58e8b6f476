"""Well-spread hashes of integers: the generator's facts that must not depend on a random stream.

A title's type or popularity, and whether it is removed or edited on some day, are pure
functions of (seed, index); so every file, and every day, agrees on them without a lookup table.
"""

from __future__ import annotations

import zlib

_MASK64 = (1 << 64) - 1
_INV_2_53 = 1.0 / (1 << 53)


def mix64(x: int) -> int:
    """splitmix64's finalizer: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def salt(seed: int, purpose: str) -> int:
    """A 64-bit salt for one purpose under one seed."""
    return mix64((seed & _MASK64) ^ (zlib.crc32(purpose.encode()) << 32))


def unit(index: int, salt: int) -> float:
    """A uniform number in [0, 1) that depends only on (index, salt)."""
    return (mix64(index ^ salt) >> 11) * _INV_2_53
