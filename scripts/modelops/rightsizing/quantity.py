"""Kubernetes resource quantities: read as the API server reads them, written as people write them.

CPU in cores ("250m", "1", "0.5"), memory in bytes ("512Mi", "1Gi", "536870912", "1e9", "500M").
Written values are rounded up (a request rounded down would ask for less than was recommended):
CPU to whole millicores, memory to whole MiB.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from modelops.errors import InputError

MIB = 1024**2
_SUFFIXES: dict[str, Decimal | int] = {
    "": 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_QUANTITY = re.compile(r"([+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?")


def parse(value: object, *, where: str) -> float:
    """A quantity's value in base units (cores or bytes); InputError naming `where` otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{where}: {value!r} is not a resource quantity")
    match = _QUANTITY.fullmatch(str(value).strip())
    if match is None:
        raise InputError(f"{where}: {value!r} is not a resource quantity")
    try:
        number = Decimal(match.group(1)) * Decimal(_SUFFIXES[match.group(2) or ""])
    except InvalidOperation:
        raise InputError(f"{where}: {value!r} is not a resource quantity") from None
    return float(number)


def millicores(cores: float) -> int:
    """Whole millicores, rounded up (a hair of float error is not a millicore)."""
    return max(1, math.ceil(round(cores * 1000, 6)))


def mebibytes(size: float) -> int:
    """Whole MiB, rounded up."""
    return max(1, math.ceil(round(size / MIB, 6)))


def cpu_text(cores: float) -> str:
    """'250m', or '2' when a whole number of cores."""
    milli = millicores(cores)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_text(size: float) -> str:
    """'640Mi', or '2Gi' when a whole number of GiB."""
    mib = mebibytes(size)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"
