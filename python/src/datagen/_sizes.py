"""Memory budgets: bytes as an int, or a string with a unit ("512MB", "2GiB", "300KiB")."""

from __future__ import annotations

import re
from typing import Union

from ._errors import OptionError

__all__ = ["MemoryBudget", "parse_memory_budget"]

#: What ``memory_budget`` takes: bytes (an int), a string with a unit, or ``None`` (the default).
MemoryBudget = Union[int, str, None]

# Decimal units are powers of 1000, binary ones (the "i") powers of 1024; case does not matter.
# The same suffixes as the CLI's --memory-budget (Swift's ByteSize): K, KB, Ki, KiB and so on.
_UNITS = {
    "b": 1,
    "k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4,
    "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
    "ki": 1024, "mi": 1024 ** 2, "gi": 1024 ** 3, "ti": 1024 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*", re.IGNORECASE)


def parse_memory_budget(value: MemoryBudget) -> int | None:
    """``value`` in bytes: an int stays bytes, a string takes a unit (B, K or KB, M or MB, G or GB, T or TB: powers of
    1000; Ki or KiB, Mi or MiB, Gi or GiB, Ti or TiB: powers of 1024; any case, as the CLI; "1.5GiB" is rounded down to whole bytes),
    ``None`` stays ``None`` (the engine's default: half the machine's memory).

    Raises :class:`OptionError` (a ``ValueError``) naming the value when it is negative, has no
    unit or an unknown one, or is of another type.
    """
    given: object = value
    if given is None:
        return None
    if not isinstance(given, bool) and not isinstance(given, (int, str)) and hasattr(given, "__index__"):
        given = given.__index__()  # a numpy integer
    if isinstance(given, bool) or not isinstance(given, (int, str)):
        raise OptionError(f"memory_budget {value!r} is neither bytes (an int) nor a size such as '512MB' or '2GiB'")
    value = given
    if isinstance(value, int):
        if value < 0:
            raise OptionError(f"memory_budget {value!r} is negative")
        return value
    match = _SIZE.fullmatch(value)
    if match is None:
        hint = f"; write '{value.strip()}MiB', '{value.strip()}MB' or an int of bytes" \
            if value.strip().isdigit() else ""
        raise OptionError(f"memory_budget {value!r} is not a size such as '512MB', '2GiB' or '300KiB'{hint}")
    number: str = match.group(1)
    unit: str = match.group(2)
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise OptionError(f"memory_budget {value!r} has an unknown unit {unit!r}: use B, KB, MB, GB, TB "
                          "(powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)")
    if "." in number:
        whole, _, fraction = number.partition(".")
        # Exact decimal arithmetic: "1.1GB" is 1,100,000,000 bytes, not a float's approximation.
        scale: int = 10 ** len(fraction)
        return (int(whole or "0") * scale + int(fraction)) * factor // scale
    return int(number) * factor
