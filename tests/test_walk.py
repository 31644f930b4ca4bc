"""The walk: a building inspected question by question, then closed (销号)."""

from __future__ import annotations

import json

from tests.conftest import jpeg, make_school
from tests.simulator import Simulator, texts


async def answer_all_ok(chat, count: int) -> None:
    for _ in range(count):
        await chat.tap("无隐患")


async def test_full_walk_with_two_hazards(sim: Simulator) -> None:
    school = await make_school(sim)
    staff = school.staff
    said = await staff.send("/inspect")
    assert "已销号 0/1 栋" in texts(said)
    assert any("教学楼A · 未开始" in label for row in said[-1].buttons for label, _ in row)

    said = await staff.tap("教学楼A")
    assert "【教学楼A】1/19 · F01" in said[-1].text
    assert "疏散通道" in said[-1].text

    # F01: a hazard fixable at once, with two photos.
    said = await staff.tap("有隐患")
    assert "请拍照发送隐患照片" in said[-1].text
    said = await staff.photo(jpeg(color="red"))
    assert "已收到 1 张照片" in said[-1].text
    said = await staff.photo(jpeg(color="blue"))
    assert "已收到 2 张照片" in said[-1].text
    said = await staff.tap("照片已发完")
    said = await staff.send("二楼楼梯口堆放杂物")
    assert "能否立即整改" in said[-1].text
    said = await staff.tap("是")
    assert "隐患 #1 已登记" in texts(said)
    assert "【教学楼A】2/19 · F02" in said[-1].text

    await answer_all_ok(staff, 4)  # F02..F05
    said = await staff.tap("不适用")  # F06
    assert "7/19 · F07" in said[-1].text

    # F07: not fixable at once, building out of use, a major hazard.
    await staff.tap("有隐患")
    await staff.tap("无照片")
    await staff.send("配电箱线路老化")
    await staff.tap("否")
    said = await staff.send("2027-05-20")
    assert "具体责任人" in said[-1].text
    said = await staff.tap("实验小学张校长")
    assert "整改措施" in said[-1].text
    await staff.send("更换全部线路")
    said = await staff.tap("是")  # out of use
    assert "重大隐患" in said[-1].text
    await staff.tap("是")  # major
    said = await staff.send("学校专项经费 5 万元")
    assert "应急预案" in said[-1].text
    said = await staff.send("停用并设置警戒线")
    assert "隐患 #2 已登记" in texts(said)
    assert "8/19 · F08" in said[-1].text

    await answer_all_ok(staff, 12)  # F08..R04
    said = staff.new()
    assert "还有其他隐患吗" in staff.last.text
    said = await staff.tap("否")
    summary = said[-1].text
    assert "共 19 项：无隐患 16 项，不适用 1 项，发现隐患 2 处" in summary
    assert "1. 二楼楼梯口堆放杂物" in summary and "2. 配电箱线路老化" in summary
    said = await staff.tap("销号")
    assert "全校已销号 1/1 栋" in said[-1].text

    # What was stored.
    walk = await sim.db.one("SELECT * FROM inspections")
    assert walk["closed_at"] is not None
    assert (
        await sim.db.value("SELECT COUNT(*) FROM answers WHERE inspection_id = ?", (walk["id"],))
        == 19
    )
    hazards = await sim.db.all("SELECT * FROM hazards ORDER BY id")
    assert [h["state"] for h in hazards] == ["open", "open"]
    first, second = hazards
    assert (first["fixable_now"], first["deadline"], first["responsible_name"]) == (
        1,
        "2026-12-05",
        "实验小学王老师",
    )
    assert (second["fixable_now"], second["deadline"], second["responsible_name"]) == (
        0,
        "2027-05-20",
        "实验小学张校长",
    )
    assert second["takes_out_of_use"] == 1 and second["major"] == 1
    assert second["funding"] == "学校专项经费 5 万元"
    assert second["contingency_plan"] == "停用并设置警戒线"
    assert await sim.db.value("SELECT out_of_use FROM buildings") == 1
    assert (
        await sim.db.value("SELECT COUNT(*) FROM photos WHERE hazard_id = ?", (first["id"],)) == 2
    )
    for photo in await sim.db.all("SELECT sha256 FROM photos"):
        assert sim.services.photos.path_of(photo["sha256"]).exists()

    # The event log tells the story.
    events = await sim.db.all(
        "SELECT action, before, after FROM events WHERE subject IN"
        " ('inspection', 'hazard', 'building') ORDER BY id"
    )
    actions = [e["action"] for e in events]
    assert actions.count("answer.given") == 19
    assert actions.count("hazard.opened") == 2
    assert actions.count("photo.added") == 2
    assert "building.out_of_use" in actions
    assert actions[-1] == "inspection.closed"
    closed = events[-1]
    assert json.loads(closed["before"]) == {"state": "in_progress"}
    assert json.loads(closed["after"]) == {"state": "closed"}


async def test_english_client_gets_english(sim: Simulator) -> None:
    school = await make_school(sim)
    english = sim.chat("Ann", "en-GB")
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    code = made[-1].text.split("start=")[1].split()[0]
    said = await english.send(f"/start {code}")
    assert "Please send your name" in said[-1].text
    await english.send("Ann")
    await english.contact("13900000000")
    said = await english.send("/inspect")
    assert "Closed 0 of 1 buildings" in said[-1].text
    said = await english.tap("教学楼A")
    assert "[教学楼A] 1/19 · F01" in said[-1].text
    assert "Escape routes" in said[-1].text
