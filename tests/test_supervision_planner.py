"""Supervision's reminders, pure: supervisors before the due date, the task force after."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.jobs import render
from scheduler.planner import Campaign, DrawnVisit, Ledger, Recipient, School, plan
from scheduler.rules import ReminderRules

TZ = ZoneInfo("Asia/Shanghai")
RULES = ReminderRules()
DUE = date(2027, 6, 15)
SUP_A, SUP_B, TASKFORCE, PRINCIPAL = 1, 2, 3, 4


def ledger(visits: tuple[DrawnVisit, ...], blocked: tuple[int, ...] = ()) -> Ledger:
    names = {SUP_A: "督导甲", SUP_B: "督导乙", TASKFORCE: "专班李", PRINCIPAL: "张校长"}
    return Ledger(
        campaign=Campaign(1, "回头看", supervision_due=DUE),
        people={i: Recipient(i, n, i in blocked) for i, n in names.items()},
        schools={7: School(7, "一小", principals=(PRINCIPAL,))},
        taskforce=(TASKFORCE,),
        visits=visits,
    )


VISITS = (DrawnVisit(1, "一小", (SUP_A, SUP_B)), DrawnVisit(2, "二中", (SUP_B,)))


def supervision(day: date, visits: tuple[DrawnVisit, ...] = VISITS, **kw: object) -> list:
    now = datetime(day.year, day.month, day.day, 10, tzinfo=TZ)
    found = plan(ledger(visits, **kw), now, RULES)
    return [p for p in found if "supervision" in p.key]


@pytest.mark.parametrize("days_before", sorted(RULES.phase_days_before))
def test_supervisors_are_reminded_of_their_drawn_visits_before_the_due_date(
    days_before: int,
) -> None:
    found = supervision(DUE - timedelta(days=days_before))
    assert sorted((p.person_id, p.values["school"]) for p in found) == [
        (SUP_A, "一小"), (SUP_B, "一小"), (SUP_B, "二中"),
    ]  # fmt: skip
    assert all(p.school_id is None and p.kind == "remind.supervision" for p in found)
    assert PRINCIPAL not in {p.person_id for p in found}
    text = render(found[0], "zh")
    assert "一小" in text and str(days_before) in text


def test_nothing_is_planned_between_stages_or_without_visits_or_due_date() -> None:
    early = DUE - timedelta(days=max(RULES.phase_days_before) + 5)
    assert supervision(early) == []
    assert supervision(DUE - timedelta(days=1), visits=()) == []
    bare = Ledger(campaign=Campaign(1, "x"), people={}, schools={}, visits=VISITS)
    assert [p for p in plan(bare, datetime(2027, 6, 14, 10, tzinfo=TZ), RULES)] == []


def test_the_task_force_gets_the_drawn_schools_not_visited_after_the_due_date() -> None:
    found = supervision(DUE + timedelta(days=1))
    assert [(p.person_id, p.kind) for p in found] == [(TASKFORCE, "remind.missed")]
    text = render(found[0], "en")
    assert "2 drawn school(s)" in text
    assert "· 一小" in text and "· 二中" in text
    again = supervision(DUE + timedelta(days=3))
    assert [p.key for p in again] == [p.key for p in found]  # the same message, kept once


def test_a_blocked_supervisor_is_skipped() -> None:
    found = supervision(DUE, blocked=(SUP_A,))
    assert {p.person_id for p in found} == {SUP_B}


def test_the_same_stage_plans_the_same_keys() -> None:
    first = {p.key for p in supervision(DUE - timedelta(days=1))}
    assert first == {p.key for p in supervision(DUE - timedelta(days=1))}
