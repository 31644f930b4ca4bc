"""Reporting up (整改一栋上报一栋, 销号清零): told once, through the outbox, whatever happens."""

from __future__ import annotations

from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Simulator, texts

TWO_BUILDINGS = (("教学楼A", "教学楼", "4", "2005"), ("一食堂", "食堂", "2", "2010"))


async def close(s, hazard_id: int, color: str) -> None:
    await report_fix(s.staff, hazard_id, color=color)
    s.principal.new()
    await s.leader.tap_data(f"r:vf:{hazard_id}:{await fix_of(s, hazard_id)}")


async def fix_of(s, hazard_id: int) -> int:
    db = s.staff.sim.db
    return await db.value(
        "SELECT id FROM fix_reports WHERE hazard_id = ? AND state = 'submitted'", (hazard_id,)
    )


def count(chat, words: str) -> int:
    return sum(words in m.text for m in chat.messages)


async def test_each_building_then_the_school(sim: Simulator) -> None:
    s = await scene(sim, TWO_BUILDINGS)
    first = await report(s.staff, "走廊灯不亮", building="教学楼A", color="red")
    second = await report(s.staff, "楼梯扶手松动", building="教学楼A", color="orange")
    canteen = await report(s.staff, "燃气报警器失灵", building="一食堂", color="purple")

    await close(s, first, "green")
    assert count(s.taskforce, "整改一栋") == 0  # one more in 教学楼A
    await close(s, second, "blue")
    assert count(s.taskforce, "整改一栋") == 1
    assert "实验小学【教学楼A】的隐患已全部整改销号（2 处）" in texts(s.taskforce.messages)
    assert count(s.taskforce, "销号清零") == 0  # the canteen is still open
    await close(s, canteen, "yellow")
    for chat in (s.taskforce, s.principal):
        assert count(chat, "整改一栋") == 2
        assert count(chat, "销号清零") == 1
        assert "实验小学的隐患已全部整改销号（3 处，涉及 2 栋建筑）" in texts(chat.messages)
    assert count(s.staff, "整改一栋") == 0 and count(s.leader, "销号清零") == 0
    kinds = [r["kind"] for r in await sim.db.all("SELECT kind FROM outbox WHERE kind LIKE '%done'")]
    assert sorted(kinds) == ["building_done"] * 4 + ["school_done"] * 2


async def test_told_once_across_a_restart_and_a_job_run_twice(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "走廊灯不亮")
    await report_fix(s.staff, hazard_id)
    sim.auto_send = False  # the change is stored; the bot stops before sending
    await s.leader.tap_data(f"r:vf:{hazard_id}:{await fix_of(s, hazard_id)}")
    assert count(s.taskforce, "整改一栋") == 0
    await sim.restart()
    await sim.send_outbox()
    await sim.send_outbox()
    sim.auto_send = True
    await s.leader.tap_data(f"r:vf:{hazard_id}:{await fix_of(s, hazard_id) or 0}")  # tapped again
    await sim.send_outbox()
    for chat in (s.taskforce, s.principal):
        assert count(chat, "整改一栋") == 1
        assert count(chat, "销号清零") == 1
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == 0


async def test_a_notice_to_a_person_who_blocked_the_bot_does_not_stop_the_others(
    sim: Simulator,
) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "走廊灯不亮")
    await report_fix(s.staff, hazard_id)
    sim.api.fail(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=s.principal.user_id
    )
    await s.leader.tap_data(f"r:vf:{hazard_id}:{await fix_of(s, hazard_id)}")
    assert count(s.taskforce, "整改一栋") == 1 and count(s.taskforce, "销号清零") == 1
    assert count(s.principal, "整改一栋") == 0
    states = {
        r["state"]
        for r in await sim.db.all(
            "SELECT o.state FROM outbox o JOIN people p ON p.id = o.person_id"
            " WHERE p.name = '实验小学张校长'"
            " AND o.kind LIKE '%done'"
        )
    }
    assert states == {"blocked"}
