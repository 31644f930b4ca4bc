"""The walk's rules: which checklist, resume, repeats, stale taps, the lock."""

from __future__ import annotations

import pytest

from tests.conftest import add_building, make_school
from tests.simulator import Simulator, texts


@pytest.mark.parametrize(
    ("building", "total", "extra_codes"),
    [
        (("教学楼A", "教学楼", "4", "2005"), 19, set()),
        (("一食堂", "食堂", "2", "2010"), 20, {"K01"}),
        (("老教学楼", "教学楼", "3", "1995"), 20, {"P01"}),
        (("老食堂", "食堂", "1", "1980"), 21, {"K01", "P01"}),
        (("学生宿舍", "宿舍", "6", "2015"), 20, {"D01"}),
    ],
)
async def test_checklist_by_use_and_year(sim: Simulator, building, total, extra_codes) -> None:
    school = await make_school(sim, buildings=(building,))
    await school.staff.send("/inspect")
    said = await school.staff.tap(building[0])
    assert f"1/{total} · F01" in said[-1].text
    codes = []
    for _ in range(total):
        codes.append(school.staff.last.text.split(" · ")[1].split("\n")[0])
        await school.staff.tap("无隐患")
    assert set(codes) - {c for c in codes if c[0] in "FSR" and len(c) == 3} == extra_codes


async def test_walk_resumes_after_the_bot_restarts(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    for _ in range(3):
        await school.staff.tap("无隐患")
    await school.staff.tap("有隐患")
    await school.staff.tap("无照片")
    await sim.restart()
    said = await school.staff.send("/inspect")
    assert "进行中 4/19" in texts(said)
    said = await school.staff.tap("继续排查")
    assert "请简要描述隐患" in said[-1].text  # the same question as before
    await school.staff.send("灭火器过期")
    said = await school.staff.tap("是")
    assert "5/19 · F05" in said[-1].text


async def test_an_update_received_but_not_applied_is_applied_after_restart(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    question = school.staff.last
    data = question.buttons[0][0][1]  # "no hazard" on F01
    # The update reaches the inbox, then the bot dies before handling it.
    from storage import inbox

    raw = {
        "update_id": sim.next_update_id(),
        "callback_query": {
            "id": "77",
            "from": school.staff.user,
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": question.message_id,
                "date": 0,
                "chat": {"id": school.staff.user_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "x"},
                "text": question.text,
            },
        },
    }
    await inbox.receive(sim.db, [raw])
    await sim.restart()  # start-up feeds it again
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1
    assert "2/19 · F02" in school.staff.last.text
    # Telegram delivers it once more (it was never confirmed): nothing changes.
    await sim.deliver(raw)
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1


async def test_the_same_update_twice_is_applied_once(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("有隐患")
    await school.staff.tap("无照片")
    before = len(school.staff.messages)
    raw = {
        "update_id": sim.next_update_id(),
        "message": {
            "message_id": next(sim.api._ids),  # after the question, as on Telegram
            "date": 0,
            "chat": {"id": school.staff.user_id, "type": "private"},
            "from": school.staff.user,
            "text": "描述一",
        },
    }
    await sim.deliver(raw)
    await sim.deliver(raw)
    assert await sim.db.value("SELECT description FROM hazards") == "描述一"
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM events WHERE action = 'hazard.updated' AND after LIKE '%描述一%'"
        )
        == 1
    )
    assert len(school.staff.messages) == before + 1  # answered once


async def test_a_stale_button_changes_nothing(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    first = school.staff.last
    hazard_button = first.buttons[0][1][1]
    await school.staff.tap("无隐患")
    answers = await sim.db.all("SELECT * FROM answers")
    # The old question's "hazard" button, tapped later (a phone still showing it).
    await school.staff.tap_data(hazard_button, first)
    assert school.staff.alerts[-1] == "这个问题已经回答过了。"
    assert [dict(r) for r in await sim.db.all("SELECT * FROM answers")] == [
        dict(r) for r in answers
    ]
    assert await sim.db.value("SELECT COUNT(*) FROM hazards") == 0


async def test_two_people_cannot_walk_one_building(sim: Simulator, clock) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("无隐患")
    said = await school.principal.send("/inspect")
    said = await school.principal.tap("教学楼A")
    assert "正由实验小学王老师排查中" in said[-1].text
    assert not said[-1].buttons
    clock.advance(minutes=31)
    said = await school.principal.tap("教学楼A")
    assert "31 分钟前" in said[-1].text
    said = await school.principal.tap("接手排查")
    assert "2/19 · F02" in said[-1].text
    walk = await sim.db.one("SELECT * FROM inspections")
    principal_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学张校长'")
    assert walk["walker_id"] == principal_id
    # The first walker's old button is refused.
    await school.staff.tap("无隐患")
    assert "已由他人接手排查" in school.staff.alerts[-1]
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1


async def test_pause_and_cancel_keep_the_walk(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("无隐患")
    said = await school.staff.tap("暂停")
    assert "排查已暂停" in said[-1].text
    said = await school.staff.send("/inspect")
    said = await school.staff.tap("继续排查")
    assert "2/19" in said[-1].text
    said = await school.staff.send("/cancel")
    assert "排查已暂停" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1


async def test_a_closed_building_cannot_be_walked_again(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    for _ in range(19):
        await school.staff.tap("无隐患")
    await school.staff.tap("否")
    await school.staff.tap("销号")
    await school.staff.send("/inspect")
    said = await school.staff.tap("教学楼A")
    assert "已于 11月28日 09:00 销号" in school.staff.alerts[-1]
    assert said == []


async def test_another_schools_building_by_crafted_callback(sim: Simulator) -> None:
    first = await make_school(sim)
    second = await make_school(
        sim,
        name="第二中学",
        buildings=(("主楼", "办公楼", "5", "2000"),),
        taskforce=first.taskforce,
    )
    other_building = await sim.db.value("SELECT id FROM buildings WHERE name = '主楼'")
    said = await first.staff.tap_data(f"b:{other_building}")
    assert first.staff.alerts[-1] == "您没有权限进行此操作。"
    assert said == []
    assert await sim.db.value("SELECT COUNT(*) FROM inspections") == 0
    # Their walk, answered by a crafted tap from another school: refused too.
    await second.staff.send("/inspect")
    await second.staff.tap("主楼")
    walk = await sim.db.value("SELECT id FROM inspections")
    item = await sim.db.value("SELECT id FROM checklist_items WHERE code = 'F01'")
    await first.staff.tap_data(f"a:{walk}:{item}:hz")
    assert first.staff.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 0
    await first.staff.tap_data("a:not-a-number:1:ok")
    assert first.staff.alerts[-1] == (
        "这个按钮的编号（not-a-number）无效，操作没有执行。请重新打开列表再点。"
    )


async def test_a_building_added_later_appears_in_the_list(sim: Simulator) -> None:
    school = await make_school(sim)
    await add_building(school.principal, "图书馆", "图书馆", "3", "2012")
    said = await school.staff.send("/inspect")
    assert "已销号 0/2 栋" in texts(said)
