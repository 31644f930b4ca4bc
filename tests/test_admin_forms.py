"""The admin forms' state is typed (issue 12, item 1): each form is a frozen dataclass of
typed fields, None until given, stored as the person's pending input and read back; a form
left half filled in by a version before typed forms (its values a plain dict, a tapped
choice kept as its text) is still taken up where it stood."""

from __future__ import annotations

import json

import pytest

from handlers.admin import BuildingForm, InviteForm, SchoolForm
from handlers.journeys import load
from ledger.roles import Role
from storage import people
from tests.conftest import cli_invitation, join, link_code, make_school
from tests.simulator import Chat, Simulator, texts


async def _pending(sim: Simulator, chat: Chat) -> tuple[str, dict[str, object]] | None:
    return await people.pending(sim.db, chat.user_id)


async def _left_by_old_version(
    sim: Simulator, chat: Chat, kind: str, data: dict[str, object]
) -> None:
    """A pending form written as the version before typed forms wrote it."""
    async with sim.db.write() as tx:
        await people.set_pending(tx, chat.user_id, kind, data)


def test_each_form_full_is_stored_and_read_back_typed() -> None:
    forms = [
        SchoolForm("二中", "middle", "public", "南黄镇"),
        BuildingForm(3, "教学楼B", "teaching", 5, 1996),
        InviteForm(3, Role.LEADER, 30, 10),
        InviteForm(None, Role.TASKFORCE, 7, 1),
    ]
    for form in forms:
        stored = json.loads(json.dumps(form.stored()))  # as the database keeps it
        assert load(form.kind, stored) == form
    invite = load("form:invite", {"school": 3, "role": "leader", "days": 30, "uses": 10})
    assert isinstance(invite, InviteForm)
    assert (invite.role, invite.days, invite.uses) == (Role.LEADER, 30, 10)
    assert isinstance(invite.role, Role) and isinstance(invite.days, int)
    # The school's kind is stored under the name it always had (a journey's ``kind`` is taken).
    assert SchoolForm(school_kind="middle").stored() == {"kind": "middle"}


async def test_the_building_form_is_stored_typed_as_it_is_filled_in(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    principal = school.principal
    await principal.send("/addbuilding")
    await principal.send("实验楼")
    await principal.tap("实验室")
    await principal.send("3")
    assert await _pending(sim, principal) == (
        "form:building",
        {"school": school.school_id, "name": "实验楼", "use": "laboratory", "floors": 3},
    )
    said = await principal.send("1990")
    assert "实验楼" in said[-1].text
    assert await _pending(sim, principal) is None
    row = await sim.db.one(
        "SELECT name, use, floors, year_built FROM buildings WHERE school_id = ?",
        (school.school_id,),
    )
    assert tuple(row) == ("实验楼", "laboratory", 3, 1990)


async def test_an_invitation_form_left_in_the_old_shape_is_finished(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    principal = school.principal
    # Role and days tapped before typed forms: kept as their texts.
    await _left_by_old_version(
        sim, principal, "form:invite", {"school": school.school_id, "role": "leader", "days": "30"}
    )
    said = await principal.send("随便")  # a text where a tap is expected: asked again
    assert "人" in texts(said)  # the question waiting: how many uses
    made = await principal.tap("10 人")
    code = link_code(made[-1].text)
    row = await sim.db.one(
        "SELECT role, school_id, max_uses,"
        " CAST(julianday(expires_at) - julianday(created_at) AS INTEGER) FROM invitations"
        " WHERE code = ?",
        (code,),
    )
    assert tuple(row) == ("leader", school.school_id, 10, 30)
    assert "分管领导" in made[-1].text and "30" in made[-1].text
    assert await _pending(sim, principal) is None


async def test_a_school_form_left_in_the_old_shape_is_finished(sim: Simulator) -> None:
    taskforce = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "市专班李")
    await _left_by_old_version(sim, taskforce, "form:school", {"name": "二中", "kind": "middle"})
    said = await taskforce.send("随便")  # a text where a tap is expected: asked again
    assert "公办" in [label for m in said for row in m.buttons for label, _ in row]
    await taskforce.tap("民办")
    done = await taskforce.send("南黄镇")
    assert "二中" in done[-1].text and "start=" in done[-1].text
    row = await sim.db.one("SELECT name, kind, ownership, district FROM schools")
    assert tuple(row) == ("二中", "middle", "private", "南黄镇")


async def test_a_building_form_left_in_the_old_shape_is_finished(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    principal = school.principal
    await _left_by_old_version(
        sim,
        principal,
        "form:building",
        {"school": school.school_id, "name": "老楼", "use": "dormitory", "floors": 6},
    )
    # A text that answers no question on screen is answered with the question waiting.
    said = await principal.send("1985")
    assert said[-1].text.startswith("建成年份")
    said = await principal.send("1985")
    assert "老楼" in said[-1].text
    row = await sim.db.one("SELECT name, use, floors, year_built FROM buildings")
    assert tuple(row) == ("老楼", "dormitory", 6, 1985)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("form:invite", {"school": 1, "days": "a week"}),  # a value that is no number
        ("form:invite", {"school": 1, "role": "janitor"}),  # a role that does not exist
        ("form:building", {"name": "楼"}),  # the school missing
    ],
)
async def test_an_unreadable_old_form_is_forgotten_and_said(
    sim: Simulator, kind: str, data: dict[str, object]
) -> None:
    school = await make_school(sim, buildings=())
    principal = school.principal
    before = await sim.db.value("SELECT COUNT(*) FROM invitations")
    await _left_by_old_version(sim, principal, kind, data)
    said = await principal.send("二号楼")
    assert "之前的输入已失效" in texts(said)
    assert await _pending(sim, principal) is None
    assert await sim.db.value("SELECT COUNT(*) FROM invitations") == before
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 0
    assert sim.errors == []


async def test_a_taken_name_keeps_the_rest_of_the_typed_form(sim: Simulator) -> None:
    school = await make_school(sim)  # has 教学楼A
    principal = school.principal
    await principal.send("/addbuilding")
    await principal.send("教学楼A")
    await principal.tap("教学楼")
    await principal.send("4")
    said = await principal.send("2005")
    assert "教学楼A" in said[0].text  # the name is taken: said, and asked again
    assert await _pending(sim, principal) == (
        "form:building",
        {"school": school.school_id, "use": "teaching", "floors": 4, "year": 2005},
    )
    done = await principal.send("教学楼B")
    assert "教学楼B" in done[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings WHERE name = '教学楼B'") == 1
