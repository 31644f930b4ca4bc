"""Supervision (督查) as actions: draw, arrive at a school and start its visit, walk a
building blind, answer an item, pause, give a finding (photos, description, weight),
match it to the ledger (listed, off-list, a closed hazard reopened), add a missed
building, end the visit.

Each action checks ``ledger.supervision``'s rules against typed records, then
writes the change, its events and the notices it causes in one transaction (the
sender is woken by the commit). Refusals are ``ledger.errors`` (``VisitRefused``
with its reason, ``NotAllowed``, ``Stale``). What the chat waits for next (a
journey state) is written by the caller's ``waiting`` inside the same transaction;
what the person was typing for ends with the action that completes it.

No notice (四不两直): the school hears nothing until the visit ends; then its
principal gets the record, rendered by the caller (``RecordText``), since a record
is cut to what a message holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial

from cases import notify
from cases.actor import Actor
from ledger.buildings import TEXT_MAX, USES, clean_text
from ledger.checklist import ChecklistItem
from ledger.errors import NotAllowed, Stale
from ledger.hazards import Hazard
from ledger.roles import Person
from ledger.supervision import (
    Arrival,
    Contradiction,
    Draw,
    DrawRefused,
    Finding,
    FindingStep,
    Matching,
    Record,
    SupervisionAnswer,
    SupervisionWalk,
    Visit,
    VisitRefused,
    WalkAtStep,
    WalkFacts,
    arrival,
    can_draw,
    contradicts,
    elsewhere,
    finding_step,
    match,
    next_item,
    parse_choice,
    record,
    require_last_question,
    require_my_draft,
    require_next_item,
    require_on_drawn,
    require_on_visit,
    require_photos_answer,
    require_step,
    require_supervisor,
    require_walker,
    told_of_reopening,
    walk_taken,
)
from ledger.walk import Choice
from storage import people
from storage import rectify as rectify_store
from storage import supervision as store
from storage.db import Database, Reader, Tx, Writes
from storage.photos import StoredPhoto

Waiting = Callable[[Tx], Awaitable[None]]
Then = Callable[[Writes], None]  # ``Waiting`` inside a write run at once


def _nothing(w: Writes) -> None:
    """Nothing for the chat to wait for (the command line)."""


WalkThen = Callable[[Writes, int], None]  # ``Then`` given the walk's id
NOTICE = "notice.supervision"


async def _end_waiting(tx: Tx, actor: Actor) -> None:
    """What the person was typing or tapping for ends with the action."""
    if actor.user_id is not None:
        await people.clear_pending(tx, actor.user_id)


# --- what a tap names, and whose it is -----------------------------------------------


def supervisor(actor: Actor) -> Person:
    """The person acting, who must be a supervisor."""
    require_supervisor(actor.person)
    return actor.person


async def visit(db: Reader, visit_id: int) -> Visit:
    """A visit by its id; one that does not exist is not theirs to see."""
    found = await store.visit(db, visit_id)
    if found is None:
        raise NotAllowed()
    return found


async def on_visit(actor: Actor, visit_id: int, db: Reader | None = None) -> Visit:
    """The visit a tap names, which this person must be supervising now (read through
    ``db``: the tap's transaction, when it is open)."""
    found = await visit(db or actor.db, visit_id)
    require_on_visit(actor.person.id, found.supervisor_ids, found.state)
    return found


def my_visit_screen(actor: Actor, screen: store.VisitScreen | None) -> store.VisitScreen:
    """A visit's screen as a tap read it, which this person must be supervising now."""
    if screen is None:
        raise NotAllowed()
    require_on_visit(actor.person.id, screen.visit.supervisor_ids, screen.visit.state)
    return screen


def my_draft_at(actor: Actor, found: store.FindingAtTap | None) -> store.FindingAtTap:
    """A finding as a tap read it, which this person must be giving now on a visit under
    way."""
    if found is None:
        raise NotAllowed()
    require_on_visit(actor.person.id, found.supervisor_ids, found.visit_state)
    require_my_draft(found.finding, actor.person.id)
    return found


async def my_walk(actor: Actor, walk_id: int, db: Reader | None = None) -> store.WalkScreen:
    """A supervision walk of a visit under way, walked by this person, as a tap finds it:
    read in one trip (``store.walk_screen``) through ``db``, the tap's transaction."""
    screen = await store.walk_screen(db or actor.db, walk_id)
    if screen is None:
        raise NotAllowed()
    require_on_visit(actor.person.id, screen.at.supervisor_ids, screen.at.visit_state)
    require_walker(screen.walk, actor.person.id)
    return screen


async def my_draft(actor: Actor, finding_id: int, db: Reader | None = None) -> store.FindingAtTap:
    """A finding this person is giving now, on a visit under way, as a tap finds it: read
    in one trip (``store.finding_tap_queries``) through ``db``, the tap's transaction."""
    found = await (db or actor.db).read_many(store.finding_tap_queries(finding_id))
    return my_draft_at(actor, store.finding_tap_from(found))


# --- the draw (双随机) -------------------------------------------------------------------


async def _tell_drawn(tx: Tx, draw_id: int) -> None:
    """Each supervisor drawn hears of their visits at once (never the school: 四不两直)."""
    for visit_id, school, contact in await store.drawn_supervisors(tx, draw_id):
        await notify.tell(
            tx,
            [contact],
            key=f"supervision.drawn:v{visit_id}",
            kind=NOTICE,
            render=notify.text_only("supervise.notice.drawn", school=school),
        )


@dataclass(frozen=True)
class DrawAsked:
    """What a draw asks for: how many, where, which kind, with which seed."""

    campaign_id: int
    seed: str
    schools: int
    per_visit: int
    districts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


async def _draw(tx: Tx, asked: DrawAsked, person_id: int | None) -> tuple[int, Draw]:
    """Draw schools and supervisors, plan the visits and tell the supervisors drawn."""
    draw_id, made = await store.make_draw(
        tx,
        asked.campaign_id,
        asked.seed,
        asked.schools,
        asked.per_visit,
        list(asked.districts),
        list(asked.kinds),
        person_id,
    )
    await _tell_drawn(tx, draw_id)
    return draw_id, made


async def draw(actor: Actor, asked: DrawAsked) -> tuple[int, Draw]:
    """The task force or a supervisor draws in chat; the draw's questions end with it,
    drawn or refused (then they start again)."""
    if not can_draw(actor.person):
        raise NotAllowed()
    try:
        async with actor.write() as tx:
            made = await _draw(tx, asked, actor.person.id)
            await _end_waiting(tx, actor)
    except DrawRefused:
        async with actor.write() as tx:
            await _end_waiting(tx, actor)
        raise
    return made


async def draw_by_operator(db: Database, asked: DrawAsked) -> tuple[int, Draw]:
    """``xiaoan draw``: the operator, who has the database itself, draws."""
    async with db.write() as tx:
        return await _draw(tx, asked, None)


# --- arriving: a visit starts ------------------------------------------------------------


async def _screen(tx: Tx, visit_id: int) -> store.VisitScreen:
    """The visit's screen as the transaction left it (one trip)."""
    screen = await store.visit_screen(tx, visit_id)
    assert screen is not None  # read in the transaction that found or made it
    return screen


async def start_drawn(actor: Actor, visit_id: int) -> store.VisitScreen:
    """A drawn supervisor starts the visit on site (once); read, judged, written and shown
    from one transaction, in one trip to the writer's thread."""
    person = supervisor(actor)

    def write(w: Writes) -> store.VisitScreen:
        planned = store.visit_in(w, visit_id)
        if planned is None:
            raise NotAllowed()
        require_on_drawn(person, planned)
        store.start_visit_in(w, planned.id, person.id)
        screen = store.visit_screen_in(w, planned.id)
        assert screen is not None  # read in the transaction that started it
        return screen

    return await actor.write_at_once(write)


def _arrive(w: Writes, person: Person, campaign_id: int, school_id: int) -> int:
    """The supervisor is at the school: its drawn visit starts, or one is made by hand."""
    live = store.live_visit_in(w, campaign_id, school_id)
    how = arrival(person, school_id, live)
    if live is None or how is Arrival.BY_HAND:
        return store.visit_by_hand_in(w, campaign_id, school_id, person.id)
    if how is Arrival.START:
        store.start_visit_in(w, live.id, person.id)
    return live.id


def _screen_in(w: Writes, visit_id: int) -> store.VisitScreen:
    """The visit's screen as the write left it."""
    screen = store.visit_screen_in(w, visit_id)
    assert screen is not None  # read in the write that found or made it
    return screen


async def arrive(actor: Actor, campaign_id: int, school_id: int) -> store.VisitScreen:
    """A school picked by hand on site: its visit starts now (the drawn one if planned);
    read, judged, written and shown from one transaction, in one trip to the writer's
    thread."""
    person = supervisor(actor)

    def write(w: Writes) -> store.VisitScreen:
        if store.school_name_in(w, school_id) is None:
            raise NotAllowed()
        mine = store.started_visit_of_in(w, person.id, campaign_id)
        if mine is not None and elsewhere(mine, school_id):
            raise VisitRefused(reason="busy_elsewhere", school=mine.school_name)
        return _screen_in(w, _arrive(w, person, campaign_id, school_id))

    return await actor.write_at_once(write)


async def scan(actor: Actor, campaign_id: int, building_id: int) -> store.VisitScreen:
    """A supervisor scanned a building's QR code: the visit at its school starts (or goes
    on), and the scan is on record; in one trip to the writer's thread."""
    person = supervisor(actor)

    def write(w: Writes) -> store.VisitScreen:
        building = store.school_building_in(w, building_id)
        if building is None:
            raise NotAllowed()
        school_id, _ = building
        mine = store.started_visit_of_in(w, person.id, campaign_id)
        if mine is not None and elsewhere(mine, school_id):
            raise VisitRefused(
                reason="other_school",
                school=store.school_name_in(w, school_id) or "?",
                visit_school=mine.school_name,
            )
        visit_id = _arrive(w, person, campaign_id, school_id)
        w.event(person.id, "building.scanned", "building", building_id,
                after={"visit_id": visit_id})  # fmt: skip
        return _screen_in(w, visit_id)

    return await actor.write_at_once(write)


# --- the supervision walk ------------------------------------------------------------


def _on_visit_in(actor: Actor, w: Writes, visit_id: int) -> Visit:
    """``on_visit`` read and judged inside a write run at once."""
    found = store.visit_in(w, visit_id)
    if found is None:
        raise NotAllowed()
    require_on_visit(actor.person.id, found.supervisor_ids, found.state)
    return found


async def walk_building(
    actor: Actor, visit_id: int, building_id: int, version_id: int, then: WalkThen
) -> store.WalkScreen:
    """Walk (or go on walking) a building of the visit's school; one walker at a time.
    Read, judged, written (``then``: what the chat waits for next) and read back for its
    screen in one transaction, in one trip to the writer's thread."""
    person = actor.person

    def write(w: Writes) -> store.WalkScreen:
        current = _on_visit_in(actor, w, visit_id)
        building = store.school_building_in(w, building_id)
        if building is None or building[0] != current.school_id:
            raise NotAllowed()
        walk = store.walk_of_in(w, current.id, building_id)
        if walk is None:
            walk_id = store.start_walk_in(w, current.id, building_id, version_id, person.id)
        elif walk_taken(walk, person.id):
            walker = store.person_name_in(w, walk.walker_id)
            raise VisitRefused(reason="busy", walker=walker or "?")
        else:
            walk_id = walk.id
        then(w, walk_id)
        started = store.walk_screen_in(w, walk_id)
        assert started is not None  # read in the transaction that found or made it
        return started

    return await actor.write_at_once(write)


@dataclass(frozen=True)
class Answered:
    """The supervisor's answer, and the school's own on the item (shown only now); with the
    walk as it stands after it, for the next question to be asked at once."""

    choice: Choice
    school_choice: Choice | None
    walk: SupervisionWalk
    items: tuple[tuple[int, ChecklistItem], ...]  # the walk's items, in order
    answers: Mapping[int, SupervisionAnswer]  # every answer now, in the order given
    finding_id: int | None = None  # the finding a hazard opened

    @property
    def contradicted(self) -> bool:
        return contradicts(self.school_choice, self.choice)

    @property
    def next_item(self) -> int | None:
        """The item asked next; None: every item is answered."""
        return next_item([i for i, _ in self.items], self.answers)


async def answer(
    actor: Actor,
    walk_id: int,
    item_id: int,
    choice: str,
    then: Then = _nothing,
    at: WalkAtStep | None = None,
) -> Answered:
    """The blind answer on the item asked now; a hazard opens a finding.

    ``then``: what the chat waits for next (the walk's journey), written in the same
    transaction, which runs at once: one trip to the writer's thread (``write_at_once``).
    ``at``: the walk as the tap found it (``storage.supervision.walk_step_query``, read
    with the person in one trip); read here when not given. The rules are judged on it,
    and the write judges again what may have changed since (``store.record_answer``): a
    tap is applied once, or not at all.
    """
    found = at if at is not None else await store.walk_step(actor.db, walk_id, item_id)
    if found is None or found.walk.id != walk_id:
        raise NotAllowed()
    walk = found.walk
    require_on_visit(actor.person.id, found.supervisor_ids, found.visit_state)
    require_walker(walk, actor.person.id)
    chosen = parse_choice(choice)
    items = tuple(await store.items_of_walk(actor.db, walk))  # the checklist: kept in memory
    require_next_item([i for i, _ in items], found.answers, found.drafting, item_id)
    school = found.school_choice
    person_id = actor.person.id

    def write(w: Writes) -> int | None:
        if not store.record_answer(w, walk, item_id, chosen, school, person_id):
            raise Stale()
        finding_id = None
        if chosen is Choice.HAZARD:
            finding_id = store.new_finding(
                w, walk.visit_id, walk.id, walk.building_id, item_id, person_id
            )
        then(w)
        return finding_id

    finding_id = await actor.write_at_once(write)
    given = SupervisionAnswer(item_id, chosen, school, actor.person.id, actor.now())
    return Answered(chosen, school, walk, items, {**found.answers, item_id: given}, finding_id)


def _my_walk_in(actor: Actor, w: Writes, walk_id: int) -> store.WalkScreen:
    """``my_walk`` read and judged inside a write run at once."""
    screen = store.walk_screen_in(w, walk_id)
    if screen is None:
        raise NotAllowed()
    require_on_visit(actor.person.id, screen.at.supervisor_ids, screen.at.visit_state)
    require_walker(screen.walk, actor.person.id)
    return screen


def _end_waiting_in(w: Writes, actor: Actor) -> None:
    """``_end_waiting`` inside a write run at once."""
    if actor.user_id is not None:
        people.clear_pending_in(w, actor.user_id)


async def pause(actor: Actor, walk_id: int) -> SupervisionWalk:
    """The walk waits; its answers stay, and ``/supervise`` goes on with it. Read, judged
    and written in one trip to the writer's thread."""

    def write(w: Writes) -> SupervisionWalk:
        walk = _my_walk_in(actor, w, walk_id).walk
        _end_waiting_in(w, actor)
        return walk

    return await actor.write_at_once(write)


@dataclass(frozen=True)
class AnyMore:
    """ "Any other hazard?" answered: the walk, and the finding opened (yes) or the visit's
    screen as the finished walk leaves it (no)."""

    walk: SupervisionWalk
    answers: Mapping[int, SupervisionAnswer]
    finding_id: int | None = None
    visit: store.VisitScreen | None = None


async def more(
    actor: Actor,
    walk_id: int,
    another: bool,
    then: Then = _nothing,
    seen: store.WalkScreen | None = None,
) -> AnyMore:
    """Any other hazard in this building? Yes: a free-form finding (``then``: what the chat
    waits for next, in the same write); no: the walk is done. ``seen``: the walk as the
    tap read it with the person, for its checklist (in memory once read); read here when
    not given. Read again, judged, written and read back for its screen in one
    transaction, in one trip to the writer's thread."""
    first = seen or await my_walk(actor, walk_id)
    item_ids = [i for i, _ in await store.items_of_walk(actor.db, first.walk)]
    person_id = actor.person.id

    def write(w: Writes) -> AnyMore:
        at = _my_walk_in(actor, w, walk_id).at
        walk = at.walk
        require_last_question(walk, item_ids, at.answers, at.drafting)
        if another:
            finding_id = store.new_finding(
                w, walk.visit_id, walk.id, walk.building_id, None, person_id
            )
            then(w)
            return AnyMore(walk, at.answers, finding_id=finding_id)
        store.finish_walk_in(w, walk.id, person_id)
        _end_waiting_in(w, actor)
        return AnyMore(walk, at.answers, visit=store.visit_screen_in(w, walk.visit_id))

    return await actor.write_at_once(write)


# --- a finding: photos, description, weight ----------------------------------------------


async def waiting_finding(actor: Actor, walk_id: int, step: FindingStep) -> Finding | None:
    """The walk's finding when it waits for this step (None: the walk waits for no such
    thing, and the journey says what it does wait for)."""
    draft = (await my_walk(actor, walk_id)).draft
    return draft if draft is not None and finding_step(draft) is step else None


async def describe(actor: Actor, walk_id: int, text: str) -> Finding | None:
    """The finding's description, typed; None when no finding waits for one."""
    draft = await waiting_finding(actor, walk_id, FindingStep.DESCRIPTION)
    if draft is None:
        return None
    description = clean_text(text, TEXT_MAX)
    async with actor.write() as tx:
        await store.update_finding(tx, draft.id, actor.person.id, description=description)
    return draft


async def add_photo(
    actor: Actor, walk_id: int, fetch: Callable[[], Awaitable[StoredPhoto]], unique_id: str | None
) -> Finding | None:
    """A photo of the finding (``fetch`` stores it, only when one is wanted); None when no
    finding waits for photos."""
    draft = await waiting_finding(actor, walk_id, FindingStep.PHOTOS)
    if draft is None:
        return None
    stored = await fetch()
    async with actor.write() as tx:
        await store.add_finding_photo(tx, draft.id, stored, actor.person.id, unique_id)
    return draft


async def photos_given(actor: Actor, finding_id: int, done: bool) -> store.FindingAtTap:
    """ "Photos done" (``done``) or "no photo": the description is asked next. Read,
    judged and written in one transaction, in one trip to the writer's thread; what
    follows is shown from what it read."""

    def write(w: Writes) -> store.FindingAtTap:
        at = my_draft_at(actor, store.finding_tap_in(w, finding_id))
        require_photos_answer(at.finding, done)
        store.update_finding_in(w, finding_id, actor.person.id, photos_done=1)
        return at

    at = await actor.write_at_once(write)
    return replace(at, finding=replace(at.finding, photos_done=True))


async def weigh(actor: Actor, finding_id: int, major: bool) -> store.FindingAtTap:
    """Major or not: the match is asked next (the building's ledger, read with the finding,
    offers its hazards). One transaction in one trip, as ``photos_given``."""

    def write(w: Writes) -> store.FindingAtTap:
        at = my_draft_at(actor, store.finding_tap_in(w, finding_id))
        require_step(at.finding, FindingStep.MAJOR)
        store.update_finding_in(w, finding_id, actor.person.id, major=int(major))
        return at

    at = await actor.write_at_once(write)
    return replace(at, finding=replace(at.finding, major=major))


# --- matching it to the ledger -----------------------------------------------------------


@dataclass(frozen=True)
class Matched:
    """What the finding became, with what the supervisor is told of it."""

    how: Matching
    finding: Finding
    hazard_id: int
    responsible: str = "?"  # who answers for it now
    deadline: date | None = None  # an off-list hazard's
    verifier: str = "?"  # who verified the fix of a reopened hazard
    walk: store.WalkScreen | None = None  # the finding's walk as the match leaves it


async def match_finding(
    actor: Actor, finding_id: int, hazard_id: int | None, fix_at_once_days: int
) -> Matched:
    """The finding matched: a listed hazard (reopened when closed), or off the list. Judged,
    written, its notices queued and its walk read back for what follows, in one
    transaction."""
    async with actor.write() as tx:
        found = (await my_draft(actor, finding_id, tx)).finding
        require_step(found, FindingStep.MATCH)
        hazard = None
        if hazard_id is not None:
            facts = await rectify_store.facts(tx, hazard_id)
            if facts is None:
                raise NotAllowed()
            hazard = facts[0]
        how = match(found, hazard)
        if hazard is None:
            matched = await _off_list(tx, actor, found, fix_at_once_days)
        elif how is Matching.REOPEN:
            matched = await _reopen(tx, actor, found, hazard)
        else:
            await store.record_listed(tx, found.id, hazard.id, actor.person.id)
            matched = Matched(how, found, hazard.id)
        walk = None if found.walk_id is None else await store.walk_screen(tx, found.walk_id)
    return replace(matched, walk=walk)


async def _off_list(tx: Tx, actor: Actor, found: Finding, fix_at_once_days: int) -> Matched:
    """清单外: on the ledger now, named to the principal; the task force told at once."""
    principal = await store.principal_of(tx, found.school_id)
    deadline = actor.today() + timedelta(days=fix_at_once_days)
    school = await store.school_name(tx, found.school_id)
    taskforce = await rectify_store.people_with_role(tx, "taskforce")
    key = "supervise.notice.accident" if found.major else "supervise.notice.off_list"
    hazard_id = await store.record_off_list(tx, found, actor.person.id, principal, deadline)
    await notify.tell(
        tx,
        taskforce,
        key=f"supervision.off_list:f{found.id}",
        kind=NOTICE,
        render=notify.text_only(
            key,
            id=hazard_id,
            school=school or "?",
            building=found.building_name or "?",
            what=found.description,
            supervisor=actor.person.name,
        ),
    )
    who = principal.name if principal else "?"
    return Matched(Matching.OFF_LIST, found, hazard_id, responsible=who, deadline=deadline)


async def _reopen(tx: Tx, actor: Actor, found: Finding, hazard: Hazard) -> Matched:
    """整改不到位: reopened, back with its responsible person; the verifier is named."""
    fix = await store.accepted_fix(tx, hazard.id)
    verifier = (fix.decider_name if fix else None) or "?"
    told = told_of_reopening(hazard.responsible_id, fix.decided_by if fix else None)
    await store.reopen(tx, found, hazard.id, actor.person.id)
    await notify.tell(
        tx,
        await people.by_ids(tx, *told),
        key=f"supervision.reopened:f{found.id}",
        kind=NOTICE,
        render=notify.text_only(
            "supervise.notice.reopened",
            id=hazard.id,
            school=hazard.school_name,
            reason=found.description,
            verifier=verifier,
            supervisor=actor.person.name,
        ),
    )
    return Matched(
        Matching.REOPEN,
        found,
        hazard.id,
        responsible=hazard.responsible_name or "?",
        verifier=verifier,
    )


# --- a missed building (遗漏建筑) ------------------------------------------------------------


async def begin_missed(actor: Actor, visit_id: int, then: Then) -> Visit:
    """The supervisor starts adding a building the school never registered (``then``: the
    form waits for its name), in one trip to the writer's thread."""

    def write(w: Writes) -> Visit:
        current = _on_visit_in(actor, w, visit_id)
        then(w)
        return current

    return await actor.write_at_once(write)


async def missed_use(actor: Actor, visit_id: int, use: str, then: Then) -> Visit:
    """The missed building's use, tapped: ``then`` judges, in the same write, that the
    form still waits for it, and moves it on (one trip to the writer's thread)."""
    if use not in USES:
        raise NotAllowed()

    def write(w: Writes) -> Visit:
        current = _on_visit_in(actor, w, visit_id)
        then(w)
        return current

    return await actor.write_at_once(write)


@dataclass(frozen=True)
class MissedBuilding:
    """A building as the supervisor gave it: name, use, floors, year built."""

    name: str
    use: str
    floors: int
    year_built: int | None


async def add_missed(actor: Actor, visit_id: int, building: MissedBuilding) -> store.VisitScreen:
    """遗漏建筑: the building is registered, flagged with the visit, and counted as a
    finding against the school."""
    if building.use not in USES:
        raise NotAllowed()
    async with actor.write() as tx:
        current = await on_visit(actor, visit_id, tx)
        await store.add_missed_building(
            tx,
            current,
            actor.person.id,
            building.name,
            building.use,
            building.floors,
            building.year_built,
        )
        await _end_waiting(tx, actor)
        return await _screen(tx, current.id)


# --- ending: the record ------------------------------------------------------------------


@dataclass(frozen=True)
class WalkRecord:
    """A walk as the record lists it: its building, the items that applied, each answer."""

    walk: SupervisionWalk
    items: tuple[tuple[int, ChecklistItem], ...]
    answers: Mapping[int, store.RecordedAnswer]  # by item


@dataclass(frozen=True)
class VisitRecord:
    """What a visit's record says: who, the walks with every answer, the findings, the
    contradictions."""

    visit: Visit
    supervisors: tuple[str, ...]
    made: Record
    findings: tuple[Finding, ...]
    contradictions: tuple[Contradiction, ...]
    walks: tuple[WalkRecord, ...] = ()


async def record_from(db: Reader, read: store.RecordRead) -> VisitRecord:
    """A visit's record from what ``store.record_queries`` read; ``db`` gives the walks'
    checklists, which never change (kept in memory once read)."""
    walks = []
    for w in read.walks:
        items = tuple(await store.items_of_walk(db, w))
        given = {a.item_id: a for a in read.answers if a.walk_id == w.id}
        walks.append(WalkRecord(w, items, given))
    facts = [WalkFacts(r.walk.building_name, len(r.items), r.walk.answered, r.walk.finished)
             for r in walks]  # fmt: skip
    kinds = [f.kind for f in read.findings if f.kind is not None]
    return VisitRecord(
        read.visit,
        read.supervisors,
        record(facts, kinds, len(read.contradictions)),
        read.findings,
        read.contradictions,
        tuple(walks),
    )


async def record_of(db: Reader, of: Visit, checklists: Reader | None = None) -> VisitRecord:
    """A visit's record, read whole in one trip (``checklists``: where the walks'
    checklists are read, when not through ``db``)."""
    read = await store.record_read(db, of.id)
    assert read is not None
    return await record_from(checklists or db, read)


# The record as messages in a language, in order, each within a message's limit.
RecordText = Callable[[VisitRecord, str], list[str]]


async def end_visit(actor: Actor, visit_id: int, text: RecordText) -> VisitRecord:
    """The visit ends: drafts withdrawn, its supervisors' journeys for it over, and its
    record sent to the school's principal now, not before: judged, written, queued and
    read back in one transaction."""
    async with actor.write() as tx:
        current = await on_visit(actor, visit_id, tx)
        principals = await rectify_store.people_with_role(tx, "principal", current.school_id)
        await store.end_visit(tx, current.id, actor.person.id)
        await store.end_journeys_of_visit(tx, current.id)
        made = await record_of(tx, current, actor.db)
        texts = {p.language: text(made, p.language) for p in principals}
        # One notice per message of the record, queued in order (the sender keeps it).
        for part in range(max((len(t) for t in texts.values()), default=0)):
            await notify.tell(
                tx,
                [p for p in principals if part < len(texts[p.language])],
                key=f"supervision.record:v{current.id}" + (f":{part + 1}" if part else ""),
                kind=NOTICE,
                render=partial(_part, texts, part),
            )
        await _end_waiting(tx, actor)
    return made


def _part(texts: Mapping[str, list[str]], part: int, lang: str) -> tuple[str, tuple[()]]:
    return texts[lang][part], ()
