"""Told at once of a new hazard: the person named responsible, and the principal when
it is major.

Before, the person named heard first from a reminder three days before the
deadline, and the principal never heard of a new major hazard. The notices are
written to the outbox in the transaction that opens the hazard, then sent.
"""

from __future__ import annotations

from tests.conftest import join, jpeg, link_code
from tests.rectify_helpers import Scene, report, scene
from tests.simulator import Chat, Simulator, texts

LEADER = "实验小学刘主任"
PRINCIPAL = "实验小学张校长"
STAFF = "实验小学王老师"


async def person_id(sim: Simulator, name: str) -> int:
    return int(await sim.db.value("SELECT id FROM people WHERE name = ?", (name,)))


async def report_major(chat: Chat, description: str, responsible: str) -> list[str]:
    """A quick report of a major hazard, not fixable at once, due 2027-05-20; what the
    reporter saw after the last answer."""
    said = await chat.photo(jpeg(color="red"))
    if "这是哪栋建筑" in said[-1].text:
        await chat.tap("教学楼A")
    await chat.tap("照片已发完")
    await chat.send(description)
    await chat.tap("否")  # not fixable at once
    await chat.send("2027-05-20")
    await chat.tap(responsible)
    await chat.send("更换全部线路")
    await chat.tap("是")  # out of use
    await chat.tap("是")  # major
    await chat.send("学校专项经费 5 万元")
    said = await chat.send("停用并设置警戒线")
    return [m.text for m in said]


async def quiet(s: Scene) -> None:
    for chat in (s.staff, s.leader, s.principal, s.taskforce):
        chat.new()


async def test_the_person_named_is_told_at_once_through_the_outbox(sim: Simulator) -> None:
    s = await scene(sim)
    sim.auto_send = False  # to see the outbox row before it is sent
    hazard_id = await report(s.staff, "疏散指示灯损坏", responsible=LEADER)
    leader_id = await person_id(sim, LEADER)
    row = await sim.db.one("SELECT * FROM outbox WHERE kind = 'hazard_named'")
    assert (row["person_id"], row["key"], row["state"]) == (
        leader_id,
        f"named:{hazard_id}:{leader_id}",
        "pending",
    )
    assert s.leader.new() == []  # not sent yet
    assert await sim.send_outbox() >= 1
    (told,) = s.leader.new()
    assert told.text == (
        f"👤 {STAFF} 登记了一处隐患，指定您为责任人，完成期限 2026-12-05：\n"
        f"#{hazard_id}【教学楼A】疏散指示灯损坏\n发送 /tasks 查看您的整改任务。"
    )
    assert told.buttons == [[("查看详情", f"hc:{hazard_id}")]]
    assert await sim.db.value("SELECT state FROM outbox WHERE id = ?", (row["id"],)) == "sent"
    # The notice was stored with the hazard's opening, not after it.
    opened = await sim.db.value(
        "SELECT at FROM events WHERE action = 'hazard.opened' AND subject_id = ?", (hazard_id,)
    )
    assert row["created_at"] == opened
    # Nobody else hears of an ordinary hazard.
    assert s.principal.new() == [] and s.taskforce.new() == [] and s.staff.new() == []


async def test_nobody_is_told_what_they_did_themselves(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "疏散指示灯损坏")  # the staff member names himself
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'hazard_%'") == 0
    assert s.leader.new() == [] and s.principal.new() == []


async def test_a_typed_name_has_nobody_to_tell(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "疏散指示灯损坏", responsible="后勤老李", typed=True)
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'hazard_%'") == 0


async def test_the_principal_is_told_of_a_major_hazard(sim: Simulator) -> None:
    s = await scene(sim)
    await quiet(s)
    seen = await report_major(s.staff, "配电箱线路老化", responsible=STAFF)
    hazard_id = await sim.db.value("SELECT MAX(id) FROM hazards")
    assert any("已登记" in text for text in seen)
    assert not any("重大隐患" in text and "上报人" in text for text in seen)
    (told,) = s.principal.new()
    assert told.text.startswith(f"⚠️ 重大隐患 实验小学\n#{hazard_id}【教学楼A】配电箱线路老化")
    assert f"上报人：{STAFF} · 责任人：{STAFF} · 完成期限 2027-05-20" in told.text
    assert "建筑已停用" in told.text
    assert told.buttons == [[("查看详情", f"hc:{hazard_id}")]]
    principal_id = await person_id(sim, PRINCIPAL)
    rows = await sim.db.all("SELECT person_id, key FROM outbox WHERE kind = 'hazard_major'")
    assert [(r["person_id"], r["key"]) for r in rows] == [
        (principal_id, f"major:{hazard_id}:{principal_id}")
    ]
    assert s.leader.new() == []  # a leader not named hears nothing


async def test_the_principal_reporting_a_major_hazard_is_not_told_of_it(sim: Simulator) -> None:
    s = await scene(sim)
    await quiet(s)
    await report_major(s.principal, "配电箱线路老化", responsible=LEADER)
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE kind = 'hazard_major'") == 0
    told = texts(s.leader.new())  # named, and told it is major, in one message
    assert f"{PRINCIPAL} 登记了一处隐患，指定您为责任人，完成期限 2027-05-20" in told
    assert "这是一处重大隐患" in told and "建筑已停用" in told


async def test_a_principal_named_for_a_major_hazard_gets_one_message(sim: Simulator) -> None:
    s = await scene(sim)
    await quiet(s)
    await report_major(s.staff, "配电箱线路老化", responsible=PRINCIPAL)
    (told,) = s.principal.new()
    assert "指定您为责任人" in told.text and "这是一处重大隐患" in told.text
    assert "只有您一位校领导" not in told.text  # the school has a leader to verify


async def test_found_on_a_walk_too(sim: Simulator) -> None:
    s = await scene(sim)
    await quiet(s)
    await s.staff.send("/inspect")
    await s.staff.tap("教学楼A")
    await s.staff.tap("有隐患")
    await s.staff.tap("无照片")
    await s.staff.send("楼梯口堆放杂物")
    await s.staff.tap("否")
    await s.staff.tap("30 天内")
    await s.staff.tap(LEADER)
    await s.staff.send("清理")
    await s.staff.tap("否")
    said = await s.staff.tap("否")
    assert "【教学楼A】2/19 · F02" in said[-1].text  # the walk goes on
    (told,) = s.leader.new()
    assert "指定您为责任人，完成期限 2026-12-28" in told.text and "楼梯口堆放杂物" in told.text


async def test_in_the_recipients_language(sim: Simulator) -> None:
    s = await scene(sim)
    await s.principal.send("/invite")
    await s.principal.tap("教职工")
    await s.principal.tap("7 天")
    made = await s.principal.tap("1 人")
    english = await join(sim, link_code(made[-1].text), "Ann", language="en-US")
    hazard_id = await report(s.staff, "疏散指示灯损坏", responsible="Ann")
    (told,) = english.new()
    assert told.text.startswith(
        f"👤 {STAFF} recorded a hazard and made you responsible for it, due 2026-12-05:\n"
        f"#{hazard_id} [教学楼A] 疏散指示灯损坏"
    )
