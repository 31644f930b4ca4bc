"""Rectifying through the chat: a fix reported with photos, returned, fixed again, verified."""

from __future__ import annotations

import json

from tests.conftest import jpeg
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Simulator, texts


async def walk_one_hazard(chat, description: str = "楼梯间堆放杂物") -> int:
    """A walk of 教学楼A whose first item is a hazard for the staff member, then paused."""
    await chat.send("/inspect")
    await chat.tap("教学楼A")
    await chat.tap("有隐患")
    await chat.photo(jpeg(color="red"))
    await chat.tap("照片已发完")
    await chat.send(description)
    await chat.tap("否")
    await chat.tap("7 天内")
    await chat.tap("实验小学王老师")
    await chat.send("清理杂物")
    await chat.tap("否")
    said = await chat.tap("否")
    assert "隐患 #1 已登记" in texts(said)
    await chat.send("/cancel")  # pause the walk
    chat.new()
    return 1


async def test_fixed_returned_fixed_again_and_verified(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await walk_one_hazard(s.staff)

    said = await s.staff.send("/tasks")
    assert "我负责整改的隐患（1 处）" in said[-1].text
    assert "#1【教学楼A】楼梯间堆放杂物" in said[-1].text
    assert "剩 7 天（12月5日）" in said[-1].text

    # The responsible person reports the fix from the card.
    said = await s.staff.tap("#1 教学楼A")
    assert said[0].kind == "photo"  # the before-photo
    assert "状态：待整改" in said[-1].text
    said = await s.staff.tap("📷 上报整改完成")
    assert "请拍摄整改后的照片" in said[-1].text
    said = await s.staff.photo(jpeg(color="green"))
    assert "已收到整改后照片 1 张" in said[-1].text
    said = await s.staff.tap("照片已发完")
    assert "请简要说明整改情况" in said[-1].text
    said = await s.staff.send("杂物已清走")
    assert "整改已提交，等待学校领导验收" in said[-1].text

    # Both leaders get the before and after photos side by side, and two buttons.
    for manager in (s.leader, s.principal):
        album, notice = manager.new()
        assert (album.kind, len(album.files)) == ("album", 2)
        assert "待验收 #1【教学楼A】楼梯间堆放杂物" in notice.text
        assert "整改人：实验小学王老师" in notice.text and "杂物已清走" in notice.text
        assert [label for label, _ in notice.buttons[0]] == ["✅ 验收销号", "↩️ 退回整改"]
    assert await sim.db.value("SELECT state FROM hazards") == "submitted"

    # The leader returns it with a reason; the staff member has it back at once.
    said = await s.leader.tap("↩️ 退回整改")
    assert "请说明退回原因" in said[-1].text
    said = await s.leader.send("楼梯下方仍有纸箱")
    assert "已退回，已通知实验小学王老师" in said[-1].text
    (returned,) = s.staff.new()
    assert "整改被实验小学刘主任退回" in returned.text
    assert "原因：楼梯下方仍有纸箱" in returned.text
    assert await sim.db.value("SELECT state FROM hazards") == "open"
    said = await s.staff.send("/tasks")
    assert "#1【教学楼A】楼梯间堆放杂物" in said[-1].text
    # The principal's old buttons are stale now.
    (album, old_notice) = [m for m in s.principal.messages if m.kind in ("album", "text")][-2:]
    said = await s.principal.tap_data(old_notice.buttons[0][0][1], old_notice)
    assert s.principal.alerts[-1] == "这个问题已经回答过了。"

    # Fixed again, from the returned notice's button; the leader verifies.
    await s.staff.tap("📷 上报整改完成")
    await s.staff.photo(jpeg(color="blue"))
    await s.staff.tap("照片已发完")
    await s.staff.send("纸箱也已清走")
    s.principal.new()
    album, notice = s.leader.new()
    assert "纸箱也已清走" in notice.text
    said = await s.leader.tap("✅ 验收销号")
    assert "已验收销号" in said[-1].text
    (verified,) = s.staff.new()
    assert "已由实验小学刘主任验收销号" in verified.text

    # Reporting up: the building's and the school's last hazard closed.
    for chat in (s.principal, s.taskforce):
        notices = texts(chat.new())
        assert "整改一栋 上报一栋" in notices and "教学楼A】的隐患已全部整改销号（1 处）" in notices
        assert "销号清零" in notices
    assert "整改一栋" not in texts(s.leader.new())

    # Stored: the two signatures, the returned attempt, and the story in the event log.
    hazard = await sim.db.one("SELECT * FROM hazards")
    assert hazard["state"] == "closed" and hazard["closed_at"] == "2026-11-28T09:00:00+08:00"
    fixes = await sim.db.all("SELECT * FROM fix_reports ORDER BY id")
    ids = {
        name: await sim.db.value("SELECT id FROM people WHERE name = ?", (name,))
        for name in ("实验小学王老师", "实验小学刘主任")
    }
    assert [(f["state"], f["reported_by"], f["decided_by"], f["reason"]) for f in fixes] == [
        ("returned", ids["实验小学王老师"], ids["实验小学刘主任"], "楼梯下方仍有纸箱"),
        ("accepted", ids["实验小学王老师"], ids["实验小学刘主任"], None),
    ]
    assert (
        fixes[1]["note"] == "纸箱也已清走" and fixes[1]["submitted_at"] and fixes[1]["decided_at"]
    )
    after = await sim.db.all("SELECT fix_report_id FROM photos WHERE kind = 'after' ORDER BY id")
    assert [p["fix_report_id"] for p in after] == [fixes[0]["id"], fixes[1]["id"]]
    actions = [
        r["action"]
        for r in await sim.db.all(
            "SELECT action FROM events WHERE subject = 'hazard' AND action LIKE 'fix.%' ORDER BY id"
        )
    ]
    assert actions == [
        "fix.started",
        "fix.submitted",
        "fix.returned",
        "fix.started",
        "fix.submitted",
        "fix.verified",
    ]
    verified_event = await sim.db.one("SELECT * FROM events WHERE action = 'fix.verified'")
    assert json.loads(verified_event["after"]) == {"state": "closed", "fix_id": fixes[1]["id"]}
    assert verified_event["actor_id"] == ids["实验小学刘主任"]

    # The card shows both signatures and the returned attempt.
    said = await s.principal.send(f"/hazard_{hazard_id}")
    card = said[-1].text
    assert "状态：已销号" in card
    assert "整改确认：实验小学王老师" in card and "验收销号：实验小学刘主任" in card
    assert "退回：实验小学刘主任" in card and "楼梯下方仍有纸箱" in card
    assert said[-1].buttons == []  # nothing left to do
    assert said[0].kind == "album" and len(said[0].files) == 3  # one before, two after
    assert hazard["id"] == hazard_id


async def test_a_leader_cannot_verify_their_own_fix(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期", responsible="实验小学刘主任")
    await report_fix(s.leader, hazard_id)
    s.leader.new()
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    await s.leader.tap_data(f"r:vf:{hazard_id}:{fix_id}")
    assert s.leader.alerts[-1] == "您不能审批自己提交的整改或申请，需由学校其他领导处理。"
    assert await sim.db.value("SELECT state FROM hazards") == "submitted"
    # Nor does the leader get the notice: the principal does, and verifies.
    _, notice = s.principal.new()
    assert "待验收" in notice.text
    await s.principal.tap("✅ 验收销号")
    assert await sim.db.value("SELECT state FROM hazards") == "closed"
