"""The reminder rules: every number and hour of the scheduler, from the config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache


@dataclass(frozen=True)
class ReminderRules:
    """When reminders go out; the defaults are the campaign's (docs/product.md, Reminders)."""

    before_deadline_days: tuple[int, ...] = (3, 1, 0)
    overdue_every_days: int = 1
    escalate_leader_days: int = 1
    escalate_principal_days: int = 3
    escalate_taskforce_days: int = 7
    verify_after_days: int = 2
    phase_days_before: tuple[int, ...] = (7, 1)
    digest_weekday: int = 1  # ISO: Monday 1 .. Sunday 7
    digest_hour: int = 9
    send_hour: int = 9
    quiet_start: int = 21  # nothing is sent from this hour ...
    quiet_end: int = 8  # ... until this one
    plan_every_minutes: int = 5

    def quiet(self, at: datetime) -> bool:
        """True when ``at`` falls in the quiet hours."""
        hour = at.hour
        if self.quiet_start > self.quiet_end:  # across midnight, e.g. 21 -> 8
            return hour >= self.quiet_start or hour < self.quiet_end
        return self.quiet_start <= hour < self.quiet_end

    def allowed_hours(self) -> list[int]:
        """The hours a person may choose for their reminders."""
        return list(_allowed(self.quiet_start, self.quiet_end))

    def hour_for(self, preferred: int | None) -> int:
        """A person's hour: their choice when still allowed, else the send hour."""
        if preferred is not None and preferred in self.allowed_hours():
            return preferred
        return self.send_hour

    def morning_after(self, at: datetime) -> datetime:
        """The end of the quiet hours that contain ``at`` (``at`` itself when not quiet)."""
        if not self.quiet(at):
            return at
        day = at.date() if at.hour < self.quiet_end else at.date() + timedelta(days=1)
        return datetime.combine(day, time(self.quiet_end), at.tzinfo)


@cache
def _allowed(quiet_start: int, quiet_end: int) -> tuple[int, ...]:
    rules = ReminderRules(quiet_start=quiet_start, quiet_end=quiet_end)
    return tuple(h for h in range(24) if not rules.quiet(datetime(2000, 1, 1, h)))
