"""The planner, pure: a campaign day by day with a fake clock, quiet hours, downtime, blocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.planner import (
    Campaign,
    Hazard,
    Ledger,
    Recipient,
    Round,
    School,
    WaitingFix,
    latest_stage,
    period_of,
    plan,
    round_to_open,
)
from scheduler.rules import ReminderRules

TZ = ZoneInfo("Asia/Shanghai")
RULES = ReminderRules()
RESP1, RESP2, LEADER, PRINCIPAL, TASKFORCE = 1, 2, 3, 4, 5
START = date(2026, 12, 1)  # a Tuesday


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def people(blocked: tuple[int, ...] = (), hours: dict[int, int] | None = None) -> dict:
    names = {
        RESP1: "王老师",
        RESP2: "赵老师",
        LEADER: "刘主任",
        PRINCIPAL: "张校长",
        TASKFORCE: "市专班李",
    }
    return {i: Recipient(i, name, i in blocked, (hours or {}).get(i)) for i, name in names.items()}


def ledger_on(
    day: date, blocked: tuple[int, ...] = (), hours: dict[int, int] | None = None
) -> Ledger:
    """The campaign's ledger as it stands on ``day``.

    Hazard 10 (due 12-05) and 12 (due 12-11, nobody responsible) stay open;
    hazard 11 (due 12-03) gets a fix reported on 12-09 that is verified on 12-12.
    """
    hazards = [
        Hazard(10, 1, date(2026, 12, 5), RESP1, "王老师", "线路老化", "教学楼A"),
        Hazard(12, 1, date(2026, 12, 11), None, "", "灭火器过期", "食堂"),
    ]
    waiting = []
    if day < date(2026, 12, 9):
        hazards.append(Hazard(11, 1, date(2026, 12, 3), RESP2, "赵老师", "堵塞通道", "教学楼A"))
    elif day < date(2026, 12, 12):
        waiting.append(WaitingFix(11, 1, date(2026, 12, 9)))
    overdue = sum(h.deadline < day for h in hazards)
    school = School(
        1,
        "实验小学",
        leaders=(LEADER,),
        principals=(PRINCIPAL,),
        buildings=2,
        buildings_left=1,
        open=len(hazards),
        overdue=overdue,
        waiting=len(waiting),
        closed=int(day >= date(2026, 12, 12)),
    )
    return Ledger(
        campaign=Campaign(7, "回头看", date(2026, 12, 5), date(2026, 12, 20)),
        people=people(blocked, hours),
        schools={1: school},
        taskforce=(TASKFORCE,),
        hazards=hazards,
        waiting=waiting,
    )


def short(planned) -> set[tuple[str, str, int]]:
    """(kind of key, subject, person) of each planned message."""
    return {(p.key.split(":")[0], p.key.split(":")[1], p.person_id) for p in planned}


# What each day brings, planned at 10:00 and "sent" once per key.
CAMPAIGN = {
    date(2026, 12, 1): {
        ("due", "h11", RESP2),
        ("phase.self_inspection", "c7", PRINCIPAL),
        ("digest", "s1", PRINCIPAL),  # the week's digest, caught up on Tuesday
        ("digest", "city", TASKFORCE),
    },
    date(2026, 12, 2): {("due", "h10", RESP1), ("due", "h11", RESP2)},
    date(2026, 12, 3): {("due", "h11", RESP2)},  # the day
    date(2026, 12, 4): {
        ("due", "h10", RESP1),
        ("overdue", "h11", RESP2),
        ("escalate1", "h11", LEADER),
        ("phase.self_inspection", "c7", PRINCIPAL),
    },
    date(2026, 12, 5): {("due", "h10", RESP1), ("overdue", "h11", RESP2)},
    date(2026, 12, 6): {
        ("overdue", "h10", RESP1),
        ("escalate1", "h10", LEADER),
        ("overdue", "h11", RESP2),
        ("escalate2", "h11", PRINCIPAL),
        ("missed.self_inspection", "c7", TASKFORCE),
    },
    date(2026, 12, 7): {
        ("overdue", "h10", RESP1),
        ("overdue", "h11", RESP2),
        ("digest", "s1", PRINCIPAL),
        ("digest", "city", TASKFORCE),
    },
    date(2026, 12, 8): {
        ("overdue", "h10", RESP1),
        ("escalate2", "h10", PRINCIPAL),
        ("overdue", "h11", RESP2),
        ("due", "h12", LEADER),  # nobody responsible: the leader is told
    },
    date(2026, 12, 9): {("overdue", "h10", RESP1)},  # 11 fixed, waiting
    date(2026, 12, 10): {("overdue", "h10", RESP1), ("due", "h12", LEADER)},
    date(2026, 12, 11): {
        ("overdue", "h10", RESP1),
        ("due", "h12", LEADER),
        ("verify", "s1", LEADER),  # waiting two days
    },
    date(2026, 12, 12): {
        ("overdue", "h10", RESP1),
        ("overdue", "h12", LEADER),
        ("escalate1", "h12", LEADER),
        ("escalate3", "2026-12-12", TASKFORCE),  # the city's list of the day: h10
    },
    date(2026, 12, 13): {
        ("overdue", "h10", RESP1),
        ("overdue", "h12", LEADER),
        ("phase.rectification", "c7", PRINCIPAL),  # a week before its phase deadline
    },
    date(2026, 12, 14): {
        ("overdue", "h10", RESP1),
        ("overdue", "h12", LEADER),
        ("escalate2", "h12", PRINCIPAL),
        ("digest", "s1", PRINCIPAL),
        ("digest", "city", TASKFORCE),
    },
}


def run_days(days: list[date], hour: int = 10, **options) -> dict[date, set]:
    """Plan each day at ``hour``, keeping keys as the outbox does: new ones only."""
    stored: set[str] = set()
    sent = {}
    for day in days:
        fresh = [
            p for p in plan(ledger_on(day, **options), at(day, hour), RULES) if p.key not in stored
        ]
        stored |= {p.key for p in fresh}
        sent[day] = short(fresh)
    return sent


def test_a_whole_campaign_day_by_day():
    sent = run_days(sorted(CAMPAIGN))
    for day, expected in CAMPAIGN.items():
        assert sent[day] == expected, day


def test_planning_many_times_a_day_plans_each_key_once():
    """Every five minutes from 08:00 to 21:00: the same messages as once a day."""
    stored: dict[str, int] = {}
    per_day: dict[date, set] = {}
    for day in sorted(CAMPAIGN):
        moment = at(day, 8)
        while moment.hour < 21:
            for p in plan(ledger_on(day), moment, RULES):
                if p.key not in stored:
                    stored[p.key] = 1
                    per_day.setdefault(day, set()).update(short([p]))
            moment += timedelta(minutes=5)
    assert per_day == CAMPAIGN


def test_planning_twice_at_the_same_time_plans_the_same():
    first = plan(ledger_on(date(2026, 12, 6)), at(date(2026, 12, 6)), RULES)
    second = plan(ledger_on(date(2026, 12, 6)), at(date(2026, 12, 6)), RULES)
    assert first == second
    assert len({p.key for p in first}) == len(first)


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (7, 59, False),  # quiet hours
        (8, 0, False),  # allowed, but before the send hour
        (8, 59, False),
        (9, 0, True),
        (20, 59, True),
        (21, 0, False),  # quiet again
        (23, 30, False),
        (0, 5, False),
    ],
)
def test_nothing_in_quiet_hours_nor_before_the_send_hour(hour, minute, expected):
    day = date(2026, 12, 4)
    planned = plan(ledger_on(day), at(day, hour, minute), RULES)
    if hour == 8:  # the week's digest (due Monday 09:00) is caught up from the morning
        assert {p.kind for p in planned} == {"remind.digest"}
        planned = [p for p in planned if p.kind != "remind.digest"]
    assert bool(planned) is expected


def test_a_person_s_hour_moves_their_messages_only():
    day = date(2026, 12, 4)
    early = plan(ledger_on(day, hours={RESP2: 8}), at(day, 8), RULES)
    early = [p for p in early if p.kind != "remind.digest"]
    assert short(early) == {("overdue", "h11", RESP2)}
    assert early[0].not_before == at(day, 8)
    late = plan(ledger_on(day, hours={RESP2: 15}), at(day, 14), RULES)
    assert ("overdue", "h11", RESP2) not in short(late)
    assert ("escalate1", "h11", LEADER) in short(late)


def test_an_hour_in_the_quiet_hours_falls_back_to_the_send_hour():
    day = date(2026, 12, 4)
    planned = plan(ledger_on(day, hours={RESP2: 23}), at(day, 9), RULES)
    assert ("overdue", "h11", RESP2) in short(planned)


def test_after_downtime_one_nudge_per_subject_the_latest():
    """Down from 12-04 to 12-07: on 12-08 one overdue reminder each, not four."""
    days = [date(2026, 12, d) for d in (1, 2, 3, 8)]
    sent = run_days(days)
    assert sent[date(2026, 12, 8)] == {
        ("overdue", "h10", RESP1),
        ("overdue", "h11", RESP2),
        # the latest level of escalation reached while down (the principal), not the leader's
        ("escalate2", "h10", PRINCIPAL),
        ("escalate2", "h11", PRINCIPAL),
        ("due", "h12", LEADER),
        ("missed.self_inspection", "c7", TASKFORCE),
        ("digest", "s1", PRINCIPAL),
        ("digest", "city", TASKFORCE),
    }


def test_escalation_levels_apply_in_turn_and_end():
    """Each level is planned from its day until the next level's (the task force's for a
    week); a pass plans only the current level."""
    deadline = date(2026, 12, 5)
    levels = {}
    for overdue in range(1, 16):
        day = deadline + timedelta(days=overdue)
        planned = plan(ledger_on(day), at(day), RULES)
        levels[overdue] = sorted(
            p.key.split(":")[0]
            for p in planned
            if p.key.startswith("escalate")
            and (":h10:" in p.key or any(v["id"] == 10 for _, v in p.items))
        )
    assert levels == {
        1: ["escalate1"],
        2: ["escalate1"],
        3: ["escalate2"],
        4: ["escalate2"],
        5: ["escalate2"],
        6: ["escalate2"],
        **{n: ["escalate3"] for n in range(7, 14)},
        14: [],
        15: [],
    }


def test_a_superseded_stage_is_not_planned():
    """Back on the day: the 3-days and 1-day reminders are not sent late."""
    planned = plan(ledger_on(date(2026, 12, 5)), at(date(2026, 12, 5)), RULES)
    h10 = [p for p in planned if p.key.startswith("due:h10")]
    assert [p.key for p in h10] == ["due:h10:2026-12-05:p1"]
    assert h10[0].text == "reminders.due_today"


def test_a_blocked_responsible_s_reminder_goes_to_the_leader():
    day = date(2026, 12, 6)
    planned = plan(ledger_on(day, blocked=(RESP1,)), at(day), RULES)
    overdue = [p for p in planned if p.key.startswith("overdue:h10")]
    assert [(p.person_id, p.instead_of) for p in overdue] == [(LEADER, ("王老师",))]


def test_an_escalation_for_a_blocked_leader_goes_up_the_chain():
    day = date(2026, 12, 6)
    planned = plan(ledger_on(day, blocked=(LEADER,)), at(day), RULES)
    esc = [p for p in planned if p.key.startswith("escalate1:h10")]
    assert [(p.person_id, p.instead_of) for p in esc] == [(PRINCIPAL, ("刘主任",))]
    both = plan(ledger_on(day, blocked=(LEADER, PRINCIPAL)), at(day), RULES)
    esc = [p for p in both if p.key.startswith("escalate1:h10")]
    assert [(p.person_id, p.instead_of) for p in esc] == [(TASKFORCE, ("刘主任", "张校长"))]


def test_a_blocked_principal_gets_no_digest():
    day = date(2026, 12, 7)
    planned = plan(ledger_on(day, blocked=(PRINCIPAL,)), at(day), RULES)
    assert ("digest", "s1", PRINCIPAL) not in short(planned)


@pytest.mark.parametrize(
    ("days_left", "stage"), [(5, None), (4, None), (3, 3), (2, 3), (1, 1), (0, 0)]
)
def test_latest_stage(days_left, stage):
    assert latest_stage(days_left, (3, 1, 0)) == stage


@pytest.mark.parametrize(
    ("every", "day", "start", "due"),
    [
        ("week", date(2026, 12, 3), date(2026, 11, 30), date(2026, 12, 6)),
        ("month", date(2026, 12, 3), date(2026, 12, 1), date(2026, 12, 31)),
        ("month", date(2027, 2, 10), date(2027, 2, 1), date(2027, 2, 28)),
        ("term", date(2026, 12, 3), date(2026, 9, 1), date(2026, 10, 1)),
        ("term", date(2027, 2, 3), date(2026, 9, 1), date(2026, 10, 1)),
        ("term", date(2027, 3, 3), date(2027, 3, 1), date(2027, 3, 31)),
    ],
)
def test_periods(every, day, start, due):
    assert period_of(every, day) == (start, due)


def test_a_round_opens_with_the_next_period_only():
    set_on = date(2026, 12, 2)  # a Wednesday
    assert round_to_open("week", set_on, None, date(2026, 12, 6)) is None
    assert round_to_open("week", set_on, None, date(2026, 12, 7)) == date(2026, 12, 7)
    assert round_to_open("week", set_on, date(2026, 12, 7), date(2026, 12, 9)) is None
    # Down for two weeks: only the current week's round opens.
    assert round_to_open("week", set_on, date(2026, 12, 7), date(2026, 12, 23)) == date(
        2026, 12, 21
    )


def test_round_reminders():
    """Opened, then the before-due stages while buildings are left; none once walked."""
    base = ledger_on(date(2026, 12, 1))
    rnd = Round(3, 1, "week", date(2026, 12, 7), date(2026, 12, 13), buildings_left=2)
    days = [date(2026, 12, d) for d in range(7, 15)]
    stored: set[str] = set()
    seen = {}
    for day in days:
        ledger = replace(base, hazards=[], waiting=[], rounds=[rnd])
        ledger = replace(ledger, campaign=Campaign(7, "回头看"))
        fresh = [
            p
            for p in plan(ledger, at(day), RULES)
            if p.kind == "remind.round" and p.key not in stored
        ]
        stored |= {p.key for p in fresh}
        seen[day] = sorted((p.key, p.person_id) for p in fresh)
    assert seen[date(2026, 12, 7)] == [
        ("round:r3:opened:p3", LEADER),
        ("round:r3:opened:p4", PRINCIPAL),
    ]
    assert seen[date(2026, 12, 10)] == [
        ("round:r3:2026-12-10:p3", LEADER),
        ("round:r3:2026-12-10:p4", PRINCIPAL),
    ]
    assert [d.day for d, s in seen.items() if s] == [7, 10, 12, 13]
    walked = replace(rnd, buildings_left=0)
    ledger = replace(base, hazards=[], waiting=[], rounds=[walked], campaign=Campaign(7, "x"))
    assert [
        p for p in plan(ledger, at(date(2026, 12, 12)), RULES) if p.kind == "remind.round"
    ] == []


def test_the_task_force_gets_one_list_a_day_not_a_message_per_hazard():
    """Hazards of several schools reaching the task force's level on one day: one list."""
    day = date(2026, 12, 12)  # 7 days after 12-05
    base = ledger_on(day)
    second = School(2, "第二中学", principals=(PRINCIPAL,), open=2, overdue=2)
    hazards = [
        Hazard(20, 2, date(2026, 12, 5), RESP2, "赵老师", "消防栓无水", "宿舍"),
        Hazard(21, 2, date(2026, 12, 4), RESP2, "赵老师", "疏散指示灯坏", "宿舍"),  # a day earlier
        *base.hazards,
    ]
    ledger = replace(base, schools={**base.schools, 2: second}, hazards=hazards)
    planned = [p for p in plan(ledger, at(day), RULES) if p.key.startswith("escalate3")]
    by_key = {p.key: [v["id"] for _, v in p.items] for p in planned}
    assert by_key == {
        "escalate3:2026-12-11:p5": [21],  # reached yesterday, still within its week
        "escalate3:2026-12-12:p5": [10, 20],  # by school (实验小学, 第二中学), then number
    }
    assert {p.person_id for p in planned} == {TASKFORCE}


def test_a_demolition_deadline_reminds_the_leaders_then_goes_up():
    """A hazard that cannot be fixed: its demolition date, kept by the leaders."""
    base = ledger_on(date(2026, 12, 1))
    demolition = Hazard(30, 1, date(2026, 12, 20), RESP1, "王老师", "主体开裂", "旧楼", True)
    ledger = replace(base, hazards=[demolition])
    sent = {}
    stored: set[str] = set()
    for offset in range(16, 30):
        day = date(2026, 12, 1) + timedelta(days=offset)
        new = [p for p in plan(ledger, at(day), RULES) if p.key not in stored]
        stored |= {p.key for p in new}
        sent[day] = sorted(
            (p.key.split(":")[0], p.person_id, p.text)
            for p in new
            if ":h30:" in p.key or any(v.get("id") == 30 for _, v in p.items)
        )
    assert sent[date(2026, 12, 17)] == [("demolish.due", LEADER, "reminders.demolish.due")]
    assert sent[date(2026, 12, 18)] == []
    assert sent[date(2026, 12, 19)] == [("demolish.due", LEADER, "reminders.demolish.due")]
    assert sent[date(2026, 12, 20)] == [("demolish.due", LEADER, "reminders.demolish.due_today")]
    assert sent[date(2026, 12, 21)] == [
        ("demolish.overdue", LEADER, "reminders.demolish.overdue")
    ]  # the leaders are the first level: no escalation to them
    assert sent[date(2026, 12, 23)] == [
        ("demolish.overdue", LEADER, "reminders.demolish.overdue"),
        ("escalate2", PRINCIPAL, "reminders.escalate"),
    ]
    assert ("escalate3", TASKFORCE, "reminders.escalate_city") in sent[date(2026, 12, 27)]
    assert all(p != RESP1 for day in sent.values() for _, p, _ in day)
