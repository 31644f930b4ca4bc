"""/tasks and a hazard's card: by deadline, overdue first, a page at a time."""

from __future__ import annotations

import pytest

from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Simulator, texts


async def test_overdue_first_then_by_deadline(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "九十天那条", days="90 天内", color="red")
    await report(s.staff, "七天那条", days="7 天内", color="blue")
    await report(s.staff, "三十天那条", days="30 天内", color="green")
    sim.clock.advance(days=10)  # the 7-day one is now 3 days overdue
    said = await s.staff.send("/tasks")
    text = said[-1].text
    order = [text.index(d) for d in ("七天那条", "三十天那条", "九十天那条")]
    assert order == sorted(order)
    assert "⏰ 已逾期 3 天（12月5日）" in text
    assert "剩 20 天（12月28日）" in text
    assert [label for row in said[-1].buttons for label, _ in row] == [
        "#2 教学楼A",
        "#3 教学楼A",
        "#1 教学楼A",
    ]


async def test_due_today(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "今天到期")
    sim.clock.advance(days=7)
    said = await s.staff.send("/tasks")
    assert "⚠️ 今天到期（12月5日）" in said[-1].text


async def test_pages_beyond_one_screen(sim: Simulator) -> None:
    s = await scene(sim)
    colors = [
        "red",
        "blue",
        "green",
        "yellow",
        "purple",
        "orange",
        "pink",
        "brown",
        "gray",
        "white",
    ]
    for n, color in enumerate(colors, start=1):
        await report(s.staff, f"隐患{n:02d}", color=color)
    said = await s.staff.send("/tasks")
    first = said[-1]
    assert "第 1/2 页" in first.text and "隐患08" in first.text and "隐患09" not in first.text
    assert first.buttons[-1] == [("下一页 ▶", "tk:2")]
    said = await s.staff.tap("下一页 ▶")
    page = s.staff.messages[-1]
    assert page.message_id == first.message_id  # turned in place
    assert "第 2/2 页" in page.text and "隐患09" in page.text and "隐患10" in page.text
    assert page.buttons[-1] == [("◀ 上一页", "tk:1")]
    await s.staff.tap_data("tk:99", page)  # past the end: the last page
    assert "第 2/2 页" in s.staff.messages[-1].text


async def test_a_leader_also_sees_what_waits_for_them(sim: Simulator) -> None:
    s = await scene(sim)
    waiting = await report(s.staff, "等待验收的那条", color="red")
    await report_fix(s.staff, waiting)
    asked = await report(s.staff, "申请延期的那条", color="blue")
    await s.staff.tap_data(f"r:ex:{asked}")
    await s.staff.send("2027-03-01")
    await s.staff.send("等材料")
    await report(s.staff, "无人认领的那条", responsible="外包施工队老周", typed=True, color="green")
    said = await s.leader.send("/tasks")
    text = said[-1].text
    assert "等待验收的整改（1 处）" in text and "等待验收的那条" in text
    assert "等待审批的延期申请（1 处）" in text and "申请延期的那条" in text
    assert "责任人未加入小安的隐患（1 处" in text and "无人认领的那条" in text
    said = await s.staff.send("/tasks")
    assert "等待验收" not in said[-1].text  # staff see only their own
    assert "申请延期的那条" in said[-1].text


async def test_nothing_to_do(sim: Simulator) -> None:
    s = await scene(sim)
    said = await s.staff.send("/tasks")
    assert said[-1].text == "您目前没有待办的整改任务。"


@pytest.mark.parametrize("command", ["/hazard 1", "/hazard_1", "/hazard #1"])
async def test_the_card_by_command(sim: Simulator, command: str) -> None:
    s = await scene(sim)
    await report(s.staff, "消防通道被占用")
    said = await s.staff.send(command)
    assert said[0].kind == "photo"
    card = said[-1].text
    for part in (
        "隐患 #1【教学楼A】消防通道被占用",
        "学校：实验小学",
        "状态：待整改",
        "发现：实验小学王老师 · 11月28日 09:00",
        "能否立即整改：不能",
        "完成期限：剩 7 天（12月5日）",
        "责任人：实验小学王老师",
        "整改措施：清理并加固",
        "照片：整改前 1 张，整改后 0 张",
        "上报隐患",
    ):
        assert part in card, part
    assert [row[0][0] for row in said[-1].buttons] == ["📷 上报整改完成", "📅 申请延期"]


@pytest.mark.parametrize("command", ["/hazard", "/hazard abc", "/hazard 99"])
async def test_the_card_refused(sim: Simulator, command: str) -> None:
    s = await scene(sim)
    await report(s.staff, "消防通道被占用")
    said = await s.staff.send(command)
    assert said[-1].text in (
        "请发送 /hazard 隐患编号，例如 /hazard 12。",
        "“abc”不是隐患编号。隐患编号是一个数字，例如 /hazard 12。",
        "您没有权限进行此操作。",
    )


async def test_the_card_in_english(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "消防通道被占用")
    english = sim.chat("Ann", "en-GB")
    english.user_id = s.principal.user_id
    english.user = {**s.principal.user, "language_code": "en"}
    said = await english.send("/hazard 1")
    assert "State: <b>" not in said[-1].text and "State: to fix" in said[-1].text
    assert "Report the fix" in texts(said)


async def test_the_task_force_reads_any_card_but_acts_on_none(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "消防通道被占用")
    said = await s.taskforce.send("/hazard 1")
    assert "消防通道被占用" in said[-1].text
    assert said[-1].buttons == []
