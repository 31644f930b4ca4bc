"""A school whose only manager is the principal: the task force verifies his fixes.

The seed asks for two signatures on every fix (the supervising leader's and the
responsible person's); whoever reported a fix cannot verify it. Without another
principal or leader, the task force is the second signature: told at once, able
to verify, and reminded of it; the principal is told so, and warned when a
hazard becomes his.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import NotAllowed, OwnFix
from ledger.rectify import (
    Action,
    Facts,
    State,
    actions,
    sole_manager,
    taskforce_verifies,
    transition,
    verifiers,
)
from ledger.roles import Membership, Person, Role
from scheduler.planner import Campaign, Ledger, Recipient, School, WaitingFix, plan
from scheduler.rules import ReminderRules
from tests.conftest import join, jpeg, link_code, make_school
from tests.rectify_helpers import report, report_fix
from tests.simulator import Chat, Simulator, texts

PRINCIPAL_NAME = "实验小学张校长"


async def person_id(sim: Simulator, name: str) -> int:
    return int(await sim.db.value("SELECT id FROM people WHERE name = ?", (name,)))


async def report_fixable_now(chat: Chat, description: str) -> tuple[int, str]:
    """A quick report fixable at once: the reporter is responsible for it. Its id, and
    what the last answer brought (the outbox is sent at once: its notices too)."""
    said = await chat.photo(jpeg(color="red"))
    if "这是哪栋建筑" in said[-1].text:
        await chat.tap("教学楼A")
    await chat.tap("照片已发完")
    await chat.send(description)
    said = await chat.tap("是")  # fixable at once
    return int(said[0].text.split("#")[1].split()[0]), texts(said)


# --- the rule, without a bot -----------------------------------------------------------

SCHOOL = 7
STAFF = Person(1, "staff", "1", (Membership(Role.STAFF, SCHOOL),))
PRINCIPAL = Person(4, "principal", "1", (Membership(Role.PRINCIPAL, SCHOOL),))
LEADER = Person(3, "leader", "1", (Membership(Role.LEADER, SCHOOL),))
TASKFORCE = Person(5, "taskforce", "1", (Membership(Role.TASKFORCE, None),))


def waiting(fixer: int, managers: set[int]) -> Facts:
    return Facts(State.SUBMITTED, SCHOOL, 4, fix_reporter_id=fixer, managers=frozenset(managers))


def test_who_verifies_a_fix() -> None:
    assert verifiers(4, {4}) == frozenset()
    assert verifiers(1, {4}) == {4}
    assert verifiers(3, {3, 4}) == {4}
    assert taskforce_verifies(4, {4})
    assert taskforce_verifies(4, set())  # a school without any manager left
    assert not taskforce_verifies(1, {4})
    assert not taskforce_verifies(4, {3, 4})
    assert not taskforce_verifies(None, {4})  # nothing waiting, nothing to route
    assert sole_manager(4, {4})
    assert not sole_manager(4, {3, 4})
    assert not sole_manager(1, {4})  # staff: the principal verifies


def test_the_task_force_verifies_only_what_nobody_at_the_school_may() -> None:
    alone = waiting(fixer=4, managers={4})
    assert transition(TASKFORCE, Action.VERIFY, alone) is State.CLOSED
    assert transition(TASKFORCE, Action.RETURN, alone) is State.OPEN
    assert actions(TASKFORCE, alone) == [Action.VERIFY, Action.RETURN]
    assert actions(PRINCIPAL, alone) == []
    for facts in (waiting(fixer=1, managers={4}), waiting(fixer=4, managers={3, 4})):
        assert actions(TASKFORCE, facts) == []
        with pytest.raises(NotAllowed):
            transition(TASKFORCE, Action.VERIFY, facts)
    with pytest.raises(OwnFix):
        transition(PRINCIPAL, Action.VERIFY, alone)


def test_the_task_force_decides_what_only_its_asker_could() -> None:
    asked = Facts(State.OPEN, SCHOOL, 4, extension_asked_by=4, managers=frozenset({4}))
    assert Action.DECIDE in actions(TASKFORCE, asked)
    assert Action.DECIDE not in actions(PRINCIPAL, asked)
    by_staff = Facts(State.OPEN, SCHOOL, 1, extension_asked_by=1, managers=frozenset({4}))
    assert Action.DECIDE not in actions(TASKFORCE, by_staff)
    assert Action.DECIDE in actions(PRINCIPAL, by_staff)


# --- through the chat --------------------------------------------------------------------


async def test_the_principals_own_fix_goes_to_the_task_force(sim: Simulator) -> None:
    school = await make_school(sim)
    principal, taskforce = school.principal, school.taskforce
    principal.new()
    taskforce.new()
    hazard_id, warned = await report_fixable_now(principal, "灭火器过期")
    # Named for it himself, in a school with no leader: warned at once.
    assert "贵校目前只有您一位校领导" in warned and "将转市专班验收" in warned
    row = await sim.db.one("SELECT * FROM outbox WHERE kind = 'sole_manager'")
    assert row["person_id"] == await person_id(sim, PRINCIPAL_NAME)
    assert f"#{hazard_id}" in row["text"]

    await report_fix(principal, hazard_id)
    assert "已转市专班验收，并已通知市专班" in principal.last.text
    # The task force is told, with why, the photos and the buttons to verify.
    told = taskforce.new()
    assert [m.kind for m in told] == ["album", "text"]
    notice = told[-1]
    assert "实验小学除整改人外没有其他校领导" in notice.text and "待验收" in notice.text
    assert [label for label, _ in notice.buttons[0]] == ["✅ 验收销号", "↩️ 退回整改"]
    taskforce_id = await person_id(sim, "市专班李")
    row = await sim.db.one("SELECT * FROM outbox WHERE kind = 'fix_submitted'")
    assert row["person_id"] == taskforce_id

    # The principal's card has nothing to verify, nor his list; the task force's has.
    said = await principal.send(f"/hazard {hazard_id}")
    assert "✅ 验收销号" not in [b for row in said[-1].buttons for b, _ in row]
    said = await principal.send("/tasks")
    assert "等待验收的整改" not in said[-1].text
    said = await taskforce.send("/tasks")
    assert "等待验收的整改" in said[-1].text and "灭火器过期" in said[-1].text

    said = await taskforce.tap("✅ 验收销号")
    assert "已验收销号" in texts(said)
    hazard = await sim.db.one("SELECT * FROM hazards WHERE id = ?", (hazard_id,))
    assert hazard["state"] == "closed"
    fix = await sim.db.one("SELECT * FROM fix_reports WHERE hazard_id = ?", (hazard_id,))
    assert (fix["state"], fix["decided_by"]) == ("accepted", taskforce_id)
    assert fix["reported_by"] == await person_id(sim, PRINCIPAL_NAME)
    assert "市专班李验收销号" in texts(principal.new())


async def test_the_task_force_can_return_it(sim: Simulator) -> None:
    school = await make_school(sim)
    hazard_id, _ = await report_fixable_now(school.principal, "灭火器过期")
    await report_fix(school.principal, hazard_id)
    school.principal.new()
    await school.taskforce.tap("↩️ 退回整改")
    await school.taskforce.send("照片看不清")
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,)) == "open"
    assert "照片看不清" in texts(school.principal.new())


async def test_a_staff_fix_is_still_the_principals_to_verify(sim: Simulator) -> None:
    school = await make_school(sim)
    hazard_id = await report(school.staff, "应急灯不亮")  # the staff member is responsible
    school.taskforce.new()
    school.principal.new()
    await report_fix(school.staff, hazard_id)
    assert "等待学校领导验收" in school.staff.last.text
    assert "待验收" in texts(school.principal.new())
    assert school.taskforce.new() == []
    await school.taskforce.tap_data(f"r:vf:{hazard_id}:1")
    assert school.taskforce.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,)) == "submitted"


async def test_with_a_leader_the_leader_verifies_the_principals_fix(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    leader = await join(sim, link_code(made[-1].text), "实验小学刘主任")
    hazard_id, said = await report_fixable_now(school.principal, "灭火器过期")
    assert "已登记" in said and "只有您一位校领导" not in said
    school.taskforce.new()
    await report_fix(school.principal, hazard_id)
    assert "等待学校领导验收" in school.principal.last.text
    assert "待验收" in texts(leader.new())
    assert school.taskforce.new() == []
    await school.taskforce.tap_data(f"r:vf:{hazard_id}:1")
    assert school.taskforce.alerts[-1] == "您没有权限进行此操作。"


async def test_the_reminder_to_verify_goes_to_the_task_force(sim: Simulator) -> None:
    school = await make_school(sim)
    principal, taskforce = school.principal, school.taskforce
    hazard_id, _ = await report_fixable_now(principal, "灭火器过期")
    await report_fix(principal, hazard_id)
    staff_hazard = await report(school.staff, "应急灯不亮")
    await report_fix(school.staff, staff_hazard)
    for chat in (principal, taskforce, school.staff):
        chat.new()
    sim.clock.advance(days=3)
    await sim.plan()
    await sim.send_outbox()
    to_taskforce = texts(taskforce.new())
    assert "没有其他校领导可以验收以下整改，由市专班验收" in to_taskforce
    assert f"/hazard_{hazard_id}" in to_taskforce and f"/hazard_{staff_hazard}" not in to_taskforce
    to_principal = texts(principal.new())
    # The principal is reminded only of the fix he may verify: the staff member's.
    assert f"/hazard_{staff_hazard}" in to_principal and f"/hazard_{hazard_id}" not in to_principal
    rows = await sim.db.all("SELECT key, person_id FROM outbox WHERE kind = 'remind.verify'")
    taskforce_id = await person_id(sim, "市专班李")
    principal_id = await person_id(sim, PRINCIPAL_NAME)
    assert sorted((r["key"], r["person_id"]) for r in rows) == sorted(
        [
            (f"verify:s{school.school_id}:2026-12-01:p{taskforce_id}", taskforce_id),
            (f"verify:s{school.school_id}:2026-12-01:p{principal_id}", principal_id),
        ]
    )


async def test_the_principal_named_by_staff_is_warned(sim: Simulator) -> None:
    school = await make_school(sim)
    school.principal.new()
    await report(school.staff, "配电箱无门", responsible=PRINCIPAL_NAME)
    told = texts(school.principal.new())
    assert "指定您为责任人" in told
    assert "贵校目前只有您一位校领导" in told and "/invite" in told


async def test_the_principal_taking_a_hazard_over_is_warned(sim: Simulator) -> None:
    school = await make_school(sim)
    hazard_id = await report(school.staff, "配电箱无门")
    school.principal.new()
    await school.principal.tap_data(f"r:ra:{hazard_id}")
    told = texts(await school.principal.tap(PRINCIPAL_NAME))
    assert "责任人已改为" in told and "贵校目前只有您一位校领导" in told
    events = await sim.db.all("SELECT * FROM events WHERE action = 'hazard.reassigned'")
    assert json.loads(events[0]["after"])["name"] == PRINCIPAL_NAME


async def test_english_wording(sim: Simulator) -> None:
    school = await make_school(sim)
    school.principal.user["language_code"] = "en"
    async with sim.db.write() as tx:
        await tx.run("UPDATE people SET language = 'en' WHERE name = ?", (PRINCIPAL_NAME,))
    hazard_id, told = await report_fixable_now_en(school.principal, "Expired extinguisher")
    assert "only leader" in told
    await school.principal.tap_data(f"r:fx:{hazard_id}")
    await school.principal.photo(jpeg(color="green"))
    await school.principal.tap("All photos sent")
    said = await school.principal.send("Replaced")
    assert "goes to the task force" in said[-1].text


async def report_fixable_now_en(chat: Chat, description: str) -> tuple[int, str]:
    said = await chat.photo(jpeg(color="red"))
    if "Which building" in said[-1].text:
        await chat.tap("教学楼A")
    await chat.tap("Photos done")
    await chat.send(description)
    said = await chat.tap("Yes")
    return int(said[0].text.split("#")[1].split()[0]), texts(said)


# --- the reminder planner, pure ----------------------------------------------------------


def _ledger(leaders: tuple[int, ...], waiting: list[WaitingFix], blocked: int = 0) -> Ledger:
    names = {1: "王老师", 3: "刘主任", 4: "张校长", 5: "市专班李"}
    return Ledger(
        campaign=Campaign(7, "回头看"),
        people={i: Recipient(i, name, i == blocked) for i, name in names.items()},
        schools={SCHOOL: School(SCHOOL, "实验小学", leaders=leaders, principals=(4,))},
        taskforce=(5,),
        waiting=waiting,
    )


def _verify_reminders(ledger: Ledger) -> list[tuple[int, str, list[int], tuple[str, ...]]]:
    now = datetime(2026, 12, 4, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    return sorted(
        (p.person_id, p.text, [v["id"] for _, v in p.items], p.instead_of)
        for p in plan(ledger, now, ReminderRules())
        if p.kind == "remind.verify"
    )


def test_the_planner_reminds_whoever_may_verify_each_fix() -> None:
    submitted = date(2026, 12, 1)
    staff_fix, principal_fix = (
        WaitingFix(10, SCHOOL, submitted, 1),
        WaitingFix(11, SCHOOL, submitted, 4),
    )
    leader_fix = WaitingFix(12, SCHOOL, submitted, 3)
    # The principal alone: his own fix goes to the task force, the staff's to him.
    assert _verify_reminders(_ledger((), [staff_fix, principal_fix])) == [
        (4, "reminders.verify", [10], ()),
        (5, "verify_by_taskforce.reminder", [11], ()),
    ]
    # With a leader: the leader is reminded, and of the principal's fix too; the
    # leader's own fix goes to the principal, never back to the leader.
    assert _verify_reminders(_ledger((3,), [staff_fix, principal_fix, leader_fix])) == [
        (3, "reminders.verify", [10, 11], ()),
        (4, "reminders.verify", [12], ()),
    ]
    # The only one who may verify blocked the bot: the task force, saying for whom.
    assert _verify_reminders(_ledger((), [staff_fix], blocked=4)) == [
        (5, "reminders.verify", [10], ("张校长",)),
    ]


async def test_the_principals_request_for_a_later_deadline_goes_to_the_task_force(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    hazard_id, _ = await report_fixable_now(school.principal, "灭火器过期")  # due 2026-12-05
    school.taskforce.new()
    await school.principal.tap_data(f"r:ex:{hazard_id}")
    await school.principal.send("2026-12-20")
    said = await school.principal.send("灭火器缺货")
    assert "已转市专班审批" in said[-1].text
    (notice,) = school.taskforce.new()
    assert "实验小学除申请人外没有其他校领导" in notice.text and "灭火器缺货" in notice.text
    said = await school.taskforce.tap("✅ 同意延期")
    assert "2026-12-20" in texts(said)
    assert await sim.db.value("SELECT deadline FROM hazards WHERE id = ?", (hazard_id,)) == (
        "2026-12-20"
    )
    change = await sim.db.one("SELECT * FROM deadline_changes")
    assert (change["state"], change["decided_by"]) == ("approved", await person_id(sim, "市专班李"))
    assert "同意" in texts(school.principal.new())


async def test_a_staff_request_is_still_the_principals_to_decide(sim: Simulator) -> None:
    school = await make_school(sim)
    hazard_id = await report(school.staff, "应急灯不亮")
    school.taskforce.new()
    await school.staff.tap_data(f"r:ex:{hazard_id}")
    await school.staff.send("2026-12-20")
    await school.staff.send("灯具缺货")
    assert "延期申请" in texts(school.principal.new())
    assert school.taskforce.new() == []
    change_id = await sim.db.value("SELECT id FROM deadline_changes")
    await school.taskforce.tap_data(f"r:dx:{hazard_id}:{change_id}:y")
    assert school.taskforce.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT state FROM deadline_changes") == "asked"
