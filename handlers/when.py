"""Times and dates as people read them: in the campaign's time zone, in their language.

Stored moments are ISO strings (``2026-11-29T21:59:00+08:00``); nobody should
read them like that. One helper for every message: ``11月29日 21:59`` and
``29 Nov 21:59``, the year only when it is not this year; a day with its
weekday (``12月20日（周日）``, ``Sun 20 Dec``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local(value: str | datetime, tz: tzinfo) -> datetime:
    """A stored moment in the campaign's time zone (a naive one is taken as already local)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _day_part(day: date, lang: str, today: date) -> str:
    if lang == "en":
        text = f"{day.day} {MONTHS_EN[day.month - 1]}"
        return text if day.year == today.year else f"{text} {day.year}"
    text = f"{day.month}月{day.day}日"
    return text if day.year == today.year else f"{day.year}年{text}"


def moment_text(value: str | datetime, lang: str, tz: tzinfo, today: date) -> str:
    """A moment: ``11月29日 21:59`` / ``29 Nov 21:59`` (with the year when not this year)."""
    at = local(value, tz)
    return f"{_day_part(at.date(), lang, today)} {at:%H:%M}"


def time_text(value: str | datetime, tz: tzinfo) -> str:
    """Only the hour and minute (for a moment later the same day)."""
    return f"{local(value, tz):%H:%M}"


def day_text(value: str | date, lang: str, today: date, weekday: bool = True) -> str:
    """A day with its weekday: ``12月20日（周日）`` / ``Sun 20 Dec`` (or without it)."""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if not weekday:
        return _day_part(day, lang, today)
    if lang == "en":
        return f"{WEEKDAYS_EN[day.weekday()]} {_day_part(day, lang, today)}"
    return f"{_day_part(day, lang, today)}（周{WEEKDAYS_ZH[day.weekday()]}）"
