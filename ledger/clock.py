"""Time passed in, never read inside rules.

Rules take a ``Clock`` (or a plain ``datetime``) so tests can move time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Tells the current time in the campaign's time zone."""

    tz: tzinfo

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in the configured time zone."""

    def __init__(self, tz: tzinfo | str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FakeClock:
    """A clock that stands still until moved; for tests and the demo."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.tz = start.tzinfo
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def today(self) -> date:
        return self._now.date()
