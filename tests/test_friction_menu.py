"""Day one, reaching commands: a menu per person by role, buttons to walk, /help once each."""

from __future__ import annotations

from handlers import menu
from ledger.menu import menu_for
from ledger.roles import Role
from tests.conftest import cli_invitation, join, link_code, make_school, seed_person
from tests.simulator import Simulator, texts

STAFF = ["inspect", "tasks", "progress", "reminders", "whoami", "cancel", "help"]
PRINCIPAL = [
    "inspect",
    "tasks",
    "progress",
    "export",
    "reminders",
    "addbuilding",
    "invite",
    "invitations",
    "whoami",
    "cancel",
    "help",
]
TASKFORCE = [
    "progress",
    "export",
    "reminders",
    "invite",
    "invitations",
    "addschool",
    "draw",
    "visits",
    "whoami",
    "cancel",
    "help",
]


def test_commands_by_role() -> None:
    assert menu_for(()) == ("start", "help")
    assert list(menu_for({Role.STAFF})) == STAFF
    assert list(menu_for({Role.LEADER})) == PRINCIPAL
    assert list(menu_for({Role.TASKFORCE})) == TASKFORCE
    assert list(menu_for({Role.SUPERVISOR})) == [
        "progress",
        "reminders",
        "supervise",
        "draw",
        "visits",
        "whoami",
        "cancel",
        "help",
    ]


async def test_each_person_sees_the_menu_of_their_roles(sim: Simulator) -> None:
    stranger = sim.chat()
    assert stranger.menu() == ["start", "help"]
    school = await make_school(sim)
    assert school.staff.menu() == STAFF
    assert school.principal.menu() == PRINCIPAL
    assert school.taskforce.menu() == TASKFORCE
    assert stranger.menu() == ["start", "help"]  # the default menu is unchanged
    # The menus are set for each chat, and recorded.
    staff_id = await sim.db.value(
        "SELECT id FROM people WHERE tg_user_id = ?", (school.staff.user_id,)
    )
    recorded = await sim.db.value(
        "SELECT digest FROM command_menus WHERE person_id = ?", (staff_id,)
    )
    assert recorded == menu.digest("zh", {Role.STAFF})


async def test_an_english_member_gets_an_english_menu(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = await join(sim, code, "Ann", language="en-US")
    assert chat.menu() == TASKFORCE
    scoped = sim.api.commands[(f"chat:{chat.user_id}", "")]
    assert any(c["description"] == "Register a school (task force)" for c in scoped), scoped


async def test_a_new_role_updates_the_menu(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    said = await school.staff.send(f"/start {link_code(made[-1].text)}")
    assert "已加入" in texts(said)
    assert school.staff.menu() == PRINCIPAL


async def test_the_menus_are_set_again_at_start_only_when_changed(sim: Simulator) -> None:
    school = await make_school(sim)
    calls = len([c for c, _ in sim.api.calls if c == "setMyCommands"])
    assert await menu.sync_all(sim.app.bot, sim.db, pause=0) == 0  # nothing changed
    assert len([c for c, _ in sim.api.calls if c == "setMyCommands"]) == calls
    # A menu never recorded (people who joined before menus by role): set at the next start.
    del sim.api.commands[(f"chat:{school.staff.user_id}", "")]
    async with sim.db.write() as tx:
        await tx.run(
            "DELETE FROM command_menus WHERE person_id ="
            " (SELECT id FROM people WHERE tg_user_id = ?)",
            (school.staff.user_id,),
        )
    assert school.staff.menu() == ["start", "help"]
    assert await menu.sync_all(sim.app.bot, sim.db, pause=0) == 1
    assert school.staff.menu() == STAFF


async def test_a_refused_menu_does_not_stop_joining(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("李四")
    await chat.send(f"/start {code}")
    await chat.send("李四")
    sim.api.fail("setMyCommands", 400, "Bad Request: chat not found")
    said = await chat.contact("13800138000")
    assert "欢迎，李四" in texts(said)
    assert chat.menu() == ["start", "help"]
    assert await sim.db.value("SELECT COUNT(*) FROM command_menus") == 0
    assert await menu.sync_all(sim.app.bot, sim.db, pause=0) == 1
    assert chat.menu() == TASKFORCE


async def test_after_joining_a_button_starts_the_walk(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    teacher = await join(sim, link_code(made[-1].text), "赵老师")
    assert "🚶 开始排查" in texts(teacher.messages[-1:])
    said = await teacher.tap("开始排查")
    assert "请选择要排查的建筑" in texts(said)
    said = await teacher.tap("教学楼A")
    assert "1/19 · F01" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM inspections") == 1


async def test_the_task_force_gets_no_walk_button(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = await join(sim, code, "李四")
    assert not chat.messages[-1].buttons
    help_sent = [p for c, p in sim.api.calls if c == "sendMessage" and "/addschool" in p["text"]]
    assert "reply_markup" not in help_sent[-1]  # no keyboard at all, not an empty one


async def test_after_a_pause_a_button_goes_on_walking(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("无隐患")
    said = await school.staff.tap("暂停")
    assert "排查已暂停" in said[-1].text
    assert said[-1].buttons[0][0][0] == "▶ 继续排查：教学楼A"
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs WHERE kind = 'walk'") == 0
    said = await school.staff.tap("继续排查")
    assert "2/19 · F02" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs WHERE kind = 'walk'") == 1


async def test_after_cancelling_a_walk_a_button_goes_on_walking(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    said = await school.staff.send("/cancel")
    assert said[-1].buttons[0][0][0] == "▶ 继续排查：教学楼A"
    said = await school.staff.tap("继续排查")
    assert "1/19 · F01" in said[-1].text


async def test_help_lists_each_command_once(sim: Simulator) -> None:
    school = await make_school(sim)
    for chat in (school.principal, school.staff, school.taskforce):
        said = await chat.send("/help")
        commands = [line.split()[0] for line in said[-1].text.splitlines() if line.startswith("/")]
        assert len(commands) == len(set(commands)), commands
    said = await school.principal.send("/help")
    assert "/reminders" in said[-1].text and "定期排查" in said[-1].text
    assert "待验收" in said[-1].text


async def test_a_task_force_member_who_becomes_principal_sees_both_once(sim: Simulator) -> None:
    school = await make_school(sim)
    code = await cli_invitation(sim, Role.PRINCIPAL, school.school_id)
    said = await school.taskforce.send(f"/start {code}")
    assert "已加入" in texts(said)
    assert school.taskforce.menu() == [
        "inspect",
        "tasks",
        "progress",
        "export",
        "reminders",
        "addbuilding",
        "invite",
        "invitations",
        "addschool",
        "draw",
        "visits",
        "whoami",
        "cancel",
        "help",
    ]
    said = await school.taskforce.send("/help")
    commands = [line.split()[0] for line in said[-1].text.splitlines() if line.startswith("/")]
    assert len(commands) == len(set(commands)), commands
    assert {"/invite", "/invitations", "/export", "/addschool", "/addbuilding"} <= set(commands)


async def test_a_person_who_blocked_the_bot_is_left_alone_at_start(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.set_blocked(True)
    async with sim.db.write() as tx:
        await tx.run("DELETE FROM command_menus")
    calls = [c for c, p in sim.api.calls if c == "setMyCommands"]
    assert await menu.sync_all(sim.app.bot, sim.db, pause=0) == 2  # the two others
    scopes = [p.get("scope", "") for c, p in sim.api.calls if c == "setMyCommands"][len(calls) :]
    assert not any(str(school.staff.user_id) in str(scope) for scope in scopes)


async def test_a_chat_telegram_does_not_know_gets_no_menu(sim: Simulator) -> None:
    # A person on record who never wrote to the bot: Telegram has no such chat.

    person_id = await seed_person(sim.db, "未登录的人", None, Role.SUPERVISOR)
    assert await menu.sync_all(sim.app.bot, sim.db, pause=0) == 0
    assert (
        await sim.db.value("SELECT COUNT(*) FROM command_menus WHERE person_id = ?", (person_id,))
        == 0
    )
