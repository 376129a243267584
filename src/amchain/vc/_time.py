"""XML Schema ``dateTimeStamp`` (as VC Data Model 2.0 uses it) to and from Unix milliseconds.

Pure arithmetic (proleptic Gregorian calendar, days-from-civil), so verification code that
runs on every peer never touches the clock or the ``datetime`` module.
"""

from __future__ import annotations

import re

__all__ = ["RFC3339_MAX_OFFSET_MINUTES", "DateTimeError", "format_datetime", "parse_datetime_ms"]

RFC3339_MAX_OFFSET_MINUTES = 23 * 60 + 59

_DATETIME = re.compile(
    r"(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_MS_PER_DAY = 86_400_000


class DateTimeError(ValueError):
    """A string that is not an XML Schema dateTimeStamp (a date-time with a time zone)."""


def _days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719_468
    era = (days if days >= 0 else days - 146_096) // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year + (month <= 2), month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_datetime_ms(text: str, *, max_offset_minutes: int = 14 * 60) -> int:
    """Return the Unix time in milliseconds of an XML Schema dateTimeStamp.

    ``2023-01-01T00:00:00Z``, ``2023-01-01T01:00:00.250+01:00``; a time zone is required,
    fractions beyond milliseconds are truncated. XML Schema allows offsets up to 14 hours;
    ``max_offset_minutes=RFC3339_MAX_OFFSET_MINUTES`` accepts every RFC 3339 offset (input
    to be normalised to UTC).

    Raises:
        DateTimeError: not such a string, or an impossible date or time.
    """
    match = _DATETIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise DateTimeError(
            f"{text!r} is not a date-time with a time zone such as 2024-01-31T12:00:00Z"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, zone = match.group(7), match.group(8)
    if not (
        1 <= month <= 12
        and 1 <= day <= _days_in_month(year, month)
        and hour <= 23
        and minute <= 59
        and second <= 59
    ):
        raise DateTimeError(f"{text!r} is not a valid date and time")
    ms = int((fraction or "0")[:3].ljust(3, "0"))
    offset_min = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zm > 59 or zh * 60 + zm > max_offset_minutes:
            raise DateTimeError(f"{text!r} has an invalid time zone offset")
        offset_min = sign * (zh * 60 + zm)
    seconds = hour * 3600 + minute * 60 + second - offset_min * 60
    return _days_from_civil(year, month, day) * _MS_PER_DAY + seconds * 1000 + ms


def format_datetime(ms: int) -> str:
    """Return ``YYYY-MM-DDThh:mm:ssZ`` (with ``.mmm`` when ``ms`` has milliseconds)."""
    days, rest = divmod(ms, _MS_PER_DAY)
    year, month, day = _civil_from_days(days)
    seconds, millis = divmod(rest, 1000)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    base = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"
