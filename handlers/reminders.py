"""``/reminders``: what is planned next, the hour a person wants reminders at, and
(for a principal or leader) the school's recurring inspection (长效机制).

Taps: ``ReminderHour(hour)`` chooses the hour; ``Recurring(school, week|month|term|stop)``
sets or stops the recurring inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from handlers.base import Button, Ctx, reading
from handlers.buttons import Tap, button
from ledger.errors import NotAllowed, Stale
from ledger.roles import Person, can_manage_school, managed_schools, require
from ledger.supervision import is_supervisor
from scheduler.jobs import Reminders
from scheduler.planner import Planned, period_of
from storage import people, schedule

EVERY = ("week", "month", "term")
LINES_MAX = 12  # planned messages listed per section
HOURS_PER_ROW = 6


def next_period_start(every: str, today: date) -> date:
    """The first day of the period after the one containing ``today``."""
    start, _ = period_of(every, today)
    day = today
    while period_of(every, day)[0] == start:
        day += timedelta(days=1)
    return day


def _managed_with_names(person: Person) -> list[tuple[int, str]]:
    """The schools where this person is principal or leader, with their names."""
    names = {m.school_id: m.school_name or "" for m in person.memberships if m.school_id}
    return [(school_id, names[school_id]) for school_id in managed_schools(person)]


def _reminders(ctx: Ctx) -> Reminders:
    planner: Reminders = ctx.context.bot_data["reminders"]
    return planner


def _lines(ctx: Ctx, planned: list[Planned], names: dict[int, str]) -> str:
    lines = []
    for p in planned[:LINES_MAX]:
        # ``values`` are the message's blanks, as the planner filled them in.
        hazard_id = p.values.get("id")
        subject = f"/hazard_{hazard_id}" if hazard_id is not None else p.values.get("school", "")
        lines.append(
            ctx.t(
                "reminders.screen.line",
                when=ctx.moment(p.not_before),
                name=names.get(p.person_id, ""),
                kind=ctx.t(f"reminders.kind.{p.kind.removeprefix('remind.')}"),
                subject=subject,
            )
        )
    if len(planned) > LINES_MAX:
        lines.append(ctx.t("reminders.more", count=len(planned) - LINES_MAX))
    return "\n".join(lines)


@reading
async def reminders_command(ctx: Ctx) -> None:
    """``/reminders``: the person's next reminders, the school's for managers, the hour."""
    person = ctx.member()
    planner = _reminders(ctx)
    rules = planner.rules
    names = await people.names(ctx.db)
    mine = []
    if person.school_ids or person.is_taskforce:
        mine = await planner.preview(person.id, person.school_ids or None)
    elif is_supervisor(person):  # only their drawn visits
        mine = await planner.preview(person.id, None, visits_only=True)
    if mine:
        await ctx.say(ctx.t("reminders.screen.mine") + "\n" + _lines(ctx, mine, names))
    else:
        await ctx.reply("reminders.screen.none")
    for school_id, school_name in _managed_with_names(person):
        planned = await planner.preview(None, [school_id])
        if planned:
            await ctx.say(
                ctx.t("reminders.screen.school", school=school_name)
                + "\n"
                + _lines(ctx, planned, names)
            )
        await _recurring_screen(ctx, school_id)
    hours = rules.allowed_hours()
    buttons: list[list[Button]] = [
        [ReminderHour(h).labelled(f"{h}:00") for h in hours[i : i + HOURS_PER_ROW]]
        for i in range(0, len(hours), HOURS_PER_ROW)
    ]
    await ctx.reply(
        "reminders.screen.hour",
        buttons,
        hour=rules.hour_for(await schedule.reminder_hour(ctx.db, person.id)),
        quiet_start=rules.quiet_start,
        quiet_end=rules.quiet_end,
    )


async def _recurring_screen(ctx: Ctx, school_id: int) -> None:
    current = await schedule.recurring(ctx.db, school_id)
    buttons: list[list[Button]] = [
        [Recurring(school_id, e).labelled(ctx.t(f"reminders.every.{e}")) for e in EVERY]
    ]
    if current is None:
        await ctx.reply("reminders.screen.recurring_none", buttons)
        return
    buttons[0] = [b for e, b in zip(EVERY, buttons[0], strict=True) if e != current.every]
    buttons.append([Recurring(school_id, "stop").labelled(ctx.t("reminders.screen.stop"))])
    await ctx.reply(
        "reminders.screen.recurring",
        buttons,
        every=ctx.t(f"reminders.every.{current.every}"),
        since=ctx.day(current.set_at.date(), weekday=False),
    )


@button("reminder_hour", legacy="rh")
@dataclass(frozen=True)
class ReminderHour(Tap):
    """Reminders at this hour from now on."""

    hour: int

    async def tap(self, ctx: Ctx) -> None:
        await choose_hour(ctx, self.hour)


async def choose_hour(ctx: Ctx, hour: int) -> None:
    person = ctx.member()
    rules = _reminders(ctx).rules
    if hour not in rules.allowed_hours():
        await ctx.toast("reminders.screen.hour_bad")
        return
    async with ctx.write() as tx:
        await schedule.set_reminder_hour(tx, person.id, hour)
    await ctx.settle(f"{hour}:00")
    await ctx.reply("reminders.screen.hour_set", hour=hour)


@button("recurring", legacy="rr")
@dataclass(frozen=True)
class Recurring(Tap):
    """Set or stop the school's recurring inspection (``every``: week, month, term, stop)."""

    school_id: int
    every: str

    async def tap(self, ctx: Ctx) -> None:
        await set_recurring(ctx, self.school_id, self.every)


async def set_recurring(ctx: Ctx, school_id: int, every: str) -> None:
    person = ctx.member()
    require(can_manage_school(person, school_id))
    if every not in (*EVERY, "stop"):
        raise NotAllowed()
    school_name = dict(_managed_with_names(person))[school_id]
    async with ctx.write() as tx:
        changed = await schedule.set_recurring(
            tx, school_id, None if every == "stop" else every, person.id
        )
    if not changed:
        raise Stale()
    if every == "stop":
        await ctx.settle(ctx.t("reminders.screen.stop"))
        await ctx.reply("reminders.screen.recurring_stopped", school=school_name)
        return
    label = ctx.t(f"reminders.every.{every}")
    await ctx.settle(label)
    await ctx.reply(
        "reminders.screen.recurring_set",
        school=school_name,
        every=label,
        start=next_period_start(every, ctx.today()).isoformat(),
    )
