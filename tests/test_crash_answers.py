"""A typed answer is tied to the question it answers, across a crash (issue 11, item 10).

The bot "dies" (a ``BaseException`` nothing catches, as a SIGKILL would stop it)
right after an answer is committed and before its reply goes out; the person,
who never saw the next question, types the same answer again. It must not be
stored as the answer to the next question: it is answered by showing that
question, and after a restart everyone whose question was lost is asked again.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import link_code, make_school
from tests.simulator import Chat, Simulator, texts

NOT_TAKEN = "这条消息没有记作下面这个问题的回答"
RESUMED = "小安刚刚重新启动"


class Crash(BaseException):
    """The process stops here: no handler, error handler or ``finally`` reply runs."""


def die_before(sim: Simulator, method: str) -> None:
    """The next call of ``method`` never leaves: the bot is killed just before it."""
    original = sim.api.do_request

    async def dying(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/" + method):
            sim.api.do_request = original  # type: ignore[method-assign]
            raise Crash()
        return await original(url, *args, **kwargs)

    sim.api.do_request = dying  # type: ignore[method-assign]


async def crash_after_answer(sim: Simulator, chat: Chat, text: str) -> None:
    """``text`` is typed and committed; the reply (the next question) is lost in a crash."""
    die_before(sim, "sendMessage")
    with pytest.raises(Crash):
        await chat.send(text)
    chat.new()


def typed_now(chat: Chat, text: str) -> dict[str, Any]:
    """A text typed now (while the bot is down): Telegram gives it its message id now."""
    return chat._message(text=text, entities=[])


async def deliver(sim: Simulator, chat: Chat, raw: dict[str, Any]) -> list[Any]:
    await sim.deliver(raw)
    return chat.new()


async def hazard(sim: Simulator) -> Any:
    return await sim.db.one("SELECT * FROM hazards ORDER BY id DESC LIMIT 1")


async def walk_to_deadline(chat: Chat) -> None:
    await chat.send("/inspect")
    await chat.tap("教学楼A")
    await chat.tap("有隐患")
    await chat.tap("无照片")
    await chat.send("配电箱线路老化")
    await chat.tap("否")
    chat.new()


async def test_a_retyped_deadline_does_not_become_the_responsible_person(sim):
    """The issue's case: the date typed again after the crash is not a name."""
    staff = (await make_school(sim)).staff
    await walk_to_deadline(staff)
    await crash_after_answer(sim, staff, "2027-05-20")
    retyped = typed_now(staff, "2027-05-20")  # the bot is down; the person types again

    await sim.restart()
    said = staff.new()
    assert RESUMED in texts(said)
    assert "具体责任人" in said[-1].text  # asked where they are, at start-up

    said = await deliver(sim, staff, retyped)
    assert NOT_TAKEN in texts(said)
    assert "具体责任人" in said[-1].text  # the question it was not taken for, shown
    stored = await hazard(sim)
    assert (stored["deadline"], stored["responsible_name"]) == ("2027-05-20", None)

    said = await staff.send("后勤处刘主任")
    assert "整改措施" in said[-1].text
    await staff.send("更换全部线路")
    await staff.tap("否")  # out of use
    await staff.tap("否")  # major
    stored = await hazard(sim)
    assert stored["state"] == "open"
    assert (stored["deadline"], stored["responsible_name"], stored["measures"]) == (
        "2027-05-20",
        "后勤处刘主任",
        "更换全部线路",
    )


async def test_retyped_funding_does_not_become_the_contingency_plan(sim):
    """The issue's second case: a major hazard's funding typed twice."""
    staff = (await make_school(sim)).staff
    await walk_to_deadline(staff)
    await staff.send("2027-05-20")
    await staff.send("后勤处刘主任")
    await staff.send("更换全部线路")
    await staff.tap("否")  # out of use
    await staff.tap("是")  # major
    staff.new()
    await crash_after_answer(sim, staff, "学校专项经费 5 万元")
    retyped = typed_now(staff, "学校专项经费 5 万元")
    await sim.restart()
    staff.new()

    said = await deliver(sim, staff, retyped)
    assert NOT_TAKEN in texts(said) and "应急预案" in said[-1].text
    said = await staff.send("停用并设置警戒线")
    assert "已登记" in texts(said)
    stored = await hazard(sim)
    assert (stored["funding"], stored["contingency_plan"]) == (
        "学校专项经费 5 万元",
        "停用并设置警戒线",
    )


async def test_a_text_typed_before_the_next_question_arrived_is_not_its_answer(sim):
    """No crash: two texts typed before the bot answered the first one (a slow reply).
    The second was typed for no question it could see: not taken, the question shown."""
    staff = (await make_school(sim)).staff
    await walk_to_deadline(staff)
    first, second = typed_now(staff, "2027-05-20"), typed_now(staff, "后勤处刘主任")
    said = await deliver(sim, staff, first)
    assert "具体责任人" in said[-1].text
    said = await deliver(sim, staff, second)
    assert NOT_TAKEN in texts(said) and "具体责任人" in said[-1].text
    assert (await hazard(sim))["responsible_name"] is None
    # The inbox's guarantee holds: the text was handled once, and is not fed again.
    done = "SELECT done_at FROM inbox WHERE update_id = ?"
    assert await sim.db.value(done, (second["update_id"],)) is not None
    await sim.restart()
    assert staff.new() == []
    await staff.send("后勤处刘主任")  # typed once the question is there: taken
    assert (await hazard(sim))["responsible_name"] == "后勤处刘主任"


async def test_without_a_restart_the_lost_question_is_shown_on_the_next_text(sim):
    """Even when the start-up question could not reach them, a re-typed answer is
    never taken for the next field: it brings the question instead."""
    staff = (await make_school(sim)).staff
    await walk_to_deadline(staff)
    await crash_after_answer(sim, staff, "2027-05-20")
    sim.api.fail("sendMessage", None, chat_id=staff.user_id)  # the start-up message fails
    await sim.restart()
    assert staff.new() == []
    said = await staff.send("2027-05-20")  # typed after the restart, no question on screen
    assert NOT_TAKEN in texts(said) and "具体责任人" in said[-1].text
    assert (await hazard(sim))["responsible_name"] is None


async def test_a_restart_leaves_people_whose_question_arrived_alone(sim):
    """Only a question that may not have arrived is asked again at start-up."""
    school = await make_school(sim)
    await walk_to_deadline(school.staff)
    await school.principal.send("/addbuilding")  # a form half filled, question on screen
    school.principal.new()
    await sim.restart()
    assert school.staff.new() == [] and school.principal.new() == []
    await school.staff.send("2027-05-20")  # the question on screen is still answered
    assert (await hazard(sim))["deadline"] == "2027-05-20"


async def test_a_tap_whose_next_question_was_lost_is_asked_again_at_start_up(sim):
    """A walk item answered by a tap, the next item lost in the crash: asked at start-up."""
    staff = (await make_school(sim)).staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    die_before(sim, "editMessageText")  # the tap's settle: nothing more reaches the chat
    with pytest.raises(Crash):
        await staff.tap("无隐患")
    staff.new()
    await sim.restart()
    said = staff.new()
    assert RESUMED in texts(said) and "【教学楼A】2/19 · F02" in said[-1].text


async def test_a_form_field_typed_again_is_not_the_next_field(sim):
    """/addbuilding: the floors typed again after a crash are not the year it was built."""
    school = await make_school(sim)
    principal = school.principal
    await principal.send("/addbuilding")
    await principal.send("图书馆")
    await principal.tap("图书馆")
    principal.new()
    await crash_after_answer(sim, principal, "3")
    retyped = typed_now(principal, "3")
    await sim.restart()
    principal.new()
    said = await deliver(sim, principal, retyped)
    assert NOT_TAKEN in texts(said)
    await principal.send("1990")
    building = await sim.db.one("SELECT * FROM buildings WHERE name = '图书馆'")
    assert (building["floors"], building["year_built"]) == (3, 1990)


async def test_joining_a_name_typed_again_is_not_taken_as_the_phone(sim):
    """Joining: the name typed again after a crash is not read as a phone number."""
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("10 人")
    code = link_code(made[-1].text)
    newcomer = sim.chat("赵老师")
    await newcomer.send(f"/start {code}")
    await crash_after_answer(sim, newcomer, "赵老师")
    retyped = typed_now(newcomer, "赵老师")
    await sim.restart()
    said = newcomer.new()
    assert RESUMED in texts(said) and "手机号" in said[-1].text
    said = await deliver(sim, newcomer, retyped)
    assert NOT_TAKEN in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM people WHERE name = '赵老师'") == 0
    await newcomer.send("13800138000")
    assert await sim.db.value("SELECT phone FROM people WHERE name = '赵老师'") == "13800138000"


async def test_in_english(sim):
    """An English client is told in English, at start-up and when a text is not taken."""
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("10 人")
    code = link_code(made[-1].text)
    newcomer = sim.chat("Lee", language="en")
    await newcomer.send(f"/start {code}")
    await crash_after_answer(sim, newcomer, "Lee")
    retyped = typed_now(newcomer, "Lee")
    await sim.restart()
    said = newcomer.new()
    assert "Xiaoan has just restarted" in texts(said)
    said = await deliver(sim, newcomer, retyped)
    assert "was not taken as the answer" in texts(said)
