"""Day one, typed dates: the parsed date is confirmed at once, in the question's place."""

from __future__ import annotations

from tests.conftest import jpeg, make_school
from tests.rectify_helpers import report, scene
from tests.simulator import Chat, Sent, Simulator, texts


async def _to_the_deadline(sim: Simulator) -> tuple[Chat, Sent]:
    school = await make_school(sim)
    chat = school.staff
    await chat.send("/inspect")
    await chat.tap("教学楼A")
    await chat.tap("有隐患")
    await chat.photo(jpeg())
    await chat.tap("照片已发完")
    await chat.send("疏散通道堆放杂物")
    said = await chat.tap("否")  # not fixable at once
    question = said[-1]
    assert "计划完成日期" in question.text and question.buttons
    return chat, question


async def test_a_typed_deadline_is_shown_under_its_question(sim: Simulator) -> None:
    chat, question = await _to_the_deadline(sim)
    said = await chat.send("12月20日")
    asked = sim.api.messages[(chat.user_id, question.message_id)]
    assert asked.text.endswith("→ 12月20日（周日）"), asked.text
    assert asked.buttons == []  # the day buttons go, as after a tap
    assert "具体责任人" in said[-1].text  # and the next question comes
    assert await sim.db.value("SELECT deadline FROM hazards") == "2026-12-20"
    assert await sim.db.value("SELECT COUNT(*) FROM open_questions") == 0


async def test_a_tapped_deadline_reads_the_same_way(sim: Simulator) -> None:
    chat, question = await _to_the_deadline(sim)
    await chat.tap("7 天内")
    asked = sim.api.messages[(chat.user_id, question.message_id)]
    assert asked.text.endswith("→ 12月5日（周六）"), asked.text


async def test_a_bad_typed_date_leaves_the_question_open(sim: Simulator) -> None:
    chat, question = await _to_the_deadline(sim)
    said = await chat.send("下个月")
    assert "没有看懂日期" in texts(said)
    asked = sim.api.messages[(chat.user_id, question.message_id)]
    assert asked.buttons and "→" not in asked.text
    assert await sim.db.value("SELECT deadline FROM hazards") is None
    await chat.send("2026-12-21")
    assert sim.api.messages[(chat.user_id, question.message_id)].text.endswith("→ 12月21日（周一）")


async def test_an_english_typed_deadline(sim: Simulator) -> None:
    school = await make_school(sim)
    chat = school.staff
    chat.user["language_code"] = "en"
    await chat.send("/inspect")
    await chat.tap("教学楼A")
    await chat.tap("Hazard")
    await chat.tap("No photo")
    await chat.send("Blocked exit")
    said = await chat.tap("No")
    question = said[-1]
    await chat.send("2026-12-20")
    assert sim.api.messages[(chat.user_id, question.message_id)].text.endswith("→ Sun 20 Dec")


async def test_a_typed_extension_date_is_confirmed(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙瓷砖松动")
    said = await s.staff.tap_data(f"r:ex:{hazard_id}")
    question = said[-1]
    said = await s.staff.send("12月20日")
    assert sim.api.messages[(s.staff.user_id, question.message_id)].text.endswith(
        "→ 12月20日（周日）"
    )
    assert "延期原因" in said[-1].text


async def test_a_typed_demolition_date_is_confirmed(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "外墙开裂")
    said = await s.principal.tap_data(f"r:uf:{hazard_id}")
    question = said[-1]
    await s.principal.send("2027-01-05")
    assert sim.api.messages[(s.principal.user_id, question.message_id)].text.endswith(
        "→ 2027年1月5日（周二）"
    )


async def test_an_old_question_is_not_edited_by_another_answer(sim: Simulator) -> None:
    chat, question = await _to_the_deadline(sim)
    await chat.tap("7 天内")  # answered by a tap: the typed-answer slot is stale now
    before = sim.api.messages[(chat.user_id, question.message_id)].text
    await chat.send("实验小学王老师")  # the responsible person, typed
    assert sim.api.messages[(chat.user_id, question.message_id)].text == before
