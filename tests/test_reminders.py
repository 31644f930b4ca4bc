"""Reminders through the real bot: planned, stored once, sent once, as people see them."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime

import pytest

from ledger.roles import Role
from storage import hazards
from tests.conftest import SHANGHAI, School, cli_invitation, join, make_school
from tests.simulator import Chat, Simulator


@dataclass
class Campus:
    school: School
    leader: Chat
    ids: dict[str, int]  # person ids by role name
    chats: dict[str, Chat]


async def person_id(sim: Simulator, chat: Chat) -> int:
    return int(await sim.db.value("SELECT id FROM people WHERE tg_user_id = ?", (chat.user_id,)))


async def given_open_hazard(
    sim: Simulator, school_id: int, reporter: int, deadline: str, responsible: int | None, what: str
) -> int:
    """Test helper: a hazard open in the ledger, as a finished report leaves it."""
    async with sim.db.write() as tx:
        hazard_id = await hazards.create_hazard(
            tx,
            school_id=school_id,
            building_id=None,
            campaign_id=sim.services.campaign_id,
            inspection_id=None,
            item_id=None,
            source="quick",
            person_id=reporter,
        )
        name = await tx.value("SELECT name FROM people WHERE id = ?", (responsible,))
        await hazards.update_hazard(
            tx,
            hazard_id,
            reporter,
            description=what,
            fixable_now=0,
            deadline=deadline,
            responsible_id=responsible,
            responsible_name=name,
        )
        await hazards.complete_hazard(tx, hazard_id, reporter)
    return hazard_id


async def campus(sim: Simulator) -> Campus:
    school = await make_school(sim)
    leader = await join(sim, await cli_invitation(sim, Role.LEADER, school.school_id), "刘主任")
    chats = {
        "taskforce": school.taskforce,
        "principal": school.principal,
        "staff": school.staff,
        "leader": leader,
    }
    ids = {name: await person_id(sim, chat) for name, chat in chats.items()}
    for chat in chats.values():
        chat.new()
    return Campus(school, leader, ids, chats)


async def with_hazards(sim: Simulator) -> Campus:
    """Hazard 1 due 12-01 (the staff member's), hazard 2 due 12-02 (the principal's)."""
    c = await campus(sim)
    sid, staff = c.school.school_id, c.ids["staff"]
    await given_open_hazard(sim, sid, staff, "2026-12-01", staff, "楼梯堆放杂物")
    await given_open_hazard(sim, sid, staff, "2026-12-02", c.ids["principal"], "灭火器过期")
    return c


async def send_all(sim: Simulator) -> int:
    total = 0
    while sent := await sim.send_outbox():
        total += sent
    return total


def seen(c: Campus, digests: bool = True) -> set[tuple[str, str, int | None]]:
    """What each person received since last asked: (who, the mark it starts with, hazard);
    without the weekly digests when ``digests`` is False."""
    got = set()
    for who, chat in c.chats.items():
        for message in chat.new():
            hazard = re.search(r"/hazard_(\d+)", message.text)
            got.add((who, message.text.split()[0], int(hazard[1]) if hazard else None))
    return {m for m in got if digests or m[1] != DIGEST}


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


DUE, OVERDUE, ESCALATE, DIGEST = "⏰", "⚠️", "🔺", "📊"

DAYS: dict[date, set[tuple[str, str, int | None]]] = {
    date(2026, 11, 28): {
        ("staff", DUE, 1),
        ("principal", DIGEST, None),  # the week's digest, caught up on Saturday
        ("taskforce", DIGEST, None),
    },
    date(2026, 11, 29): {("principal", DUE, 2)},
    date(2026, 11, 30): {
        ("staff", DUE, 1),
        ("principal", DIGEST, None),
        ("taskforce", DIGEST, None),
    },
    date(2026, 12, 1): {("staff", DUE, 1), ("principal", DUE, 2)},
    date(2026, 12, 2): {("staff", OVERDUE, 1), ("leader", ESCALATE, 1), ("principal", DUE, 2)},
    date(2026, 12, 3): {
        ("staff", OVERDUE, 1),
        ("principal", OVERDUE, 2),
        ("leader", ESCALATE, 2),
    },
    date(2026, 12, 4): {
        ("staff", OVERDUE, 1),
        ("principal", ESCALATE, 1),
        ("principal", OVERDUE, 2),
    },
}


def move_to(sim: Simulator, moment: datetime) -> None:
    sim.clock.advance(seconds=(moment - sim.clock.now()).total_seconds())


async def test_a_week_of_reminders_day_by_day(sim: Simulator) -> None:
    c = await with_hazards(sim)
    for day, expected in DAYS.items():
        move_to(sim, at(day))
        await sim.plan()
        await sim.plan()  # planning twice changes nothing
        await send_all(sim)
        assert seen(c) == expected, day
    sent = await sim.db.all("SELECT key, state, attempts FROM outbox ORDER BY id")
    assert len(sent) == sum(len(v) for v in DAYS.values())
    assert {(r["state"], r["attempts"]) for r in sent} == {("sent", 1)}


async def test_texts_say_what_and_when(sim: Simulator) -> None:
    c = await with_hazards(sim)
    await sim.plan()
    await send_all(sim)
    staff = [m.text for m in c.school.staff.messages if "/hazard_1" in m.text]
    assert staff == [
        "⏰ 隐患 /hazard_1（实验小学·—）：楼梯堆放杂物\n"
        "整改期限 2026-12-01，还剩 3 天。整改后请提交，/tasks 查看你的任务。"
    ]
    assert c.school.principal.last.text == (
        "📊 每周简报 · 实验小学\n建筑排查：0/1 栋已销号\n"
        "隐患：未销号 2 处（逾期 0 处，待验收 0 处），已销号 0 处"
    )
    assert c.school.taskforce.last.text == (
        "📊 每周简报 · 全市 1 所学校\n建筑排查：0/1 栋已销号\n"
        "隐患：未销号 2 处（逾期 0 处，待验收 0 处），已销号 0 处\n有逾期隐患的学校 0 所"
    )
    move_to(sim, at(date(2026, 12, 2)))
    await sim.plan()
    await send_all(sim)
    escalation = c.leader.last.text
    assert escalation == (
        "🔺 督办：实验小学隐患 /hazard_1（—·楼梯堆放杂物）已逾期 1 天（期限 2026-12-01），"
        "责任人：实验小学王老师。"
    )


async def test_english_for_english_speakers(sim: Simulator) -> None:
    school = await make_school(sim)
    english = await join(
        sim, await cli_invitation(sim, Role.STAFF, school.school_id), "Amy", language="en"
    )
    amy = await person_id(sim, english)
    await given_open_hazard(sim, school.school_id, amy, "2026-11-29", amy, "blocked exit")
    english.new()
    await sim.plan()
    await send_all(sim)
    assert [m.text for m in english.new()] == [
        "⏰ Hazard /hazard_1 (实验小学 · —): blocked exit\n"
        "Due 2026-11-29, 1 day(s) left. Report the fix when done; /tasks shows your tasks."
    ]


async def test_a_restart_in_the_middle_sends_nothing_twice(sim: Simulator) -> None:
    c = await with_hazards(sim)
    move_to(sim, at(date(2026, 12, 2)))
    assert await sim.plan() == 5  # with the week's digests
    await sim.restart()
    assert await sim.plan() == 0  # the same keys, stored already
    await send_all(sim)
    await sim.restart()
    assert await sim.plan() == 0
    assert await send_all(sim) == 0
    assert seen(c) == {
        ("staff", OVERDUE, 1),
        ("leader", ESCALATE, 1),
        ("principal", DUE, 2),
        ("principal", DIGEST, None),
        ("taskforce", DIGEST, None),
    }


async def test_two_passes_at_once_store_each_message_once(sim: Simulator) -> None:
    c = await with_hazards(sim)
    move_to(sim, at(date(2026, 12, 2)))
    jobs = sim.app.bot_data["reminders"]
    first, second = await asyncio.gather(jobs.run(), jobs.run())
    jobs._stored.clear()  # as if from another process: only the outbox's keys stand guard
    third = await jobs.run()
    assert (first + second, third) == (5, 0)
    await send_all(sim)
    assert seen(c, digests=False) == {
        ("staff", OVERDUE, 1),
        ("leader", ESCALATE, 1),
        ("principal", DUE, 2),
    }


async def test_downtime_sends_the_latest_nudge_only(sim: Simulator) -> None:
    """Down from 11-29 to 12-04: one overdue reminder each, the latest escalation only."""
    c = await with_hazards(sim)
    await sim.plan()
    await send_all(sim)
    seen(c)
    move_to(sim, at(date(2026, 12, 4), 9, 30))
    await sim.restart()
    await sim.plan()
    await send_all(sim)
    assert seen(c) == {
        ("staff", OVERDUE, 1),
        ("principal", ESCALATE, 1),  # 3 days overdue: the principal's turn, not the leader's
        ("principal", OVERDUE, 2),
        ("leader", ESCALATE, 2),
        ("principal", DIGEST, None),
        ("taskforce", DIGEST, None),
    }


@pytest.mark.parametrize("hour", [21, 23, 0, 7])
async def test_nothing_planned_in_quiet_hours(sim: Simulator, hour: int) -> None:
    c = await with_hazards(sim)
    day = date(2026, 12, 2) if hour >= 21 else date(2026, 12, 3)
    move_to(sim, at(day, hour, 30))
    assert await sim.plan() == 0
    await send_all(sim)
    assert seen(c) == set()


async def test_a_reminder_held_up_at_night_waits_and_yields_to_the_morning_s(
    sim: Simulator,
) -> None:
    """Planned at 20:50, refused by flood control until 21:05: it waits for the morning,
    where the new day's reminder replaces it."""
    c = await with_hazards(sim)
    move_to(sim, at(date(2026, 12, 2), 20, 50))
    await sim.plan()
    staff_chat = c.school.staff
    sim.api.fail("sendMessage", 429, "Too Many Requests: retry after 900", staff_chat.user_id, 900)
    await send_all(sim)
    assert seen(c, digests=False) == {("leader", ESCALATE, 1), ("principal", DUE, 2)}
    move_to(sim, at(date(2026, 12, 2), 21, 10))
    assert await send_all(sim) == 0
    move_to(sim, at(date(2026, 12, 3), 8, 1))
    assert await send_all(sim) == 0  # no planning pass since the night: held
    await sim.plan()  # 08:01, before the send hour: yesterday's reminder is stale
    assert await send_all(sim) == 0
    stale = await sim.db.one("SELECT state, attempts FROM outbox WHERE key LIKE 'overdue:h1:%'")
    assert (stale["state"], stale["attempts"]) == ("dropped", 1)
    move_to(sim, at(date(2026, 12, 3), 9, 0))
    await sim.plan()
    await send_all(sim)
    assert ("staff", OVERDUE, 1) in seen(c)


async def test_a_person_s_hour(sim: Simulator) -> None:
    c = await with_hazards(sim)
    said = await c.school.staff.send("/reminders")
    assert "你的提醒时间：每天 9:00" in said[-1].text
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert labels == [f"{h}:00" for h in range(8, 21)]
    said = await c.school.staff.tap("8:00")
    assert said[-1].text == "好的，以后每天 8:00 给你发提醒。"
    assert (
        await sim.db.value("SELECT reminder_hour FROM people WHERE id = ?", (c.ids["staff"],)) == 8
    )
    seen(c)
    move_to(sim, at(date(2026, 12, 2), 8, 0))
    await sim.plan()
    await send_all(sim)
    assert seen(c, digests=False) == {("staff", OVERDUE, 1)}
    move_to(sim, at(date(2026, 12, 2), 9, 0))
    await sim.plan()
    await send_all(sim)
    assert seen(c, digests=False) == {("leader", ESCALATE, 1), ("principal", DUE, 2)}


async def test_an_hour_in_the_quiet_hours_is_refused(sim: Simulator) -> None:
    c = await campus(sim)
    await c.school.staff.send("/reminders")
    await c.school.staff.tap_data("rh:22")
    assert c.school.staff.alerts[-1] == "这个时间在静默时段内，请选其他时间。"
    assert (
        await sim.db.value("SELECT reminder_hour FROM people WHERE id = ?", (c.ids["staff"],))
        is None
    )


async def test_what_is_planned_next(sim: Simulator) -> None:
    c = await with_hazards(sim)
    said = await c.school.staff.send("/reminders")
    assert said[0].text.splitlines() == [
        "接下来给你的提醒（若情况不变）：",
        "· 11月28日 09:00 → 实验小学王老师：整改期限提醒 /hazard_1",
        "· 11月30日 09:00 → 实验小学王老师：整改期限提醒 /hazard_1",
        "· 12月1日 09:00 → 实验小学王老师：整改期限提醒 /hazard_1",
        *[f"· 12月{d}日 09:00 → 实验小学王老师：逾期提醒 /hazard_1" for d in range(2, 11)],
        "……另有 2 项",  # 12-11 and 12-12: two weeks ahead
    ]
    said = await c.school.principal.send("/reminders")
    school = said[1].text.splitlines()
    assert school[0] == "实验小学接下来的提醒（若情况不变）："
    assert "· 11月28日 09:00 → 实验小学王老师：整改期限提醒 /hazard_1" in school
    assert "· 12月2日 09:00 → 刘主任：督办 /hazard_1" in school
    # Once sent, a reminder is no longer "next".
    await sim.plan()
    await send_all(sim)
    said = await c.school.staff.send("/reminders")
    assert "11月28日" not in said[0].text


async def test_retry_after_and_network_errors_then_success(sim: Simulator) -> None:
    c = await with_hazards(sim)
    move_to(sim, at(date(2026, 12, 2)))
    await sim.plan()
    staff = c.school.staff.user_id
    leader = c.leader.user_id
    sim.api.fail("sendMessage", 429, "Too Many Requests: retry after 5", staff, retry_after=5)
    sim.api.fail("sendMessage", None, chat_id=leader, times=2)
    await send_all(sim)
    assert seen(c, digests=False) == {("principal", DUE, 2)}
    sim.clock.advance(seconds=5)
    await send_all(sim)
    assert seen(c) == {("staff", OVERDUE, 1)}
    sim.clock.advance(seconds=30)
    await send_all(sim)
    assert seen(c) == set()  # the second network error
    sim.clock.advance(seconds=60)
    await send_all(sim)
    assert seen(c) == {("leader", ESCALATE, 1)}
    rows = await sim.db.all(
        "SELECT kind, state, attempts, last_error FROM outbox"
        " WHERE kind != 'remind.digest' ORDER BY id"
    )
    assert [(r["state"], r["attempts"]) for r in rows] == [("sent", 2), ("sent", 3), ("sent", 1)]
    assert "RetryAfter" in rows[0]["last_error"] and "NetworkError" in rows[1]["last_error"]


async def test_a_blocked_person_s_reminder_goes_up_the_chain_at_once(sim: Simulator) -> None:
    c = await with_hazards(sim)
    move_to(sim, at(date(2026, 12, 2)))
    await sim.plan()
    sim.api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", c.school.staff.user_id
    )
    await send_all(sim)
    # The overdue reminder meant for the staff member reaches the leader in the same pass.
    assert seen(c, digests=False) == {
        ("leader", OVERDUE, 1),
        ("leader", ESCALATE, 1),
        ("principal", DUE, 2),
    }
    instead = [m for m in c.leader.messages if m.text.startswith("⚠️")][-1]
    assert instead.text.endswith("（此消息原应发给实验小学王老师，其已无法接收本机器人的消息。）")
    states = await sim.db.all(
        "SELECT key, state FROM outbox WHERE kind != 'remind.digest' ORDER BY id"
    )
    assert [r["state"] for r in states] == ["blocked", "sent", "sent", "sent"]
    assert (
        await sim.db.value("SELECT blocked_at FROM people WHERE id = ?", (c.ids["staff"],))
        is not None
    )
    # The next day, again to the leader, never to the blocked person.
    move_to(sim, at(date(2026, 12, 3)))
    await sim.plan()
    await send_all(sim)
    assert ("leader", OVERDUE, 1) in seen(c)
    # Writing to the bot again: reachable again.
    await c.school.staff.send("/whoami")
    assert (
        await sim.db.value("SELECT blocked_at FROM people WHERE id = ?", (c.ids["staff"],)) is None
    )
    c.school.staff.new()
    move_to(sim, at(date(2026, 12, 4)))
    await sim.plan()
    await send_all(sim)
    assert ("staff", OVERDUE, 1) in seen(c)


async def test_one_message_a_second_per_chat(sim: Simulator) -> None:
    c = await campus(sim)
    sid, staff = c.school.school_id, c.ids["staff"]
    for n in range(3):
        await given_open_hazard(sim, sid, staff, "2026-11-28", staff, f"隐患{n}")
    sim.pauses.clear()
    await sim.plan()
    await send_all(sim)
    assert len([m for m in c.school.staff.new() if m.text.startswith("⏰")]) == 3
    assert len(sim.pauses) == 2 and all(0 < p <= 1.0 for p in sim.pauses)


async def test_bulk_sends_go_in_small_batches(sim: Simulator) -> None:
    c = await campus(sim)
    sid, staff = c.school.school_id, c.ids["staff"]
    for n in range(25):
        await given_open_hazard(sim, sid, staff, "2026-11-28", c.ids["leader"], f"隐患{n}")
    await sim.plan()
    assert await sim.send_outbox() == 20
    assert await sim.send_outbox() == 7  # the rest, and the digests
