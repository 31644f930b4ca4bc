"""Asking for a later deadline: approved or refused by a leader, every change kept."""

from __future__ import annotations

import pytest

from tests.rectify_helpers import report, scene
from tests.simulator import Simulator


async def ask(chat, hazard_id: int, date: str, reason: str) -> None:
    await chat.tap_data(f"r:ex:{hazard_id}")
    await chat.send(date)
    await chat.send(reason)


async def test_an_extension_approved(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙瓷砖松动")
    said = await s.staff.tap_data(f"r:ex:{hazard_id}")
    assert "当前完成期限 12月5日（周六）" in said[-1].text
    said = await s.staff.send("2027-01-15")
    assert "请说明延期原因" in said[-1].text
    said = await s.staff.send("需等寒假施工")
    assert "延期申请已提交（2026-12-05 → 2027-01-15）" in said[-1].text
    (notice,) = s.leader.new()
    assert "实验小学王老师申请将完成期限由 2026-12-05 延至 2027-01-15" in notice.text
    assert "原因：需等寒假施工" in notice.text
    said = await s.leader.tap("✅ 同意延期")
    assert "已同意延期：隐患 #1 完成期限改为 2027-01-15" in said[-1].text
    (told,) = s.staff.new()
    assert "您的延期申请已获实验小学刘主任同意" in told.text
    assert await sim.db.value("SELECT deadline FROM hazards") == "2027-01-15"
    change = await sim.db.one("SELECT * FROM deadline_changes")
    assert (change["old_deadline"], change["new_deadline"], change["state"]) == (
        "2026-12-05",
        "2027-01-15",
        "approved",
    )
    assert change["reason"] == "需等寒假施工" and change["decided_at"]
    events = [
        r["action"]
        for r in await sim.db.all("SELECT action FROM events WHERE action LIKE 'deadline.%'")
    ]
    assert events == ["deadline.asked", "deadline.approved"]
    # The principal's copy of the request is stale now; the card keeps the change.
    await s.principal.tap("✅ 同意延期")
    assert s.principal.alerts[-1] == "这个问题已经回答过了。"
    said = await s.principal.send(f"/hazard {hazard_id}")
    assert "2026-12-05 → 2027-01-15：实验小学王老师" in said[-1].text
    assert "实验小学刘主任" in said[-1].text and "批准" in said[-1].text


async def test_an_extension_refused_keeps_the_deadline(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙瓷砖松动")
    await ask(s.staff, hazard_id, "2027-01-15", "需等寒假施工")
    s.leader.new()
    said = await s.principal.tap("❌ 不同意")
    assert "请说明不同意延期的理由" in said[-1].text
    said = await s.principal.send("存在坠落风险，必须本周处理")
    assert "已不同意延期：隐患 #1 完成期限仍为 2026-12-05" in said[-1].text
    (told,) = s.staff.new()
    assert "未获同意" in told.text and "存在坠落风险，必须本周处理" in told.text
    assert await sim.db.value("SELECT deadline FROM hazards") == "2026-12-05"
    change = await sim.db.one("SELECT * FROM deadline_changes")
    assert (change["state"], change["refusal"]) == ("refused", "存在坠落风险，必须本周处理")
    # The leader's buttons on the same request are stale now.
    await s.leader.tap("✅ 同意延期")
    assert s.leader.alerts[-1] == "这个问题已经回答过了。"
    assert await sim.db.value("SELECT deadline FROM hazards") == "2026-12-05"


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("明天吧", "没有看懂日期"),
        ("2026-11-01", "已经过去"),
        ("2026-12-05", "新的期限要晚于现在的期限 2026-12-05"),
        ("2026-12-01", "新的期限要晚于现在的期限 2026-12-05"),
    ],
)
async def test_a_bad_date_is_refused(sim: Simulator, typed: str, answer: str) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙瓷砖松动")
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    said = await s.staff.send(typed)
    assert answer in said[0].text
    assert await sim.db.value("SELECT COUNT(*) FROM deadline_changes") == 0
    said = await s.staff.send("2027-01-15")  # still waiting for the date
    assert "请说明延期原因" in said[-1].text


async def test_one_request_at_a_time_and_not_by_the_asker(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙瓷砖松动", responsible="实验小学刘主任")
    await ask(s.leader, hazard_id, "2027-01-15", "等材料")
    change_id = await sim.db.value("SELECT id FROM deadline_changes")
    await s.leader.tap_data(f"r:ex:{hazard_id}")
    assert s.leader.alerts[-1] == "该隐患已有一份延期申请在等待审批。"
    await s.leader.tap_data(f"r:dx:{hazard_id}:{change_id}:y")
    assert s.leader.alerts[-1] == "您不能审批自己提交的整改或申请，需由学校其他领导处理。"
    await s.staff.tap_data(f"r:dx:{hazard_id}:{change_id}:y")
    assert s.staff.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT state FROM deadline_changes") == "asked"
    await s.principal.tap("✅ 同意延期")
    assert await sim.db.value("SELECT state FROM deadline_changes") == "approved"
