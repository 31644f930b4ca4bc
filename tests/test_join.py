"""Joining with an invitation: valid, expired, used up, revoked."""

from __future__ import annotations

import pytest

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
        "教学楼A",
        "teaching",
        4,
        2005,
    )


async def test_an_expired_code_is_refused(sim: Simulator, clock) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE, days=1)
    clock.advance(days=1, seconds=1)
    chat = sim.chat()
    said = await chat.send(f"/start {code}")
    assert said[-1].text == "邀请码已过期，请向负责人索取新的邀请。"
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0


async def test_a_used_up_code_is_refused(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE, uses=1)
    await join(sim, code, "第一人")
    second = sim.chat("第二人")
    said = await second.send(f"/start {code}")
    assert "已达使用人数上限" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 1


async def test_a_revoked_code_is_refused(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("30 天")
    made = await school.principal.tap("1 人")
    code = link_code(made[-1].text)
    said = await school.principal.send("/invitations")
    assert code in texts(said)
    said = await school.principal.tap(f"撤销 {code}")
    assert "已撤销" in school.principal.last.text
    revoked = await sim.db.one("SELECT * FROM invitations WHERE code = ?", (code,))
    assert revoked["revoked_at"] is not None
    said = await sim.chat("新人").send(f"/start {code}")
    assert "邀请码已被撤销" in said[-1].text
    # Staff cannot revoke, not even by a crafted tap.
    other = await sim.db.value(
        "SELECT id FROM invitations WHERE revoked_at IS NULL AND role = 'staff'"
    )
    await school.staff.tap_data(f"rv:{other}")
    assert school.staff.alerts[-1] == "您没有权限进行此操作。"


async def test_an_unknown_code(sim: Simulator) -> None:
    said = await sim.chat().send("/start nosuchcode")
    assert "邀请码无效" in said[-1].text


async def test_a_code_that_expires_while_typing(sim: Simulator, clock) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE, days=1)
    chat = sim.chat()
    await chat.send(f"/start {code}")
    await chat.send("慢慢")
    clock.advance(days=2)
    said = await chat.contact("13800138000")
    assert "邀请码已过期" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0


@pytest.mark.parametrize("phone", ["abc", "123", "1380013800012345678"])
async def test_a_bad_phone_is_asked_again(sim: Simulator, phone: str) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat()
    await chat.send(f"/start {code}")
    await chat.send("李四")
    said = await chat.send(phone)
    assert "手机号格式不对" in said[-1].text
    said = await chat.send("13800138000")
    assert "欢迎，李四" in texts(said)


async def test_someone_elses_contact_is_refused(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat()
    await chat.send(f"/start {code}")
    await chat.send("李四")
    said = await chat.contact("13800138000", own=False)
    assert "请共享您本人的手机号" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0


async def test_nobody_sees_anything_without_joining(sim: Simulator) -> None:
    stranger = sim.chat()
    for command in ("/inspect", "/whoami", "/addbuilding", "/invite", "/invitations"):
        said = await stranger.send(command)
        assert "您还没有加入" in said[-1].text
    said = await stranger.send("/start")
    assert "需要邀请码" in said[-1].text
    said = await stranger.send("/help")
    assert "需要邀请码" in said[-1].text


async def test_the_default_menu_is_a_strangers_in_both_languages(sim: Simulator) -> None:
    zh = sim.api.commands[("default", "")]
    en = sim.api.commands[("default", "en")]
    assert [c["command"] for c in zh] == [c["command"] for c in en] == ["start", "help"]
    assert any(c["description"] == "加入（使用邀请码）" for c in zh)


async def test_help_depends_on_the_role(sim: Simulator) -> None:
    school = await make_school(sim)
    staff_help = texts(await school.staff.send("/help"))
    principal_help = texts(await school.principal.send("/help"))
    taskforce_help = texts(await school.taskforce.send("/help"))
    assert "/inspect" in staff_help and "/addbuilding" not in staff_help
    assert "/addbuilding" in principal_help
    assert "/addschool" in taskforce_help and "/inspect" not in taskforce_help


async def test_a_member_joins_a_second_role_without_typing_again(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("1 天")
    made = await school.principal.tap("1 人")
    said = await school.staff.send(f"/start {link_code(made[-1].text)}")
    assert "已加入：实验小学 · 分管领导" in said[-1].text
    said = await school.staff.send("/whoami")
    assert "实验小学：分管领导" in said[-1].text and "实验小学：教职工" in said[-1].text
