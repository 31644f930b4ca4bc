"""Joining with an invitation: valid, expired, used up, revoked."""

from __future__ import annotations

from ledger.roles import Role
from tests.conftest import cli_invitation, join, link_code, make_school
from tests.simulator import Simulator, texts


async def test_taskforce_joins_with_a_code_from_the_command_line(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("李四")
    said = await chat.send(f"/start {code}")
    assert "请发送您的姓名" in texts(said)
    said = await chat.send("李四")
    assert said[-1].reply_keyboard is not None  # the share-phone button
    assert said[-1].reply_keyboard[0][0]["request_contact"] is True
    said = await chat.contact("+86 138-0013-8000")
    assert "欢迎，李四" in texts(said)
    person = await sim.db.one("SELECT * FROM people WHERE tg_user_id = ?", (chat.user_id,))
    assert person["name"] == "李四" and person["phone"] == "+8613800138000"
    role = await sim.db.value("SELECT role FROM memberships WHERE person_id = ?", (person["id"],))
    assert role == "taskforce"
    assert await sim.db.value("SELECT uses FROM invitations WHERE code = ?", (code,)) == 1
    actions = [r["action"] for r in await sim.db.all("SELECT action FROM events ORDER BY id")]
    assert actions[-3:] == ["person.joined", "invitation.used", "membership.added"]


async def test_a_whole_school_is_set_up_through_the_chat(sim: Simulator) -> None:
    school = await make_school(sim)
    said = await school.staff.send("/whoami")
    assert "实验小学：教职工" in texts(said)
    building = await sim.db.one("SELECT * FROM buildings WHERE school_id = ?", (school.school_id,))
    assert (building["name"], building["use"], building["floors"], building["year_built"]) == (
        "教学楼A", "teaching", 4, 2005)
