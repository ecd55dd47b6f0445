"""The stretch of time one run of the monitor reads, and the hourly partitions that hold it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from modelops.errors import InputError

_DURATION = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
# A week of hourly partitions is 168 folders per release: beyond that a run is a backfill, not a window.
LONGEST = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    """[start, end): rows received at or after `start` and before `end`, in UTC."""

    start: datetime
    end: datetime

    def hours(self) -> list[datetime]:
        """The start of every hour the window touches: the partitions it reads."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        hours = []
        while hour < self.end:
            hours.append(hour)
            hour += timedelta(hours=1)
        return hours

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"


def parse_duration(text: str, *, option: str = "--window") -> timedelta:
    """'90m', '1h', '2d': a whole number of minutes, hours or days, at most a week."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InputError(
            f"{option} {text!r}: give a positive whole number of minutes, hours or days (45m, 1h, 2d)"
        )
    length = int(match.group(1)) * _UNITS[match.group(2)]
    if length > LONGEST:
        raise InputError(f"{option} {text!r}: at most 7d (a longer stretch is a backfill, run it in windows)")
    return length


def window_ending(end: datetime, length: timedelta) -> Window:
    if end.tzinfo is None:
        raise InputError("--end: give a time with its zone (2026-12-07T10:00:00+00:00)")
    end = end.astimezone(UTC)
    return Window(end - length, end)
