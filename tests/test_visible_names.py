"""Names with ``<`` or ``&`` echoed back: every place shows them as typed, and the next
question still comes (the simulator refuses HTML Telegram would not parse, as Telegram does).

``小李<3`` unescaped is "Unclosed start tag" for Telegram; ``R&D ‹东> 楼`` unescaped is
accepted by Telegram but shows wrongly once escaped twice (``R&amp;D``).
"""

from __future__ import annotations

import pytest

from ledger.roles import Role
from tests.conftest import add_building, cli_invitation, join, jpeg, link_code
from tests.rectify_helpers import Scene, report, scene
from tests.simulator import Chat, Simulator, _Refused, texts

PERSON = "小李<3"
BUILDING = "R&D ‹东> 楼"


async def named_scene(sim: Simulator) -> tuple[Scene, Chat]:
    """A school whose only building is ``R&D ‹东> 楼`` and with a teacher ``小李<3``."""
    s = await scene(sim, buildings=((BUILDING, "教学楼", "3", "2005"),))
    await s.principal.send("/invite")
    await s.principal.tap("教职工")
    await s.principal.tap("7 天")
    made = await s.principal.tap("1 人")
    li = await join(sim, link_code(made[-1].text), PERSON)
    for chat in (s.principal, s.staff, s.leader, li):
        chat.new()
    return s, li


def test_the_simulator_refuses_what_telegram_refuses(sim: Simulator) -> None:
    with pytest.raises(_Refused, match="can't parse entities: Unclosed start tag"):
        sim.api.api_sendMessage({"chat_id": 1, "text": f"→ {PERSON}", "parse_mode": "HTML"})
    # Telegram takes a bare & and >: only a "<" always opens a tag.
    sim.api.api_sendMessage({"chat_id": 1, "text": f"→ {BUILDING}", "parse_mode": "HTML"})
    assert sim.api.messages[(1, max(m for _, m in sim.api.messages))].text == f"→ {BUILDING}"


async def test_a_person_named_with_a_less_than_sign_joins(sim: Simulator) -> None:
    s, li = await named_scene(sim)
    chat = sim.chat("另一位")
    await s.principal.send("/invite")
    await s.principal.tap("教职工")
    await s.principal.tap("7 天")
    made = await s.principal.tap("1 人")
    await chat.send(f"/start {link_code(made[-1].text)}")
    said = await chat.send("老王&<b>")
    assert said[-1].text.startswith("老王&<b>，请点击下方按钮共享手机号")
    said = await chat.contact("13800138001")
    assert "欢迎，老王&<b>！" in texts(said)
    said = await li.send("/whoami")
    assert said[-1].text.startswith(f"{PERSON}（13800138000）")
    assert await sim.db.value("SELECT COUNT(*) FROM people WHERE name = ?", ("老王&<b>",)) == 1


async def test_the_responsible_person_tapped(sim: Simulator) -> None:
    s, _ = await named_scene(sim)
    said = await s.staff.photo(jpeg())
    assert "这是哪栋建筑" in said[-1].text
    said = await s.staff.tap(BUILDING)
    which = next(m for m in s.staff.messages if "这是哪栋建筑" in m.text)
    assert which.text.endswith(f"→ {BUILDING}")  # the question, answered
    assert f"【{BUILDING}】" in said[-1].text  # the next question came
    await s.staff.tap("照片已发完")
    await s.staff.send("电线裸露")
    await s.staff.tap("否")
    await s.staff.tap("7 天内")
    said = await s.staff.tap(PERSON)
    question = next(m for m in s.staff.messages if "具体责任人" in m.text)
    assert question.text.endswith(f"→ {PERSON}")
    assert "整改措施" in said[-1].text  # the next question came
    await s.staff.send("更换线路")
    await s.staff.tap("否")
    said = await s.staff.tap("否")
    assert f"责任人{PERSON}）" in texts(said)
    assert await sim.db.value("SELECT responsible_name FROM hazards") == PERSON
    assert await sim.db.value("SELECT name FROM buildings") == BUILDING


async def test_the_responsible_person_typed(sim: Simulator) -> None:
    s, _ = await named_scene(sim)
    hazard_id = await report(
        s.staff, "电线裸露", responsible="外包队<老周>&子", typed=True, building=BUILDING
    )
    recorded = next(m for m in s.staff.messages if "已登记" in m.text)
    assert "责任人外包队<老周>&子）" in recorded.text  # escaped once, not twice
    said = await s.staff.send(f"/hazard {hazard_id}")
    assert "责任人：外包队<老周>&子" in said[-1].text
    assert f"#{hazard_id}【{BUILDING}】电线裸露" in said[-1].text
    said = await s.leader.send("/tasks")
    assert f"#{hazard_id}【{BUILDING}】电线裸露" in said[-1].text
    assert await sim.db.value("SELECT responsible_name FROM hazards") == "外包队<老周>&子"


async def test_the_responsible_person_changed(sim: Simulator) -> None:
    s, li = await named_scene(sim)
    hazard_id = await report(s.staff, "电线裸露", building=BUILDING)
    await s.leader.tap_data(f"r:ra:{hazard_id}")
    said = await s.leader.tap(PERSON)
    picked = next(m for m in s.leader.messages if "请选择新的责任人" in m.text)
    assert picked.text.endswith(f"→ {PERSON}")
    assert said[-1].text == f"隐患 #{hazard_id} 的责任人已改为{PERSON}，已通知新旧责任人。"
    assert f"#{hazard_id}【{BUILDING}】电线裸露" in texts(li.new())
    assert f"已将以下隐患的责任人改为{PERSON}" in texts(s.staff.new())
    assert await sim.db.value("SELECT responsible_name FROM hazards") == PERSON


async def test_the_building_through_a_walk(sim: Simulator) -> None:
    s, li = await named_scene(sim)
    said = await s.staff.send("/inspect")
    assert any(BUILDING in label for row in said[-1].buttons for label, _ in row)
    said = await s.staff.tap(BUILDING)
    assert said[-1].text.startswith(f"【{BUILDING}】1/19")
    said = await li.send("/inspect")
    said = await li.tap(BUILDING)
    assert said[-1].text.startswith(f"【{BUILDING}】正由实验小学王老师排查中")
    for _ in range(19):
        said = await s.staff.tap("无隐患")
    said = await s.staff.tap("否")  # no other hazard
    assert said[-1].text.startswith(f"【{BUILDING}】排查小结")
    said = await s.staff.tap("🔒 销号")
    assert f"🔒【{BUILDING}】已销号。" in texts(said)
    building_id = await sim.db.value("SELECT id FROM buildings WHERE name = ?", (BUILDING,))
    await li.tap_data(f"b:{building_id}")
    assert li.alerts[-1].startswith(f"【{BUILDING}】已于 ")  # an alert is plain text
    assert await sim.db.value("SELECT closed_at IS NOT NULL FROM inspections") == 1


async def test_a_building_added_and_imported_names(sim: Simulator) -> None:
    s, _ = await named_scene(sim)
    await add_building(s.principal, "A&B <楼>", "宿舍", "2", "2010")
    assert s.principal.last.text == "✅ 已添加建筑：A&B <楼>（宿舍，2 层，2010 年建成）"
    await s.principal.send("/addbuilding")
    said = await s.principal.send(BUILDING)  # the name is taken: said when the form is full
    await s.principal.tap("宿舍")
    await s.principal.send("2")
    said = await s.principal.send("2010")
    assert f"“{BUILDING}”已存在，请换一个名称。" in texts(said)


async def test_a_school_named_with_an_ampersand(sim: Simulator) -> None:
    taskforce = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "市专班李")
    school = "R&D <实验> 学校"
    await taskforce.send("/addschool")
    await taskforce.send(school)
    await taskforce.tap("小学")
    await taskforce.tap("公办")
    done = await taskforce.send("城关镇")
    assert done[-1].text.startswith(f"✅ 已登记学校：{school}")
    principal = sim.chat("张校长")
    said = await principal.send(f"/start {link_code(done[-1].text)}")
    assert f"身份加入{school}。" in said[-1].text
    await principal.send("张校长")
    await principal.contact("13800138009")
    said = await principal.send("/export")
    assert said[0].kind == "document"
    assert said[0].caption.startswith(f"{school}排查情况汇总表")
    assert f"<b>{school}</b>" not in said[-1].text and school in said[-1].text
    assert await sim.db.value("SELECT name FROM schools") == school
