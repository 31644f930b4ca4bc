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

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

from cases import notify
from cases.actor import Actor
from ledger.buildings import TEXT_MAX, USES, clean_text
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
    SupervisionWalk,
    Visit,
    VisitRefused,
    WalkFacts,
    arrival,
    can_draw,
    contradicts,
    elsewhere,
    finding_step,
    match,
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
from storage import campus, people
from storage import rectify as rectify_store
from storage import supervision as store
from storage.db import Database, Reader, Tx
from storage.photos import StoredPhoto

Waiting = Callable[[Tx], Awaitable[None]]
WalkWaiting = Callable[[Tx, int], Awaitable[None]]  # given the walk's id
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


async def on_visit(actor: Actor, visit_id: int) -> Visit:
    """The visit a tap names, which this person must be supervising now."""
    found = await visit(actor.db, visit_id)
    require_on_visit(actor.person.id, found.supervisor_ids, found.state)
    return found


async def my_walk(actor: Actor, walk_id: int) -> SupervisionWalk:
    """A supervision walk of a visit under way, walked by this person."""
    walk = await store.walk(actor.db, walk_id)
    if walk is None:
        raise NotAllowed()
    await on_visit(actor, walk.visit_id)
    require_walker(walk, actor.person.id)
    return walk


async def my_draft(actor: Actor, finding_id: int) -> Finding:
    """A finding this person is giving now, on a visit under way."""
    found = await store.finding(actor.db, finding_id)
    if found is None:
        raise NotAllowed()
    await on_visit(actor, found.visit_id)
    require_my_draft(found, actor.person.id)
    return found


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


async def start_drawn(actor: Actor, visit_id: int) -> Visit:
    """A drawn supervisor starts the visit on site (once)."""
    person = supervisor(actor)
    planned = await visit(actor.db, visit_id)
    require_on_drawn(person, planned)
    async with actor.write() as tx:
        await store.start_visit(tx, planned.id, person.id)
    return await visit(actor.db, planned.id)


async def _arrive(tx: Tx, person: Person, campaign_id: int, school_id: int) -> int:
    """The supervisor is at the school: its drawn visit starts, or one is made by hand."""
    live = await store.live_visit(tx, campaign_id, school_id)
    how = arrival(person, school_id, live)
    if live is None or how is Arrival.BY_HAND:
        return await store.visit_by_hand(tx, campaign_id, school_id, person.id)
    if how is Arrival.START:
        await store.start_visit(tx, live.id, person.id)
    return live.id


async def arrive(actor: Actor, campaign_id: int, school_id: int) -> Visit:
    """A school picked by hand on site: its visit starts now (the drawn one if planned)."""
    person = supervisor(actor)
    if await campus.school(actor.db, school_id) is None:
        raise NotAllowed()
    mine = await store.started_visit_of(actor.db, person.id, campaign_id)
    if mine is not None and elsewhere(mine, school_id):
        raise VisitRefused(reason="busy_elsewhere", school=mine.school_name)
    async with actor.write() as tx:
        visit_id = await _arrive(tx, person, campaign_id, school_id)
    return await visit(actor.db, visit_id)


async def scan(actor: Actor, campaign_id: int, building_id: int) -> Visit:
    """A supervisor scanned a building's QR code: the visit at its school starts (or goes
    on), and the scan is on record."""
    person = supervisor(actor)
    building = await store.school_building(actor.db, building_id)
    if building is None:
        raise NotAllowed()
    school_id, _ = building
    mine = await store.started_visit_of(actor.db, person.id, campaign_id)
    if mine is not None and elsewhere(mine, school_id):
        raise VisitRefused(
            reason="other_school",
            school=await store.school_name(actor.db, school_id) or "?",
            visit_school=mine.school_name,
        )
    async with actor.write() as tx:
        visit_id = await _arrive(tx, person, campaign_id, school_id)
        await tx.event(person.id, "building.scanned", "building", building_id,
                       after={"visit_id": visit_id})  # fmt: skip
    return await visit(actor.db, visit_id)


# --- the supervision walk ------------------------------------------------------------


async def walk_building(
    actor: Actor, visit_id: int, building_id: int, version_id: int, waiting: WalkWaiting
) -> SupervisionWalk:
    """Walk (or go on walking) a building of the visit's school; one walker at a time."""
    person = actor.person
    current = await on_visit(actor, visit_id)
    building = await store.school_building(actor.db, building_id)
    if building is None or building[0] != current.school_id:
        raise NotAllowed()
    async with actor.write() as tx:
        walk = await store.walk_of(tx, current.id, building_id)
        if walk is None:
            walk_id = await store.start_walk(tx, current.id, building_id, version_id, person.id)
        elif walk_taken(walk, person.id):
            walker = await people.person_by_id(tx, walk.walker_id)
            raise VisitRefused(reason="busy", walker=walker.name if walker else "?")
        else:
            walk_id = walk.id
        await waiting(tx, walk_id)
    started = await store.walk(actor.db, walk_id)
    assert started is not None
    return started


@dataclass(frozen=True)
class Answered:
    """The supervisor's answer, and the school's own on the item (shown only now)."""

    choice: Choice
    school_choice: Choice | None

    @property
    def contradicted(self) -> bool:
        return contradicts(self.school_choice, self.choice)


async def answer(
    actor: Actor, walk_id: int, item_id: int, choice: str, waiting: Waiting
) -> Answered:
    """The blind answer on the item asked now; a hazard opens a finding."""
    walk = await my_walk(actor, walk_id)
    chosen = parse_choice(choice)
    item_ids = [i for i, _ in await store.items_of_walk(actor.db, walk)]
    answered = await store.answers(actor.db, walk.id)
    draft = await store.draft_of_walk(actor.db, walk.id)
    require_next_item(item_ids, answered, draft, item_id)
    school = await store.school_answer(actor.db, walk.campaign_id, walk.building_id, item_id)
    async with actor.write() as tx:
        if not await store.record_answer(tx, walk, item_id, chosen, school, actor.person.id):
            raise Stale()
        if chosen is Choice.HAZARD:
            await store.create_finding(
                tx, walk.visit_id, walk.id, walk.building_id, item_id, actor.person.id
            )
        await waiting(tx)
    return Answered(chosen, school)


async def pause(actor: Actor, walk_id: int) -> SupervisionWalk:
    """The walk waits; its answers stay, and ``/supervise`` goes on with it."""
    walk = await my_walk(actor, walk_id)
    async with actor.write() as tx:
        await _end_waiting(tx, actor)
    return walk


async def more(actor: Actor, walk_id: int, another: bool, waiting: Waiting) -> SupervisionWalk:
    """Any other hazard in this building? Yes: a free-form finding; no: the walk is done."""
    walk = await my_walk(actor, walk_id)
    item_ids = [i for i, _ in await store.items_of_walk(actor.db, walk)]
    answered = await store.answers(actor.db, walk.id)
    draft = await store.draft_of_walk(actor.db, walk.id)
    require_last_question(walk, item_ids, answered, draft)
    async with actor.write() as tx:
        if another:
            await store.create_finding(
                tx, walk.visit_id, walk.id, walk.building_id, None, actor.person.id
            )
            await waiting(tx)
        else:
            await store.finish_walk(tx, walk.id, actor.person.id)
            await _end_waiting(tx, actor)
    return walk


# --- a finding: photos, description, weight ----------------------------------------------


async def waiting_finding(actor: Actor, walk_id: int, step: FindingStep) -> Finding | None:
    """The walk's finding when it waits for this step (None: the walk waits for no such
    thing, and the journey says what it does wait for)."""
    walk = await my_walk(actor, walk_id)
    draft = await store.draft_of_walk(actor.db, walk.id)
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


async def photos_given(actor: Actor, finding_id: int, done: bool) -> Finding:
    """ "Photos done" (``done``) or "no photo": the description is asked next."""
    draft = await my_draft(actor, finding_id)
    require_photos_answer(draft, done)
    async with actor.write() as tx:
        await store.update_finding(tx, draft.id, actor.person.id, photos_done=1)
    return await _fresh(actor, draft.id)


async def weigh(actor: Actor, finding_id: int, major: bool) -> Finding:
    """Major or not: the match is asked next."""
    draft = await my_draft(actor, finding_id)
    require_step(draft, FindingStep.MAJOR)
    async with actor.write() as tx:
        await store.update_finding(tx, draft.id, actor.person.id, major=int(major))
    return await _fresh(actor, draft.id)


async def _fresh(actor: Actor, finding_id: int) -> Finding:
    found = await store.finding(actor.db, finding_id)
    assert found is not None
    return found


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


async def match_finding(
    actor: Actor, finding_id: int, hazard_id: int | None, fix_at_once_days: int
) -> Matched:
    """The finding matched: a listed hazard (reopened when closed), or off the list."""
    found = await my_draft(actor, finding_id)
    require_step(found, FindingStep.MATCH)
    hazard = None
    if hazard_id is not None:
        facts = await rectify_store.facts(actor.db, hazard_id)
        if facts is None:
            raise NotAllowed()
        hazard = facts[0]
    how = match(found, hazard)
    if hazard is None:
        return await _off_list(actor, found, fix_at_once_days)
    if how is Matching.REOPEN:
        return await _reopen(actor, found, hazard)
    async with actor.write() as tx:
        await store.record_listed(tx, found.id, hazard.id, actor.person.id)
    return Matched(how, found, hazard.id)


async def _off_list(actor: Actor, found: Finding, fix_at_once_days: int) -> Matched:
    """清单外: on the ledger now, named to the principal; the task force told at once."""
    principal = await store.principal_of(actor.db, found.school_id)
    deadline = actor.today() + timedelta(days=fix_at_once_days)
    school = await store.school_name(actor.db, found.school_id)
    taskforce = await rectify_store.people_with_role(actor.db, "taskforce")
    key = "supervise.notice.accident" if found.major else "supervise.notice.off_list"
    async with actor.write() as tx:
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


async def _reopen(actor: Actor, found: Finding, hazard: Hazard) -> Matched:
    """整改不到位: reopened, back with its responsible person; the verifier is named."""
    fix = await store.accepted_fix(actor.db, hazard.id)
    verifier = (fix.decider_name if fix else None) or "?"
    told = told_of_reopening(hazard.responsible_id, fix.decided_by if fix else None)
    async with actor.write() as tx:
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


async def begin_missed(actor: Actor, visit_id: int, waiting: Waiting) -> Visit:
    """The supervisor starts adding a building the school never registered."""
    current = await on_visit(actor, visit_id)
    async with actor.write() as tx:
        await waiting(tx)
    return current


async def missed_use(actor: Actor, visit_id: int, use: str, waiting: Waiting) -> Visit:
    """The missed building's use, tapped."""
    current = await on_visit(actor, visit_id)
    if use not in USES:
        raise NotAllowed()
    async with actor.write() as tx:
        await waiting(tx)
    return current


@dataclass(frozen=True)
class MissedBuilding:
    """A building as the supervisor gave it: name, use, floors, year built."""

    name: str
    use: str
    floors: int
    year_built: int | None


async def add_missed(actor: Actor, visit_id: int, building: MissedBuilding) -> Visit:
    """遗漏建筑: the building is registered, flagged with the visit, and counted as a
    finding against the school."""
    current = await on_visit(actor, visit_id)
    if building.use not in USES:
        raise NotAllowed()
    async with actor.write() as tx:
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
    return current


# --- ending: the record ------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRecord:
    """What a visit's record says: who, the walks, the findings, the contradictions."""

    visit: Visit
    supervisors: tuple[str, ...]
    made: Record
    findings: tuple[Finding, ...]
    contradictions: tuple[Contradiction, ...]


async def record_of(db: Reader, of: Visit) -> VisitRecord:
    """A visit's record, read whole."""
    walks = [
        WalkFacts(w.building_name, len(await store.items_of_walk(db, w)), w.answered, w.finished)
        for w in await store.walks_of_visit(db, of.id)
    ]
    findings = await store.findings_of_visit(db, of.id)
    contradicted = await store.contradicted(db, of.id)
    kinds = [f.kind for f in findings if f.kind is not None]
    return VisitRecord(
        of,
        tuple(await store.supervisor_names(db, of.id)),
        record(walks, kinds, len(contradicted)),
        tuple(findings),
        tuple(contradicted),
    )


# The record as a message in a language (the chat cuts it to what a message holds).
RecordText = Callable[[VisitRecord, str], str]


async def end_visit(actor: Actor, visit_id: int, text: RecordText) -> VisitRecord:
    """The visit ends: drafts withdrawn, its supervisors' journeys for it over, and its
    record sent to the school's principal now, not before."""
    current = await on_visit(actor, visit_id)
    principals = await rectify_store.people_with_role(actor.db, "principal", current.school_id)
    async with actor.write() as tx:
        await store.end_visit(tx, current.id, actor.person.id)
        await store.end_journeys_of_visit(tx, current.id)
        made = await record_of(tx, await visit(tx, current.id))
        texts = {p.language: text(made, p.language) for p in principals}
        await notify.tell(
            tx,
            principals,
            key=f"supervision.record:v{current.id}",
            kind=NOTICE,
            render=lambda lang: (texts[lang], ()),
        )
        await _end_waiting(tx, actor)
    return await record_of(actor.db, await visit(actor.db, current.id))
