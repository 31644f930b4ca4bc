"""The supervision use cases (``cases.supervision``) against a fresh database, without a chat.

Each action is called as the chat calls it (an ``Actor`` with their Telegram id, so that
what they were typing for is seen to end), and each refusal named by the rules is tried:
it must say so, and store nothing (no event, no notice, no change).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import pytest

from cases import supervision as case
from cases.actor import Actor
from ledger.checklist import load_checklist
from ledger.clock import FakeClock
from ledger.errors import EmptyText, NotAllowed, Stale, XiaoanError
from ledger.roles import Role
from ledger.supervision import (
    ChosenBy,
    Draw,
    DrawnVisit,
    DrawRefused,
    FindingKind,
    FindingState,
    Matching,
    SchoolCandidate,
    SupervisorCandidate,
    VisitRefused,
    VisitState,
)
from ledger.walk import Choice
from storage import campus, people
from storage import supervision as store
from storage.db import Database, Row, Tx, Writes
from storage.photos import StoredPhoto
from tests.conftest import Seeded, seed_fix, seed_hazard, seed_person, seed_school

FIX_DAYS = 3


@dataclass
class City:
    db: Database
    clock: FakeClock
    a: Seeded  # 实验小学: 教学楼A, 食堂
    b: Seeded  # 第二中学
    version_id: int
    leader: int  # of 实验小学: verified the closed hazard
    staff: int  # of 实验小学
    taskforce: int
    sup1: int
    sup2: int
    sup3: int  # a supervisor who is also a staff member of 实验小学
    listed: int  # an open hazard of 教学楼A, the principal responsible
    closed: int  # a closed hazard of 教学楼A, its fix verified by the leader

    async def actor(self, person_id: int) -> Actor:
        person = await people.person_by_id(self.db, person_id)
        assert person is not None
        tg = await self.db.value("SELECT tg_user_id FROM people WHERE id = ?", (person_id,))
        return Actor(self.db, person, self.clock, self.db.write, int(tg))

    async def rows(self, sql: str, *args: object) -> list[Row]:
        return await self.db.all(sql, args)

    async def count(self, table: str) -> int:
        return int(await self.db.value(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608

    async def outbox(self) -> list[Row]:
        return await self.db.all("SELECT * FROM outbox ORDER BY id")

    async def wait_for(self, person_id: int, kind: str = "journey") -> None:
        """The person is typing for something (a journey waiting)."""
        tg = await self.db.value("SELECT tg_user_id FROM people WHERE id = ?", (person_id,))
        async with self.db.write() as tx:
            await people.set_pending(tx, int(tg), kind, {"name": "x"})

    async def waiting(self, person_id: int) -> bool:
        tg = await self.db.value("SELECT tg_user_id FROM people WHERE id = ?", (person_id,))
        return await people.pending(self.db, int(tg)) is not None

    async def drawn(self, school: Seeded, *supervisors: int) -> int:
        """A drawn visit of this school with these supervisors (a draw made by hand)."""
        made = Draw(
            "seed",
            1,
            len(supervisors),
            (SchoolCandidate(school.school_id, "?", "城关镇", "primary"),),
            tuple(SupervisorCandidate(s, "?") for s in supervisors),
            (DrawnVisit(school.school_id, supervisors),),
        )
        async with self.db.write() as tx:
            draw_id = await store.store_draw(tx, self.a.campaign_id, made, [], [], None)
        return int(
            await self.db.value("SELECT id FROM supervision_visits WHERE draw_id = ?", (draw_id,))
        )

    async def started(self, *supervisors: int) -> int:
        """实验小学's drawn visit, started by the first supervisor."""
        visit_id = await self.drawn(self.a, *supervisors)
        await case.start_drawn(await self.actor(supervisors[0]), visit_id)
        return visit_id

    async def walking(self, person_id: int, visit_id: int, building: int = 0) -> int:
        walk = await case.walk_building(
            await self.actor(person_id),
            visit_id,
            self.a.building_ids[building],
            self.version_id,
            no_walk_waiting,
        )
        return walk.walk.id

    async def answer_all(self, person_id: int, walk_id: int, choice: str = "ok") -> None:
        walk = await store.walk(self.db, walk_id)
        assert walk is not None
        for item_id, _ in await store.items_of_walk(self.db, walk):
            await case.answer(await self.actor(person_id), walk_id, item_id, choice, no_then)

    async def first_item(self, walk_id: int) -> int:
        walk = await store.walk(self.db, walk_id)
        assert walk is not None
        return (await store.items_of_walk(self.db, walk))[0][0]

    async def finding_at_match(self, person_id: int, walk_id: int, *, photos: int = 1) -> int:
        """A hazard found on the first item, photographed, described, not major."""
        actor = await self.actor(person_id)
        await case.answer(actor, walk_id, await self.first_item(walk_id), "hz", no_then)
        for n in range(photos):
            await case.add_photo(actor, walk_id, stored(n), f"u{n}")
        draft = await store.draft_of_walk(self.db, walk_id)
        assert draft is not None
        await case.photos_given(actor, draft.id, photos > 0)
        await case.describe(actor, walk_id, "灭火器仍然过期")
        await case.weigh(actor, draft.id, False)
        return draft.id


async def no_waiting(tx: Tx) -> None:
    return None


def no_then(w: Writes) -> None:
    return None


def no_walk_waiting(w: Writes, walk_id: int) -> None:
    return None


def stored(n: int) -> Callable[[], Awaitable[StoredPhoto]]:
    async def fetch() -> StoredPhoto:
        return StoredPhoto(sha256=f"{n:064x}", width=640, height=480, size=1000)

    return fetch


def record_words(made: case.VisitRecord, lang: str) -> list[str]:
    """The record as a test reads it: school, kinds counted, in the reader's language."""
    kinds = ",".join(f"{k.value}={n}" for k, n in sorted(made.made.findings.items()) if n)
    return [f"{lang}:{made.visit.school_name}:{kinds}"]


@pytest.fixture
async def city(fresh_db: Database, clock: FakeClock) -> City:
    db = fresh_db
    a = await seed_school(db, "实验小学", ["教学楼A", "食堂"])
    b = await seed_school(db, "第二中学", ["综合楼"], district="城南")
    async with db.write() as tx:
        version_id = await campus.ensure_checklist(tx, load_checklist())
    leader = await seed_person(db, "刘主任", a.school_id, Role.LEADER)
    staff = await seed_person(db, "王老师", a.school_id, Role.STAFF)
    taskforce = await seed_person(db, "专班", None, Role.TASKFORCE)
    sup1 = await seed_person(db, "督导甲", None, Role.SUPERVISOR)
    sup2 = await seed_person(db, "督导乙", None, Role.SUPERVISOR)
    sup3 = await seed_person(db, "督导丙", None, Role.SUPERVISOR)
    async with db.write() as tx:
        await people.add_membership(
            tx, person_id=sup3, school_id=a.school_id, role=Role.STAFF, invitation_id=None
        )
    listed = await seed_hazard(db, a, a.building_ids[0], "楼梯间堆放杂物")
    closed = await seed_hazard(db, a, a.building_ids[0], "灭火器过期", state="closed")
    await seed_fix(db, closed, a.person_id, leader)
    return City(
        db, clock, a, b, version_id, leader, staff, taskforce, sup1, sup2, sup3, listed, closed
    )


async def refused(
    c: City, error: type[XiaoanError], action: Awaitable[object], reason: str | None = None
) -> None:
    """The action is refused with this error (and reason), and nothing is stored."""
    before = (await c.count("events"), await c.count("outbox"), await c.count("pending_inputs"))
    with pytest.raises(error) as raised:
        await action
    if reason is not None:
        assert raised.value.params.get("reason") == reason
    after = (await c.count("events"), await c.count("outbox"), await c.count("pending_inputs"))
    assert after == before


# --- the draw ------------------------------------------------------------------------------


async def test_the_operator_draws_and_each_supervisor_drawn_is_told_never_the_school(
    city: City,
) -> None:
    asked = case.DrawAsked(city.a.campaign_id, "s1", 2, 1)
    draw_id, made = await case.draw_by_operator(city.db, asked)
    visits = await store.visits(city.db, city.a.campaign_id)
    assert [(v.school_id, v.state, v.chosen_by, v.draw_id) for v in visits] == [
        (d.school_id, VisitState.PLANNED, ChosenBy.DRAWN, draw_id) for d in made.visits
    ]
    told = await city.outbox()
    supervisors = {p for v in made.visits for p in v.supervisor_ids}
    assert {r["person_id"] for r in told} == supervisors
    assert all(r["kind"] == "notice.supervision" for r in told)
    assert all(r["key"].startswith("supervision.drawn:v") for r in told)
    assert sup_not_school(told, city)


def sup_not_school(told: list[Row], c: City) -> bool:
    members = {c.a.person_id, c.leader, c.staff, c.b.person_id}
    return not members & {r["person_id"] for r in told}


async def test_a_supervisor_draws_in_chat_and_the_questions_end_with_it(city: City) -> None:
    await city.wait_for(city.sup1)
    actor = await city.actor(city.sup1)
    draw_id, _ = await case.draw(actor, case.DrawAsked(city.a.campaign_id, "s2", 1, 2))
    assert await city.db.value("SELECT drawn_by FROM supervision_draws WHERE id = ?", (draw_id,))
    assert await city.count("supervision_visits") == 1
    assert not await city.waiting(city.sup1)


async def test_a_staff_member_may_not_draw(city: City) -> None:
    asked = case.DrawAsked(city.a.campaign_id, "s3", 1, 1)
    await refused(city, NotAllowed, case.draw(await city.actor(city.staff), asked))
    assert await city.count("supervision_draws") == 0


async def test_a_draw_of_more_schools_than_are_left_is_refused_and_its_questions_end(
    city: City,
) -> None:
    await city.wait_for(city.sup1)
    asked = case.DrawAsked(city.a.campaign_id, "s4", 5, 1)
    with pytest.raises(DrawRefused) as raised:
        await case.draw(await city.actor(city.sup1), asked)
    assert raised.value.params["reason"] == "schools"
    assert await city.count("supervision_draws") == 0
    assert await city.count("outbox") == 0
    assert not await city.waiting(city.sup1)


# --- arriving: a visit starts -------------------------------------------------------------


async def test_a_drawn_supervisor_starts_the_visit_once(city: City) -> None:
    visit_id = await city.drawn(city.a, city.sup1, city.sup2)
    started = (await case.start_drawn(await city.actor(city.sup2), visit_id)).visit
    assert (started.state, started.started_by) == (VisitState.STARTED, city.sup2)
    assert started.started_at == city.clock.now()
    events = await city.rows(
        "SELECT action FROM events WHERE subject = 'visit' AND subject_id = ?", visit_id
    )
    assert [e["action"] for e in events] == ["visit.planned", "visit.started"]
    assert await city.count("outbox") == 0  # the school hears nothing (四不两直)


@pytest.mark.parametrize(
    ("who", "reason"),
    [("staff", "not_supervisor"), ("sup3", "own_school"), ("sup2", "not_on_visit")],
)
async def test_starting_a_drawn_visit_is_refused(city: City, who: str, reason: str) -> None:
    visit_id = await city.drawn(city.a, city.sup1)
    actor = await city.actor(getattr(city, who))
    await refused(city, VisitRefused, case.start_drawn(actor, visit_id), reason)
    assert (await case.visit(city.db, visit_id)).state is VisitState.PLANNED


@pytest.mark.parametrize(("ended", "reason"), [(False, "started"), (True, "ended")])
async def test_a_visit_started_or_ended_is_not_started_again(
    city: City, ended: bool, reason: str
) -> None:
    visit_id = await city.started(city.sup1)
    if ended:
        await case.end_visit(await city.actor(city.sup1), visit_id, record_words)
    actor = await city.actor(city.sup1)
    await refused(city, VisitRefused, case.start_drawn(actor, visit_id), reason)


async def test_a_visit_that_does_not_exist_is_not_theirs_to_see(city: City) -> None:
    await refused(city, NotAllowed, case.start_drawn(await city.actor(city.sup1), 999))


async def test_arriving_at_a_school_with_no_visit_makes_one_by_hand(city: City) -> None:
    screen = await case.arrive(await city.actor(city.sup1), city.a.campaign_id, city.b.school_id)
    visit = screen.visit
    assert (visit.school_id, visit.chosen_by, visit.state) == (
        city.b.school_id,
        ChosenBy.BY_HAND,
        VisitState.STARTED,
    )
    assert visit.supervisor_ids == (city.sup1,) and visit.draw_id is None


async def test_arriving_at_a_drawn_school_starts_its_visit_and_a_second_arrival_joins_it(
    city: City,
) -> None:
    visit_id = await city.drawn(city.a, city.sup1)
    actor = await city.actor(city.sup1)
    first = (await case.arrive(actor, city.a.campaign_id, city.a.school_id)).visit
    assert (first.id, first.state, first.chosen_by) == (visit_id, VisitState.STARTED,
                                                        ChosenBy.DRAWN)  # fmt: skip
    events = await city.count("events")
    again = (await case.arrive(actor, city.a.campaign_id, city.a.school_id)).visit
    assert again.id == visit_id and await city.count("events") == events


async def test_arriving_where_another_supervisor_started_is_refused(city: City) -> None:
    await city.started(city.sup1)
    actor = await city.actor(city.sup2)
    action = case.arrive(actor, city.a.campaign_id, city.a.school_id)
    await refused(city, VisitRefused, action, "started")


async def test_arriving_at_a_second_school_while_on_a_visit_is_refused(city: City) -> None:
    await city.started(city.sup1)
    actor = await city.actor(city.sup1)
    action = case.arrive(actor, city.a.campaign_id, city.b.school_id)
    await refused(city, VisitRefused, action, "busy_elsewhere")
    assert await city.count("supervision_visits") == 1


@pytest.mark.parametrize(
    ("who", "school", "error", "reason"),
    [
        ("sup3", "a", VisitRefused, "own_school"),
        ("staff", "b", VisitRefused, "not_supervisor"),
        ("sup1", None, NotAllowed, None),
    ],
)
async def test_arriving_is_refused(
    city: City, who: str, school: str | None, error: type[XiaoanError], reason: str | None
) -> None:
    school_id = 999 if school is None else getattr(city, school).school_id
    action = case.arrive(await city.actor(getattr(city, who)), city.a.campaign_id, school_id)
    await refused(city, error, action, reason)
    assert await city.count("supervision_visits") == 0


async def test_a_scanned_building_starts_the_visit_at_its_school_and_is_on_record(
    city: City,
) -> None:
    building = city.a.building_ids[1]
    visit = (await case.scan(await city.actor(city.sup1), city.a.campaign_id, building)).visit
    assert (visit.school_id, visit.state) == (city.a.school_id, VisitState.STARTED)
    [scan] = await city.rows(
        "SELECT * FROM events WHERE action = 'building.scanned' AND subject_id = ?", building
    )
    assert scan["actor_id"] == city.sup1 and str(visit.id) in scan["after"]


async def test_a_building_of_another_school_scanned_on_a_visit_is_refused(city: City) -> None:
    await city.started(city.sup1)
    actor = await city.actor(city.sup1)
    action = case.scan(actor, city.a.campaign_id, city.b.building_ids[0])
    await refused(city, VisitRefused, action, "other_school")


async def test_an_unknown_building_scanned_is_refused(city: City) -> None:
    action = case.scan(await city.actor(city.sup1), city.a.campaign_id, 999)
    await refused(city, NotAllowed, action)


# --- the supervision walk ---------------------------------------------------------------


async def test_walking_a_building_starts_its_walk_and_the_callers_state_in_one_go(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    seen: list[int] = []

    def waiting(w: Writes, walk_id: int) -> None:
        seen.append(walk_id)
        assert w.value("SELECT id FROM supervision_walks WHERE id = ?", (walk_id,))

    screen = await case.walk_building(
        await city.actor(city.sup1), visit_id, city.a.building_ids[0], city.version_id, waiting
    )
    walk = screen.walk
    assert seen == [walk.id] and screen.draft is None and not screen.at.answers
    assert (walk.visit_id, walk.walker_id, walk.building_name, walk.answered) == (
        visit_id,
        city.sup1,
        "教学楼A",
        0,
    )
    again = await case.walk_building(
        await city.actor(city.sup1), visit_id, city.a.building_ids[0], city.version_id, waiting
    )
    assert again.walk.id == walk.id and await city.count("supervision_walks") == 1


async def test_a_building_walked_by_another_supervisor_is_refused_with_their_name(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1, city.sup2)
    await city.walking(city.sup1, visit_id)
    action = case.walk_building(
        await city.actor(city.sup2), visit_id, city.a.building_ids[0], city.version_id,
        no_walk_waiting,
    )  # fmt: skip
    with pytest.raises(VisitRefused) as raised:
        await action
    assert raised.value.params == {"reason": "busy", "walker": "督导甲"}


@pytest.mark.parametrize(
    ("setup", "who", "error", "reason"),
    [
        ("planned", "sup1", VisitRefused, "not_started"),
        ("ended", "sup1", VisitRefused, "ended"),
        ("started", "sup2", VisitRefused, "not_on_visit"),
        ("other_building", "sup1", NotAllowed, None),
    ],
)
async def test_walking_a_building_is_refused(
    city: City, setup: str, who: str, error: type[XiaoanError], reason: str | None
) -> None:
    if setup == "planned":
        visit_id = await city.drawn(city.a, city.sup1)
    else:
        visit_id = await city.started(city.sup1)
    if setup == "ended":
        await case.end_visit(await city.actor(city.sup1), visit_id, record_words)
    building = city.b.building_ids[0] if setup == "other_building" else city.a.building_ids[0]
    action = case.walk_building(
        await city.actor(getattr(city, who)), visit_id, building, city.version_id, no_walk_waiting
    )
    await refused(city, error, action, reason)


async def test_an_answer_is_stored_with_the_schools_own_and_says_whether_it_contradicts(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    item_id = await city.first_item(walk_id)
    async with city.db.write() as tx:  # the school said "no hazard" on this item
        inspection = await tx.run(
            "INSERT INTO inspections (campaign_id, building_id, checklist_version_id, walker_id,"
            " started_by, started_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (city.a.campaign_id, city.a.building_ids[0], city.version_id, city.staff,
             city.staff, tx.now(), tx.now()),
        )  # fmt: skip
        await tx.run(
            "INSERT INTO answers (inspection_id, item_id, choice, answered_by, answered_at)"
            " VALUES (?, ?, 'ok', ?, ?)",
            (inspection, item_id, city.staff, tx.now()),
        )
    answered = await case.answer(await city.actor(city.sup1), walk_id, item_id, "hz", no_then)
    assert (answered.choice, answered.school_choice, answered.contradicted) == (
        Choice.HAZARD,
        Choice.OK,
        True,
    )
    stored_answer = (await store.answers(city.db, walk_id))[item_id]
    assert (stored_answer.choice, stored_answer.school_choice) == (Choice.HAZARD, Choice.OK)
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None and (draft.item_id, draft.state) == (item_id, FindingState.DRAFT)
    [contradiction] = await store.contradicted(city.db, visit_id)
    assert (contradiction.school_choice, contradiction.choice) == (Choice.OK, Choice.HAZARD)


async def test_an_item_without_the_schools_answer_is_not_a_contradiction(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    item_id = await city.first_item(walk_id)
    answered = await case.answer(await city.actor(city.sup1), walk_id, item_id, "ok", no_then)
    assert (answered.school_choice, answered.contradicted) == (None, False)
    assert await store.draft_of_walk(city.db, walk_id) is None


@pytest.mark.parametrize("wrong", ["answered", "later_item", "foreign_item", "choice", "draft"])
async def test_an_answer_not_for_the_item_asked_now_is_refused(city: City, wrong: str) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    walk = await store.walk(city.db, walk_id)
    assert walk is not None
    items = [i for i, _ in await store.items_of_walk(city.db, walk)]
    actor = await city.actor(city.sup1)
    if wrong in ("answered", "draft"):
        await case.answer(actor, walk_id, items[0], "hz" if wrong == "draft" else "ok", no_then)
    item, choice, error = {
        "answered": (items[0], "ok", Stale),
        "later_item": (items[2], "ok", Stale),
        "foreign_item": (10**9, "ok", NotAllowed),
        "choice": (items[0], "maybe", NotAllowed),
        "draft": (items[1], "ok", Stale),
    }[wrong]
    answers = await city.count("supervision_answers")
    await refused(city, error, case.answer(actor, walk_id, item, choice, no_then))
    assert await city.count("supervision_answers") == answers


async def test_another_supervisors_walk_is_not_theirs_to_answer(city: City) -> None:
    visit_id = await city.started(city.sup1, city.sup2)
    walk_id = await city.walking(city.sup1, visit_id)
    item = await city.first_item(walk_id)
    action = case.answer(await city.actor(city.sup2), walk_id, item, "ok", no_then)
    await refused(city, NotAllowed, action)


async def test_pausing_ends_what_the_supervisor_was_typing_for_and_keeps_the_answers(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    await case.answer(
        await city.actor(city.sup1), walk_id, await city.first_item(walk_id), "ok", no_then
    )
    await city.wait_for(city.sup1)
    walk = await case.pause(await city.actor(city.sup1), walk_id)
    assert walk.id == walk_id and not await city.waiting(city.sup1)
    assert len(await store.answers(city.db, walk_id)) == 1


async def test_no_other_hazard_finishes_the_walk(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id, building=1)
    await city.answer_all(city.sup1, walk_id)
    await city.wait_for(city.sup1)
    await case.more(await city.actor(city.sup1), walk_id, False, no_then)
    walk = await store.walk(city.db, walk_id)
    assert walk is not None and walk.finished_at == city.clock.now()
    assert not await city.waiting(city.sup1)
    action = case.more(await city.actor(city.sup1), walk_id, False, no_then)
    await refused(city, Stale, action)


async def test_another_hazard_opens_a_free_form_finding(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id, building=1)
    await city.answer_all(city.sup1, walk_id)
    seen: list[bool] = []

    def waiting(w: Writes) -> None:
        seen.append(bool(w.value("SELECT COUNT(*) FROM supervision_findings")))  # in its write

    await case.more(await city.actor(city.sup1), walk_id, True, waiting)
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None and draft.item_id is None and seen == [True]
    walk = await store.walk(city.db, walk_id)
    assert walk is not None and not walk.finished


async def test_any_other_hazard_before_every_item_is_answered_is_stale(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    action = case.more(await city.actor(city.sup1), walk_id, False, no_then)
    await refused(city, Stale, action)


# --- a finding ----------------------------------------------------------------------------


async def test_a_finding_takes_its_photos_description_and_weight_in_turn(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    actor = await city.actor(city.sup1)
    await case.answer(actor, walk_id, await city.first_item(walk_id), "hz", no_then)
    # A description typed while photos are asked is not taken: the journey asks again.
    assert await case.describe(actor, walk_id, "太早") is None
    assert await case.add_photo(actor, walk_id, stored(1), "u1") is not None
    assert await case.add_photo(actor, walk_id, stored(2), "u2") is not None
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None and draft.photos == 2
    after_photos = await case.photos_given(actor, draft.id, True)
    assert after_photos.finding.photos_done and after_photos.finding.description is None
    # A photo once the photos are done is not taken either.
    assert await case.add_photo(actor, walk_id, stored(3), "u3") is None
    await case.describe(actor, walk_id, "  灭火器压力不足  ")
    weighed = (await case.weigh(actor, draft.id, True)).finding
    assert (weighed.description, weighed.major, weighed.photos) == ("灭火器压力不足", True, 2)
    events = await city.rows(
        "SELECT action FROM events WHERE subject = 'finding' AND subject_id = ?", draft.id
    )
    kinds = [e["action"] for e in events]
    assert kinds.count("finding.updated") == 3 and kinds.count("photo.added") == 2


async def test_a_blank_description_is_refused(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    actor = await city.actor(city.sup1)
    await case.answer(actor, walk_id, await city.first_item(walk_id), "hz", no_then)
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None
    await case.photos_given(actor, draft.id, False)
    await refused(city, EmptyText, case.describe(actor, walk_id, "   "))


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("done_without_photos", Stale),
        ("major_before_description", Stale),
        ("by_another_supervisor", NotAllowed),
    ],
)
async def test_a_finding_step_out_of_turn_is_refused(
    city: City, step: str, error: type[XiaoanError]
) -> None:
    visit_id = await city.started(city.sup1, city.sup2)
    walk_id = await city.walking(city.sup1, visit_id)
    actor = await city.actor(city.sup1)
    await case.answer(actor, walk_id, await city.first_item(walk_id), "hz", no_then)
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None
    if step == "done_without_photos":
        action: Awaitable[object] = case.photos_given(actor, draft.id, True)
    elif step == "major_before_description":
        await case.photos_given(actor, draft.id, False)
        action = case.weigh(actor, draft.id, True)
    else:
        action = case.photos_given(await city.actor(city.sup2), draft.id, False)
    await refused(city, error, action)


# --- matching it to the ledger ------------------------------------------------------------


async def test_a_finding_matched_to_a_listed_hazard_is_recorded_as_listed(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    finding_id = await city.finding_at_match(city.sup1, walk_id)
    matched = await case.match_finding(await city.actor(city.sup1), finding_id, city.listed,
                                       FIX_DAYS)  # fmt: skip
    assert (matched.how, matched.hazard_id) == (Matching.LISTED, city.listed)
    found = await store.finding(city.db, finding_id)
    assert found is not None
    assert (found.state, found.kind, found.hazard_id) == (
        FindingState.RECORDED,
        FindingKind.LISTED,
        city.listed,
    )
    assert found.recorded_at == city.clock.now()
    assert await city.count("outbox") == 0
    action = case.match_finding(await city.actor(city.sup1), finding_id, city.listed, FIX_DAYS)
    await refused(city, Stale, action)


@pytest.mark.parametrize("major", [False, True])
async def test_an_off_list_finding_goes_on_the_ledger_and_the_task_force_is_told(
    city: City, major: bool
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    actor = await city.actor(city.sup1)
    await case.answer(actor, walk_id, await city.first_item(walk_id), "hz", no_then)
    await case.add_photo(actor, walk_id, stored(7), "u7")
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None
    await case.photos_given(actor, draft.id, True)
    await case.describe(actor, walk_id, "配电箱无门")
    await case.weigh(actor, draft.id, major)
    matched = await case.match_finding(actor, draft.id, None, FIX_DAYS)
    assert matched.how is Matching.OFF_LIST
    assert (matched.responsible, matched.deadline) == ("实验小学校长", date(2026, 12, 1))
    [hazard] = await city.rows("SELECT * FROM hazards WHERE id = ?", matched.hazard_id)
    assert (hazard["state"], hazard["visit_id"], hazard["responsible_id"]) == (
        "open",
        visit_id,
        city.a.person_id,
    )
    assert (hazard["description"], hazard["accident_grade"], hazard["deadline"]) == (
        "配电箱无门",
        int(major),
        "2026-12-01",
    )
    [photo] = await city.rows("SELECT * FROM photos WHERE hazard_id = ?", matched.hazard_id)
    assert photo["sha256"] == f"{7:064x}" and photo["kind"] == "before"
    found = await store.finding(city.db, draft.id)
    assert found is not None
    assert found.kind is (FindingKind.ACCIDENT if major else FindingKind.OFF_LIST)
    [notice] = await city.outbox()
    assert (notice["person_id"], notice["kind"]) == (city.taskforce, "notice.supervision")
    assert notice["key"] == f"supervision.off_list:f{draft.id}:{city.taskforce}"
    assert "配电箱无门" in notice["text"] and "督导甲" in notice["text"]
    assert ("事故" in notice["text"]) is major


async def test_a_closed_hazard_rectified_badly_is_reopened_and_its_people_are_told(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    finding_id = await city.finding_at_match(city.sup1, walk_id)
    matched = await case.match_finding(await city.actor(city.sup1), finding_id, city.closed,
                                       FIX_DAYS)  # fmt: skip
    assert (matched.how, matched.verifier, matched.responsible) == (
        Matching.REOPEN,
        "刘主任",
        "?",  # seeded with the principal as responsible, no name typed
    )
    [hazard] = await city.rows("SELECT state, closed_at FROM hazards WHERE id = ?", city.closed)
    assert (hazard["state"], hazard["closed_at"]) == ("open", None)
    found = await store.finding(city.db, finding_id)
    assert found is not None
    assert (found.kind, found.verifier_id, found.verifier_name) == (
        FindingKind.RECTIFIED_BADLY,
        city.leader,
        "刘主任",
    )
    told = await city.outbox()
    assert sorted(r["person_id"] for r in told) == sorted([city.a.person_id, city.leader])
    assert all(r["key"].startswith(f"supervision.reopened:f{finding_id}:") for r in told)
    assert all("灭火器仍然过期" in r["text"] for r in told)


async def test_rectified_badly_without_a_photo_is_refused_and_the_hazard_stays_closed(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    finding_id = await city.finding_at_match(city.sup1, walk_id, photos=0)
    action = case.match_finding(await city.actor(city.sup1), finding_id, city.closed, FIX_DAYS)
    await refused(city, VisitRefused, action, "need_photo")
    assert await city.db.value("SELECT state FROM hazards WHERE id = ?", (city.closed,)) == (
        "closed"
    )


@pytest.mark.parametrize("which", ["other_building", "unknown", "draft_hazard"])
async def test_a_match_to_a_hazard_not_listed_for_the_building_is_refused(
    city: City, which: str
) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    finding_id = await city.finding_at_match(city.sup1, walk_id)
    a = city.a
    if which == "other_building":
        hazard_id = await seed_hazard(city.db, a, a.building_ids[1], "食堂灶台油污")
    elif which == "draft_hazard":
        hazard_id = await seed_hazard(city.db, a, a.building_ids[0], "草稿", state="draft")
    else:
        hazard_id = 999
    action = case.match_finding(await city.actor(city.sup1), finding_id, hazard_id, FIX_DAYS)
    await refused(city, NotAllowed, action)


async def test_a_match_before_the_finding_is_weighed_is_stale(city: City) -> None:
    visit_id = await city.started(city.sup1)
    walk_id = await city.walking(city.sup1, visit_id)
    actor = await city.actor(city.sup1)
    await case.answer(actor, walk_id, await city.first_item(walk_id), "hz", no_then)
    draft = await store.draft_of_walk(city.db, walk_id)
    assert draft is not None
    await refused(city, Stale, case.match_finding(actor, draft.id, None, FIX_DAYS))


# --- a missed building -------------------------------------------------------------------


async def test_a_missed_building_is_registered_flagged_and_counted_against_the_school(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1)
    await city.wait_for(city.sup1)
    given = case.MissedBuilding("配电房", "other", 1, 1998)
    await case.add_missed(await city.actor(city.sup1), visit_id, given)
    [building] = await city.rows("SELECT * FROM buildings WHERE name = '配电房'")
    assert (building["school_id"], building["missed_visit_id"], building["year_built"]) == (
        city.a.school_id,
        visit_id,
        1998,
    )
    [found] = await store.findings_of_visit(city.db, visit_id)
    assert (found.kind, found.building_id) == (FindingKind.MISSED_BUILDING, building["id"])
    assert not await city.waiting(city.sup1)


@pytest.mark.parametrize(("who", "use"), [("sup1", "castle"), ("sup2", "other")])
async def test_a_missed_building_is_refused(city: City, who: str, use: str) -> None:
    visit_id = await city.started(city.sup1)
    given = case.MissedBuilding("配电房", use, 1, None)
    action = case.add_missed(await city.actor(getattr(city, who)), visit_id, given)
    await refused(city, NotAllowed if who == "sup1" else VisitRefused, action)
    assert await city.count("buildings") == 3


async def test_the_use_of_a_missed_building_must_be_one_of_the_uses(city: City) -> None:
    visit_id = await city.started(city.sup1)
    action = case.missed_use(await city.actor(city.sup1), visit_id, "castle", no_then)
    await refused(city, NotAllowed, action)


# --- ending ----------------------------------------------------------------------------


async def test_ending_the_visit_withdraws_drafts_and_sends_the_record_to_the_principal(
    city: City,
) -> None:
    visit_id = await city.started(city.sup1, city.sup2)
    walk_id = await city.walking(city.sup1, visit_id)
    listed = await city.finding_at_match(city.sup1, walk_id)
    await case.match_finding(await city.actor(city.sup1), listed, city.listed, FIX_DAYS)
    other = await city.walking(city.sup2, visit_id, building=1)
    await case.answer(
        await city.actor(city.sup2), other, await city.first_item(other), "hz", no_then
    )
    draft = await store.draft_of_walk(city.db, other)
    assert draft is not None
    tg2 = await city.db.value("SELECT tg_user_id FROM people WHERE id = ?", (city.sup2,))
    async with city.db.write() as tx:  # 督导乙 is giving that finding
        await people.set_pending(tx, int(tg2), "supervision_walk", {"walk_id": other})
    await city.wait_for(city.sup1)
    made = await case.end_visit(await city.actor(city.sup1), visit_id, record_words)
    assert (made.visit.state, made.visit.ended_by) == (VisitState.ENDED, city.sup1)
    assert made.visit.ended_at == city.clock.now()
    assert made.supervisors == ("督导甲", "督导乙")
    assert made.made.findings[FindingKind.LISTED] == 1 and made.made.items_checked == 2
    assert [w.building for w in made.made.unfinished] == ["教学楼A", "食堂"]
    withdrawn = await store.finding(city.db, draft.id)
    assert withdrawn is not None and withdrawn.state is FindingState.WITHDRAWN
    assert not await city.waiting(city.sup1) and not await city.waiting(city.sup2)
    [notice] = await city.outbox()
    assert (notice["person_id"], notice["text"]) == (city.a.person_id, "zh:实验小学:listed=1")
    assert notice["key"] == f"supervision.record:v{visit_id}:{city.a.person_id}"


async def test_ending_twice_or_by_someone_not_on_the_visit_is_refused(city: City) -> None:
    visit_id = await city.started(city.sup1)
    action = case.end_visit(await city.actor(city.sup2), visit_id, record_words)
    await refused(city, VisitRefused, action, "not_on_visit")
    await case.end_visit(await city.actor(city.sup1), visit_id, record_words)
    action = case.end_visit(await city.actor(city.sup1), visit_id, record_words)
    await refused(city, VisitRefused, action, "ended")
