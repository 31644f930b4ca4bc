"""Lists that grow without bound are shown in pages within Telegram's keyboard limits
(issue 12, 4a): TDLib drops buttons past 12 a row and 300 a keyboard without a word, so
with 301 entries and one keyboard, the 301st could never be chosen. With pages, every
entry is reachable through the typed "more" buttons, and "back" goes back."""

from __future__ import annotations

from handlers.admin import InvitationsPage, Revoke
from handlers.buttons import unpack
from handlers.draw import DistrictPage, DrawDistrict
from handlers.hazard import HazardAnswer, HazardChoices
from handlers.inspect import BuildingsPage, OpenBuilding
from handlers.rectify import ReassignPage, ReassignTo
from handlers.reports import Export, SchoolsPage
from handlers.supervise import AddMissed, EndVisit, VisitPage, WalkBuilding
from ledger.hazards import Step
from ledger.roles import Role
from storage import campus, people
from telegram_rules.request import ALL_BUTTONS, ROW_BUTTONS
from tests.conftest import jpeg, make_school, seed_person
from tests.rectify_helpers import report, scene
from tests.simulator import Chat, Sent, Simulator
from tests.supervision_helpers import start_visit, world

MANY = 301


def within_limits(message: Sent) -> None:
    assert all(len(row) <= ROW_BUTTONS for row in message.buttons)
    assert sum(map(len, message.buttons)) <= ALL_BUTTONS


async def page_through(chat: Chat, turn: type) -> tuple[list[object], int]:
    """Every button of every page, "more" tapped until there is none; how many pages."""
    found: list[object] = []
    pages = 0
    while True:
        message = chat.last
        within_limits(message)
        pages += 1
        taps = [unpack(data) for row in message.buttons for _, data in row]
        found += [t for t in taps if not isinstance(t, turn)]
        more = [t for t in taps if isinstance(t, turn) and t.page == pages + 1]  # type: ignore[attr-defined]
        if not more:
            return found, pages
        said = await chat.tap_data(more[0].pack(), message)
        assert said == [] or said[-1].message_id == message.message_id  # edited in place


async def test_every_one_of_301_invitations_can_be_revoked(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    principal_id = await sim.db.value(
        "SELECT id FROM people WHERE tg_user_id = ?", (school.principal.user_id,)
    )
    async with sim.db.write() as tx:
        for _ in range(MANY):
            await people.create_invitation(
                tx,
                role=Role.STAFF,
                school_id=school.school_id,
                created_by=principal_id,
                days=7,
                max_uses=1,
            )
    usable = {
        r["id"]
        for r in await sim.db.all(
            "SELECT id FROM invitations WHERE revoked_at IS NULL AND uses < max_uses"
        )
    }
    assert len(usable) >= MANY
    said = await school.principal.send("/invitations")
    assert "第 1/" in said[-1].text
    found, pages = await page_through(school.principal, InvitationsPage)
    revokes = [t for t in found if isinstance(t, Revoke)]
    assert {t.invitation_id for t in revokes} == usable
    assert len(revokes) == len(usable) and pages > 1
    assert f"第 {pages}/{pages} 页" in school.principal.last.text
    # The last one on the last page is revoked by its own button.
    last = revokes[-1]
    code = await sim.db.value("SELECT code FROM invitations WHERE id = ?", (last.invitation_id,))
    said = await school.principal.tap(code)
    assert await sim.db.value(
        "SELECT revoked_at IS NOT NULL FROM invitations WHERE id = ?", (last.invitation_id,)
    )
    # "Back" shows the page before.
    await school.principal.send("/invitations")
    await school.principal.tap("下一页")
    assert "第 2/" in school.principal.last.text
    await school.principal.tap("上一页")
    assert "第 1/" in school.principal.last.text


async def test_every_one_of_301_schools_has_its_export_menu(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    async with sim.db.write() as tx:
        for n in range(MANY):
            await campus.create_school(
                tx,
                name=f"学校{n:03d}",
                kind="primary",
                ownership="public",
                district="",
                actor_id=None,
            )
    ids = {s.id for s in await campus.schools_by_name(sim.db)}
    assert len(ids) == MANY + 1
    await school.taskforce.send("/export")
    found, pages = await page_through(school.taskforce, SchoolsPage)
    menus = [t for t in found if isinstance(t, Export) and t.what == "p"]
    assert {t.school_id for t in menus} == ids and pages > 1
    said = await school.taskforce.tap("学校300")
    assert "学校300" in said[-1].text  # that school's own menu
    assert any(isinstance(unpack(d), Export) for row in said[-1].buttons for _, d in row)


async def test_a_turn_of_someone_elses_export_page_is_refused(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    await school.principal.tap_data(SchoolsPage(2).pack(), school.principal.last)
    assert school.principal.alerts[-1] == "您没有权限进行此操作。"


async def test_a_hazard_can_be_given_to_any_of_301_colleagues(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "应急照明损坏")
    for n in range(MANY):
        await seed_person(sim.db, f"老师{n:03d}", s.school.school_id, Role.STAFF)
    colleagues = {c.id for c in await people.colleagues(sim.db, s.school.school_id)}
    assert len(colleagues) > MANY
    await s.principal.send(f"/hazard {hazard_id}")
    await s.principal.tap("👤 更换责任人")
    found, pages = await page_through(s.principal, ReassignPage)
    picks = [t for t in found if isinstance(t, ReassignTo)]
    assert {t.person_id for t in picks} == colleagues and pages > 1
    said = await s.principal.tap("老师300")
    assert "责任人已改为老师300" in said[-1].text
    assert await sim.db.value(
        "SELECT responsible_name FROM hazards WHERE id = ?", (hazard_id,)
    ) == ("老师300")


async def test_a_quick_report_can_name_any_of_301_buildings_and_301_colleagues(
    sim: Simulator,
) -> None:
    s = await scene(sim)
    school_id = s.school.school_id
    async with sim.db.write() as tx:
        for n in range(MANY):
            await campus.create_building(
                tx, school_id=school_id, name=f"楼{n:03d}", use="office", floors=2,
                year_built=2000, actor_id=None,
            )  # fmt: skip
    for n in range(MANY):
        await seed_person(sim.db, f"老师{n:03d}", school_id, Role.STAFF)
    buildings = {b.id for b in await campus.buildings_of(sim.db, [school_id])}
    colleagues = {c.id for c in await people.colleagues(sim.db, school_id)}

    said = await s.staff.photo(jpeg())
    assert "这是哪栋建筑" in said[-1].text and "第 1/" in said[-1].text
    found, pages = await page_through(s.staff, HazardChoices)
    offered = [t for t in found if isinstance(t, HazardAnswer)]
    assert {int(t.value) for t in offered} == buildings and pages > 1
    assert all(t.step is Step.BUILDING for t in offered)
    await s.staff.tap("楼300")
    hazard_id = await sim.db.value("SELECT id FROM hazards")
    assert await sim.db.value("SELECT b.name FROM hazards h JOIN buildings b"
                              " ON b.id = h.building_id") == "楼300"  # fmt: skip

    await s.staff.tap("照片已发完")
    await s.staff.send("楼道堆放杂物")
    await s.staff.tap("否")  # not fixable at once
    said = await s.staff.tap("7 天内")
    assert "第 1/" in said[-1].text
    found, pages = await page_through(s.staff, HazardChoices)
    offered = [t for t in found if isinstance(t, HazardAnswer)]
    assert {int(t.value) for t in offered} == colleagues and pages > 1
    await s.staff.tap("老师300")
    chosen = await sim.db.value("SELECT id FROM people WHERE name = '老师300'")
    assert (
        await sim.db.value("SELECT responsible_id FROM hazards WHERE id = ?", (hazard_id,))
        == chosen
    )


async def test_a_page_of_someone_elses_hazard_question_is_refused(sim: Simulator) -> None:
    s = await scene(sim)
    await s.staff.photo(jpeg())
    hazard_id = await sim.db.value("SELECT id FROM hazards")
    await s.leader.tap_data(HazardChoices(hazard_id, Step.BUILDING, 2).pack(), s.leader.last)
    assert s.leader.alerts[-1] == "您没有权限进行此操作。"


async def test_a_visit_to_a_school_of_301_buildings_can_walk_each(sim: Simulator) -> None:
    w = await world(sim)
    school_id = w.s.school.school_id
    async with sim.db.write() as tx:
        for n in range(MANY):
            await campus.create_building(
                tx, school_id=school_id, name=f"楼{n:03d}", use="office", floors=2,
                year_built=2000, actor_id=None,
            )  # fmt: skip
    buildings = {b.id for b in await campus.buildings_of(sim.db, [school_id])}
    await start_visit(sim, w)
    message = w.sup1.last
    assert "第 1/" in message.text
    found, pages = await page_through(w.sup1, VisitPage)
    walks = [t for t in found if isinstance(t, WalkBuilding)]
    assert {t.building_id for t in walks} == buildings and pages > 1
    # Every page keeps the visit's own buttons: add a missed building, end the visit.
    assert sum(isinstance(t, (AddMissed, EndVisit)) for t in found) == 2 * pages
    said = await w.sup1.tap("楼300")
    assert "楼300" in said[-1].text
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM supervision_walks w JOIN buildings b ON b.id = w.building_id"
            " WHERE b.name = '楼300'"
        )
        == 1
    )


async def test_a_draw_can_be_made_in_any_of_301_districts(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    async with sim.db.write() as tx:
        for n in range(MANY):
            await campus.create_school(
                tx, name=f"学校{n:03d}", kind="primary", ownership="public",
                district=f"区{n:03d}", actor_id=None,
            )  # fmt: skip
    districts = {s.district for s in await campus.schools_by_name(sim.db) if s.district}
    await school.taskforce.send("/draw")
    said = await school.taskforce.send("2")
    assert "第 1/" in said[-1].text
    found, pages = await page_through(school.taskforce, DistrictPage)
    picks = [t for t in found if isinstance(t, DrawDistrict)]
    assert {t.index for t in picks} == set(range(len(districts) + 1)) and pages > 1
    await school.taskforce.tap("区300")
    state = await people.pending(sim.db, school.taskforce.user_id)
    assert state is not None and state[0] == "draw"
    names = sorted(districts)
    assert names[state[1]["district"] - 1] == "区300"


async def test_every_one_of_301_buildings_can_be_walked_from_inspect(sim: Simulator) -> None:
    """``/inspect`` lists a school's buildings a page at a time; the last of 301 is
    reached through the pages and tapping it starts its walk."""
    school = await make_school(sim, buildings=())
    async with sim.db.write() as tx:
        for n in range(MANY):
            await campus.create_building(
                tx,
                school_id=school.school_id,
                name=f"楼{n:03d}",
                use="teaching",
                floors=3,
                year_built=2005,
                actor_id=None,
            )
    ids = {b.id for b in await campus.buildings_of(sim.db, [school.school_id])}
    assert len(ids) == MANY
    said = await school.staff.send("/inspect")
    assert "0/301" in said[-1].text and "第 1/" in said[-1].text
    found, pages = await page_through(school.staff, BuildingsPage)
    opened = [t for t in found if isinstance(t, OpenBuilding)]
    assert {t.building_id for t in opened} == ids and len(opened) == MANY and pages > 1
    said = await school.staff.tap("楼300")
    assert "楼300" in said[-1].text  # its walk's first question, with its answers
    assert "1/19" in said[-1].text
    assert any("无隐患" in label for row in said[-1].buttons for label, _ in row)
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM inspections i JOIN buildings b ON b.id = i.building_id"
            " WHERE b.name = '楼300' AND i.closed_at IS NULL"
        )
        == 1
    )


async def test_a_page_of_buildings_of_a_school_not_ones_own_is_refused(sim: Simulator) -> None:
    school = await make_school(sim)
    other = await make_school(sim, name="第二小学", taskforce=school.taskforce)
    await school.staff.send("/inspect")
    await school.staff.tap_data(BuildingsPage(other.school_id, 1).pack(), school.staff.last)
    assert school.staff.alerts[-1] == "您没有权限进行此操作。"
