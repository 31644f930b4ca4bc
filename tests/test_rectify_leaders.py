"""What leaders do besides verifying: cannot be fixed (out of use, demolition), reassigning."""

from __future__ import annotations

import json

from tests.rectify_helpers import report, scene
from tests.simulator import Simulator, texts


async def test_a_hazard_that_cannot_be_fixed(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "主体结构开裂")
    said = await s.leader.send(f"/hazard {hazard_id}")
    assert [row[0][0] for row in said[-1].buttons] == [
        "📷 上报整改完成",
        "🚫 无法整改",
        "👤 更换责任人",
    ]
    said = await s.leader.tap("🚫 无法整改")
    assert "请输入拆除期限" in said[-1].text
    said = await s.leader.send("2027-08-31")
    assert "请说明无法整改的原因" in said[-1].text
    said = await s.leader.send("C级危房，无加固价值")
    assert "【教学楼A】已停用，拆除期限 2027-08-31，已报告市专班" in said[-1].text

    (told,) = s.taskforce.new()
    assert "无法整改" in told.text and "实验小学" in told.text
    assert "C级危房，无加固价值" in told.text and "2027-08-31" in told.text
    assert "实验小学刘主任确认" in told.text
    (told,) = s.staff.new()  # the responsible person
    assert "无法整改" in told.text

    hazard = await sim.db.one("SELECT * FROM hazards")
    assert (hazard["state"], hazard["demolition_due"]) == ("unfixable", "2027-08-31")
    assert await sim.db.value("SELECT out_of_use FROM buildings") == 1
    change = await sim.db.one("SELECT * FROM deadline_changes")
    assert (change["old_deadline"], change["new_deadline"], change["reason"]) == (
        "2026-12-05",
        "2027-08-31",
        "C级危房，无加固价值",
    )
    event = await sim.db.one("SELECT * FROM events WHERE action = 'hazard.unfixable'")
    assert json.loads(event["after"])["demolition_due"] == "2027-08-31"
    assert (
        await sim.db.value("SELECT COUNT(*) FROM events WHERE action = 'building.out_of_use'") == 1
    )
    # Nothing more to do on it, for anyone.
    said = await s.staff.send(f"/hazard {hazard_id}")
    assert (
        "无法整改（停用待拆除）" in said[-1].text
        and "拆除期限：2027年8月31日（周二）" in said[-1].text
    )
    assert said[-1].buttons == []


async def test_staff_cannot_declare_a_hazard_unfixable(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "主体结构开裂")
    await s.staff.tap_data(f"r:uf:{hazard_id}")
    assert s.staff.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT state FROM hazards") == "open"


async def test_reassigning_tells_both_people(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "应急照明损坏")
    said = await s.principal.send(f"/hazard {hazard_id}")
    said = await s.principal.tap("👤 更换责任人")
    assert "请选择新的责任人" in said[-1].text
    said = await s.principal.tap("实验小学刘主任")
    assert "责任人已改为实验小学刘主任，已通知新旧责任人" in said[-1].text
    assert "实验小学张校长指定您为隐患责任人" in texts(s.leader.new())
    assert "已将以下隐患的责任人改为实验小学刘主任" in texts(s.staff.new())
    leader_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学刘主任'")
    hazard = await sim.db.one("SELECT * FROM hazards")
    assert (hazard["responsible_id"], hazard["responsible_name"]) == (leader_id, "实验小学刘主任")
    # The task moved with it.
    assert "没有待办的整改任务" in (await s.staff.send("/tasks"))[-1].text
    assert "#1【教学楼A】应急照明损坏" in (await s.leader.send("/tasks"))[-1].text
    # Picking the same person again changes nothing.
    await s.principal.tap_data(f"r:ra:{hazard_id}:{leader_id}")
    assert s.principal.alerts[-1] == "实验小学刘主任已是该隐患的责任人。"
    assert await sim.db.value("SELECT COUNT(*) FROM events WHERE action = 'hazard.reassigned'") == 1


async def test_a_stranger_cannot_be_made_responsible(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "应急照明损坏")
    taskforce_id = await sim.db.value("SELECT id FROM people WHERE name = '市专班李'")
    await s.principal.send("/tasks")
    await s.principal.tap_data(f"r:ra:{hazard_id}:{taskforce_id}")
    assert s.principal.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT responsible_name FROM hazards") == "实验小学王老师"


async def test_the_demolition_deadline_is_reminded_to_the_leaders(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "主体结构开裂")  # due 2026-12-05
    await s.leader.tap_data(f"r:uf:{hazard_id}")
    await s.leader.send("2026-12-01")
    await s.leader.send("C级危房")
    for chat in (s.staff, s.leader, s.principal):
        chat.new()
    await sim.plan()
    await sim.send_outbox()
    told = texts(s.leader.new())
    assert f"/hazard_{hazard_id}" in told
    assert "拆除期限 2026-12-01，还剩 3 天" in told
    assert f"/hazard_{hazard_id}" not in texts(s.staff.new())  # nothing left for them to fix
