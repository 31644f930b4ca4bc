"""The walk (自查): ``/inspect``, a building, one question at a time, close it.

Every tap names what it answers (``Answer(walk, item, choice)``, a typed
button), so a tap on an old message is recognised as stale, and the walk goes on from what is
stored after any restart.
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import Document, PhotoSize

from cases.walk import Then, answer_item, report_other
from handlers import hazard as hazard_questions
from handlers import when
from handlers.base import Button, Ctx, Keyboard, Services, plain, reading
from handlers.buttons import Tap, button
from handlers.inplace import RECENT, line_room, step_in_place, with_recent
from handlers.journeys import Journey, begin, journey
from handlers.named import Card
from handlers.pages import page_line, page_of
from ledger.errors import AlreadyClosed, Holder, NotAllowed, Stale, WalkLocked
from ledger.hazards import Hazard, Step
from ledger.roles import can_walk, require
from ledger.takeover import HeldWalk, Lock, free_at, lock
from ledger.walk import (
    BuildingState,
    BuildingWalk,
    Choice,
    Position,
    Walk,
    WalkItem,
    Where,
    coverage,
    progress_bar,
)
from storage import campus, hazards, people, walks
from storage.db import Query, Row, Writes
from telegram_rules.fit import clip, fit, room_for
from texts import Html

log = logging.getLogger(__name__)

STATE_ICON = {
    BuildingState.NOT_STARTED: "⬜",
    BuildingState.IN_PROGRESS: "🟡",
    BuildingState.CLOSED: "✅",
}


@reading
async def inspect_command(ctx: Ctx) -> None:
    """``/inspect``: the school's buildings, their states and the coverage."""
    await _start(ctx)


async def _start(ctx: Ctx, read: list[Row] | None = None) -> None:
    """The buildings of one's school, or first which school (people in more than one).
    ``read``: the buildings of all one's schools, read already."""
    person = ctx.member()
    schools = person.school_ids
    if not schools:
        raise NotAllowed()
    if len(schools) > 1:
        names = {m.school_id: m.school_name for m in person.memberships}
        await ctx.reply(
            "inspect.pick_school", [[PickSchool(s).labelled(str(names[s]))] for s in schools]
        )
        return
    found = None if read is None else walks.school_buildings_from(read, schools[0])
    await show_buildings(ctx, schools[0], found)


@button("inspect", legacy="in")
@dataclass(frozen=True)
class StartInspecting(Tap):
    """The button after joining, doing what ``/inspect`` does."""

    uses_checklist = True
    reads_only = True
    zero: int = 0  # the old button's only field

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [campus.members_buildings_query(tg_user_id, services.campaign_id)]

    async def tap(self, ctx: Ctx) -> None:
        read = (await self.read_first(ctx))[0]
        await ctx.settle()
        await _start(ctx, read)


def walk_button(ctx: Ctx) -> list[list[Button]] | None:
    """A button to start walking, for a member of a school (none for city roles)."""
    if ctx.person is None or not ctx.person.school_ids:
        return None  # no markup at all rather than an empty keyboard
    return [[StartInspecting().labelled(ctx.t("friction.walk.start"))]]


def resume_button(ctx: Ctx, building_id: int, building_name: str) -> list[list[Button]]:
    """A button to go on with a paused walk, where it stopped."""
    label = ctx.t("inspect.resume", building=building_name)
    return [[OpenBuilding(building_id).labelled(label)]]


@button("school", legacy="s")
@dataclass(frozen=True)
class PickSchool(Tap):
    """A school chosen from the list (people in more than one school)."""

    uses_checklist = True
    reads_only = True
    school_id: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [campus.buildings_with_state_query(self.school_id, services.campaign_id)]

    async def tap(self, ctx: Ctx) -> None:
        require(can_walk(ctx.member(), self.school_id))
        found = walks.buildings_from((await self.read_first(ctx))[0])
        await ctx.settle()
        await show_buildings(ctx, self.school_id, found)


async def show_buildings(ctx: Ctx, school_id: int, found: list[BuildingWalk] | None = None) -> None:
    """The school's buildings (one of the person's schools): their states and coverage.
    ``found``: its buildings, read already."""
    shown = await _buildings_page(ctx, school_id, 1, found)
    if shown is None:
        school = next(m.school_name for m in ctx.member().memberships if m.school_id == school_id)
        await ctx.reply("inspect.no_buildings", school=school)
        return
    await ctx.say(*shown)


@button("buildings_page")
@dataclass(frozen=True)
class BuildingsPage(Tap):
    """Another page of the school's buildings, in place."""

    uses_checklist = True
    reads_only = in_place = True
    school_id: int
    page: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [campus.buildings_with_state_query(self.school_id, services.campaign_id)]

    async def tap(self, ctx: Ctx) -> None:
        require(can_walk(ctx.member(), self.school_id))
        found = walks.buildings_from((await self.read_first(ctx))[0])
        shown = await _buildings_page(ctx, self.school_id, self.page, found)
        if shown is None:  # the buildings were removed meanwhile
            raise Stale()
        await ctx.edit(*shown)


async def _buildings_page(
    ctx: Ctx, school_id: int, number: int, found: list[BuildingWalk] | None = None
) -> tuple[str, list[list[Button]]] | None:
    """The coverage and one page of the buildings (one's own walks to go on with first), a
    button each: a school may have more buildings than a keyboard holds. None: no buildings.
    ``found``: the buildings, read already."""
    person = ctx.member()
    if found is None:
        found = await walks.buildings(ctx.db, school_id, ctx.services.campaign_id)
    if not found:
        return None
    school = next(m.school_name for m in person.memberships if m.school_id == school_id)
    cov = coverage([b.state for b in found])
    mine = [b for b in found if b.state is BuildingState.IN_PROGRESS and b.walker_id == person.id]
    entries = [await _building_button(ctx, b, True) for b in mine]
    entries += [await _building_button(ctx, b, False) for b in found]
    page = page_of(ctx, entries, number, lambda n: BuildingsPage(school_id, n))
    text = ctx.t(
        "inspect.list",
        school=school,
        closed=cov.closed,
        total=cov.total,
        in_progress=cov.in_progress,
        bar=progress_bar(cov.closed, cov.total),
    )
    return "\n".join(filter(None, [text, page_line(ctx, page)])), page.rows


async def _building_button(ctx: Ctx, b: BuildingWalk, resume: bool) -> Button:
    """A building's button: go on with one's own walk, or its state and answers so far."""
    if resume:
        return OpenBuilding(b.id).labelled(plain(ctx.t("inspect.resume", building=b.name)))
    label = ctx.t(
        f"inspect.state.{b.state.value}",
        name=b.name,
        done=b.answered,
        total=await _item_count(ctx, b),
    )
    if b.missed:  # 遗漏建筑: added by a supervision visit
        label = ctx.t("inspect.missed", label=label)
    return OpenBuilding(b.id).labelled(f"{STATE_ICON[b.state]} {plain(label)}")


async def _item_count(ctx: Ctx, building: BuildingWalk) -> int:
    """Its walk's items (the checklist in force for a building not started)."""
    version = building.checklist_version_id or ctx.services.checklist_version_id
    return len(await walks.items_asked(ctx.db, version, building.use, building.year_built))


@button("building", legacy="b")
@dataclass(frozen=True)
class OpenBuilding(Tap):
    """A building tapped: start its walk, go on with one's own, or meet the lock."""

    uses_checklist = True

    building_id: int

    def first_reads(self) -> list[Query]:
        return [campus.building_query(self.building_id)]

    async def tap(self, ctx: Ctx) -> None:
        building = campus.building_from((await self.read_first(ctx))[0])
        await open_walk(ctx, self.building_id, -1 if building is None else building.school_id)


async def open_walk(ctx: Ctx, building_id: int, school_id: int | None = None) -> None:
    """Start the building's walk, or go on with one's own. ``school_id``: the building's,
    read already (-1: no such building)."""
    person = ctx.member()
    if school_id is None:
        school_id = await walks.building_school(ctx.db, building_id)
    if school_id is None or school_id < 0 or not can_walk(person, school_id):
        raise NotAllowed()
    campaign = ctx.services.campaign_id
    query = ctx.update.callback_query
    try:
        async with ctx.write() as tx:
            walk = await walks.inspection_of(tx, campaign, building_id)
            if walk is None:
                walk_id = await walks.start_inspection(
                    tx,
                    campaign_id=campaign,
                    building_id=building_id,
                    version_id=ctx.services.checklist_version_id,
                    walker_id=person.id,
                )
            else:
                _check_walkable(ctx, walk)
                walk_id = walk.id
            await begin(tx, ctx.user_id, Walking(walk_id))
            opened = await walks.walk(tx, walk_id)  # as written, in the same trip's thread
    except WalkLocked as locked:
        await _tell_locked(ctx, locked)
        return
    if query:
        await ctx.answer_tap()
    assert opened is not None
    await ask_walk(ctx, opened)


async def _tell_locked(ctx: Ctx, locked: WalkLocked) -> None:
    """Who is walking the building; a take-over button once their walk is idle."""
    holder = locked.holder
    assert holder is not None  # a walk held by somebody else: busy or idle
    walker = await people.person_by_id(ctx.db, holder.walker_id)
    keyboard = (
        [[TakeOver(holder.walk_id).labelled(ctx.t("walk.take_over"))]]
        if locked.reason == Lock.IDLE
        else None
    )
    if ctx.update.callback_query:
        await ctx.answer_tap()
    last = when.local(holder.last_step, ctx.services.clock.tz)
    free = free_at(
        HeldWalk(holder.walker_id, last, closed=False), ctx.services.takeover_after_minutes
    )
    await ctx.reply(
        f"friction.walk.locked_{locked.reason}",
        keyboard,
        building=locked.building,
        walker=walker.name if walker else "?",
        last=ctx.moment(last),
        ago=ctx.t("friction.walk.just_now")
        if holder.minutes < 1
        else ctx.t("friction.walk.ago", minutes=holder.minutes),
        free_at=ctx.moment(free)
        if free.date() != last.date()
        else when.time_text(free, ctx.services.clock.tz),
    )


def _check_walkable(ctx: Ctx, walk: Walk) -> None:
    """Refuse a closed building, or one somebody else is walking (unless idle)."""
    held = HeldWalk(walk.walker_id, walk.last_activity_at, closed=walk.closed_at is not None)
    decided = lock(held, ctx.member().id, ctx.now(), ctx.services.takeover_after_minutes)
    if decided is Lock.CLOSED:
        assert walk.closed_at is not None
        raise AlreadyClosed(building=walk.building_name, date=ctx.moment(walk.closed_at))
    if decided is Lock.OWN:
        return
    minutes = int((ctx.now() - held.last_activity).total_seconds() // 60)
    raise WalkLocked(
        reason=decided.value,
        building=walk.building_name,
        holder=Holder(walk.id, walk.walker_id, walk.last_activity_at, minutes),
    )


@button("take_over", legacy="t")
@dataclass(frozen=True)
class TakeOver(Tap):
    """Take over a walk left idle long enough."""

    uses_checklist = True

    walk_id: int

    def first_reads(self) -> list[Query]:
        return _walk_read(self.walk_id)

    async def tap(self, ctx: Ctx) -> None:
        await take_over(ctx, self.walk_id, walks.walk_from((await self.read_first(ctx))[0]))


async def take_over(ctx: Ctx, walk_id: int, walk: Walk | None) -> None:
    """Take the walk over (``walk``: as read with the person) once it is idle."""
    person = ctx.member()
    if walk is None or walk.id != walk_id or not can_walk(person, walk.school_id):
        raise NotAllowed()
    try:
        async with ctx.write() as tx:
            walk = await walks.walk(tx, walk_id)
            assert walk is not None
            try:
                _check_walkable(ctx, walk)
            except WalkLocked as locked:
                if locked.reason != Lock.IDLE:
                    raise
                await walks.take_over(tx, walk.id, walk.walker_id, person.id)
            await begin(tx, ctx.user_id, Walking(walk.id))
            taken = await walks.walk(tx, walk.id)  # as written
    except WalkLocked as locked:  # busy again since the button was shown: who, and until when
        await _tell_locked(ctx, locked)
        return
    await ctx.settle()
    assert taken is not None
    await ask_walk(ctx, taken)


async def ask_current(ctx: Ctx, walk_id: int) -> None:
    """Ask whatever the walk waits for now, as a new message."""
    walk = await walks.walk(ctx.db, walk_id)
    assert walk is not None
    await ask_walk(ctx, walk)


async def ask_walk(ctx: Ctx, walk: Walk) -> None:
    """Ask what ``walk`` (read already) waits for, as a new message."""
    items = await walks.walk_items(ctx.db, walk)
    await _ask(ctx, walk, items, walk.position([i.id for i in items]))


async def _ask(
    ctx: Ctx,
    walk: Walk,
    items: Sequence[WalkItem],
    where: Position,
    found: list[Hazard] | None = None,
) -> None:
    """Ask what the walk waits for at ``where`` (as stored in ``walk``), as a new message.
    ``found``: the walk's hazards, read already (for its summary)."""
    if where.where is Where.HAZARD:
        assert where.hazard_id is not None
        hazard = await hazards.hazard(ctx.db, where.hazard_id)
        assert hazard is not None
        await hazard_questions.ask(ctx, hazard)
    elif where.where in (Where.ITEM, Where.EXTRA):
        await ctx.ask(*_question(ctx, walk, items, where, recent=False))
    elif where.where is Where.SUMMARY:
        await _summary(ctx, walk, items, found)
    else:
        await ctx.reply("walk.closed", building=walk.building_name)


def _question(
    ctx: Ctx, walk: Walk, items: Sequence[WalkItem], where: Position, recent: bool
) -> tuple[str, Keyboard]:
    """An item's question (or "any other hazard?") with its buttons; ``recent``: with the
    last answers above it, for a question that replaces the one just answered."""
    lines = _answer_lines(ctx, items, walk.answers, RECENT) if recent else []
    if where.where is Where.EXTRA:
        question = ctx.t("walk.extra", building=walk.building_name)
        keyboard: Keyboard = [
            [
                OtherHazard(walk.id, True).labelled(ctx.t("button.yes")),
                OtherHazard(walk.id, False).labelled(ctx.t("button.no")),
            ]
        ]
    else:
        item = items[where.index]
        question = ctx.t(
            "walk.question",
            building=walk.building_name,
            n=where.index + 1,
            total=len(items),
            code=item.code,
            text=item.text(ctx.lang),
        )
        keyboard = [
            [
                Answer(walk.id, item.id, Choice.OK).labelled(ctx.t("walk.ok")),
                Answer(walk.id, item.id, Choice.HAZARD).labelled(ctx.t("walk.hazard")),
            ],
            [
                Answer(walk.id, item.id, Choice.NA).labelled(ctx.t("walk.na")),
                Pause(walk.id).labelled(ctx.t("walk.pause")),
            ],
        ]
    return with_recent(lines, question), keyboard


def _answer_lines(
    ctx: Ctx, items: Sequence[WalkItem], answers: Mapping[int, Choice], last: int | None = None
) -> list[str]:
    """One line per answered item ("✓ 1. 疏散通道… — 无隐患"): the ``last`` ones given,
    or all in the checklist's order."""
    number = {item.id: (n, item) for n, item in enumerate(items, start=1)}
    given = [i for i in answers if i in number]
    if last is None:
        given.sort(key=lambda i: number[i][0])
    else:
        given = given[-last:] if last else []
    return [
        ctx.t(
            "step.line",
            mark=ctx.t(f"step.mark.{answers[i].value}"),
            n=number[i][0],
            text=clip(number[i][1].text(ctx.lang), line_room(ctx.lang)),
            answer=ctx.t(f"step.answer.{answers[i].value}"),
        )
        for i in given
    ]


async def _summary(
    ctx: Ctx, walk: Walk, items: Sequence[WalkItem], found: list[Hazard] | None = None
) -> None:
    """The building's summary with its close button: every answer and every hazard (each
    clipped), as far as one message holds, the rest counted, so that the close button is
    always sent."""
    given = list(walk.answers.values())
    if found is None:
        found = await hazards.hazards_of_inspection(ctx.db, walk.id)
    answered = "\n".join(_answer_lines(ctx, items, walk.answers))
    lines = [
        f"{n}. {hazard_questions.summary(ctx, h, listed=True)}"
        for n, h in enumerate(found, start=1)
    ]

    def text(listed: list[str]) -> str:
        return ctx.t(
            "walk.summary",
            building=walk.building_name,
            total=len(items),
            ok=given.count(Choice.OK),
            na=given.count(Choice.NA),
            hazards=len(found),
            lines=Html(
                ctx.t(
                    "step.summary",
                    answers=Html(answered),
                    hazards=Html("\n".join(listed) if listed else ctx.t("walk.no_hazards")),
                )
            ),
        )

    def more(count: int) -> str:
        return ctx.t("visible.more_hazards", count=count)

    await ctx.ask(
        text(fit(lines, room_for(text([])), more)),
        [[CloseBuilding(walk.id).labelled(ctx.t("walk.close"))]],
    )


async def _my_walk(ctx: Ctx, walk_id: int, read: list[Row] | None = None) -> Walk:
    """The walk a tap names, which must be this person's and still open (``read``: the
    walk's row, read with the person when the tap was received).

    A colleague's walk is not theirs to answer (not allowed, even once closed); one
    they held until someone took it over says so; their own closed walk is stale.
    """
    person = ctx.member()
    walk = walks.walk_from(read) if read is not None else await walks.walk(ctx.db, walk_id)
    if walk is None or walk.id != walk_id or not can_walk(person, walk.school_id):
        raise NotAllowed()
    if walk.walker_id != person.id:
        if not await walks.ever_walked_by(ctx.db, walk.id, person.id):
            raise NotAllowed()
        if walk.closed_at is None:
            raise WalkLocked(reason="taken", building=walk.building_name)
    if walk.closed_at is not None:
        raise Stale()
    return walk


def _walking(ctx: Ctx, walk_id: int) -> Then:
    """The person walks this walk on (their journey), written with their answer."""
    state = Walking(walk_id)

    def then(w: Writes) -> None:
        people.set_pending_in(w, ctx.user_id, state.kind, state.stored())

    return then


def _walk_read(walk_id: int) -> list[Query]:
    """A walk's tap reads its walk with the person, in one trip."""
    return [walks.walk_query(walk_id)]


def _first(ctx: Ctx) -> list[Row] | None:
    return ctx.first_reads[0] if ctx.first_reads else None


@button("answer", legacy="a")
@dataclass(frozen=True)
class Answer(Tap):
    """An item of a walk answered: no hazard, hazard or not applicable."""

    uses_checklist = True

    walk_id: int
    item_id: int
    choice: Choice

    def first_reads(self) -> list[Query]:
        return _walk_read(self.walk_id)

    async def tap(self, ctx: Ctx) -> None:
        await answer(ctx, self.walk_id, self.item_id, self.choice)


async def answer(ctx: Ctx, walk_id: int, item_id: int, choice: Choice) -> None:
    """An item answered: one transaction, then the next question. "No hazard" and "not
    applicable" turn the tapped question into the next one (one edit, the last answers
    shown above it); a hazard found asks its own questions in new messages."""
    walk = await _my_walk(ctx, walk_id, _first(ctx))
    items = await walks.walk_items(ctx.db, walk)  # the checklist: read once per connection
    where = await answer_item(
        ctx.actor(), walk, [i.id for i in items], item_id, choice, _walking(ctx, walk.id)
    )
    now = dataclasses.replace(
        walk, answers={**walk.answers, item_id: choice}, draft_id=where.hazard_id
    )
    if where.where in (Where.ITEM, Where.EXTRA) and await _step(ctx, now, items, where):
        return
    await ctx.settle(ctx.t(f"walk.{choice.name.lower()}"))
    await _ask(ctx, now, items, where)


async def _step(ctx: Ctx, walk: Walk, items: Sequence[WalkItem], where: Position) -> bool:
    """The tapped question edited into the next one (``handlers.inplace``)."""
    return await step_in_place(ctx, *_question(ctx, walk, items, where, recent=True))


@button("pause", legacy="p")
@dataclass(frozen=True)
class Pause(Tap):
    """Stop for now; ``/inspect`` goes on at the same question."""

    walk_id: int

    def first_reads(self) -> list[Query]:
        return _walk_read(self.walk_id)

    async def tap(self, ctx: Ctx) -> None:
        await pause(ctx, self.walk_id)


async def pause(ctx: Ctx, walk_id: int) -> None:
    walk = await _my_walk(ctx, walk_id, _first(ctx))
    async with ctx.write() as tx:
        await people.clear_pending(tx, ctx.user_id)
    await ctx.settle(ctx.t("walk.pause"))
    await ctx.reply(
        "walk.paused",
        resume_button(ctx, walk.building_id, walk.building_name),
        building=walk.building_name,
    )


@button("other", legacy="x")
@dataclass(frozen=True)
class OtherHazard(Tap):
    """Any other hazard in this building? Yes or no."""

    uses_checklist = True

    walk_id: int
    yes: bool

    def first_reads(self) -> list[Query]:
        # And its hazards, for the summary that "no" brings (answering adds none).
        return [*_walk_read(self.walk_id), hazards.hazards_of_inspection_query(self.walk_id)]

    async def tap(self, ctx: Ctx) -> None:
        await other_hazard(ctx, self.walk_id, self.yes)


async def other_hazard(ctx: Ctx, walk_id: int, yes: bool) -> None:
    walk = await _my_walk(ctx, walk_id, _first(ctx))
    items = await walks.walk_items(ctx.db, walk)
    where = await report_other(
        ctx.actor(), walk, [i.id for i in items], yes, _walking(ctx, walk.id)
    )
    await ctx.settle(ctx.t("button.yes" if yes else "button.no"))
    found = hazards.hazards_from(ctx.first_reads[1]) if len(ctx.first_reads) > 1 else None
    await _ask(
        ctx,
        dataclasses.replace(walk, extra_done=not yes, draft_id=where.hazard_id),
        items,
        where,
        found,
    )


@button("close", legacy="c")
@dataclass(frozen=True)
class CloseBuilding(Tap):
    """Close the building (销号) after the summary."""

    uses_checklist = True

    walk_id: int

    def first_reads(self) -> list[Query]:
        return _walk_read(self.walk_id)

    async def tap(self, ctx: Ctx) -> None:
        await close_building(ctx, self.walk_id)


async def close_building(ctx: Ctx, walk_id: int) -> None:
    walk = await _my_walk(ctx, walk_id, _first(ctx))
    items = await walks.walk_items(ctx.db, walk)
    if walk.position([i.id for i in items]).where is not Where.SUMMARY:
        raise Stale()
    person = ctx.member()
    async with ctx.write() as tx:
        if not await walks.close_inspection(tx, walk.id, person.id):
            raise Stale()
        await people.clear_pending(tx, ctx.user_id)
        found = await walks.buildings(tx, walk.school_id, walk.campaign_id)  # as closed now
    await ctx.settle(ctx.t("walk.close"))
    cov = coverage([b.state for b in found])
    await ctx.reply(
        "walk.closed_now",
        building=walk.building_name,
        closed=cov.closed,
        total=cov.total,
        bar=progress_bar(cov.closed, cov.total),
    )


# --- the hazard questions of a walk (and of a quick report) -------------------------


async def continue_after(ctx: Ctx, updated: Hazard, walk_id: int | None) -> None:
    """After a hazard answer: the next hazard question, or back to the walk (if any)."""
    if updated.state == "draft":
        await hazard_questions.ask(ctx, updated)
        return
    await ctx.reply(
        "hazard.recorded",
        [[Card(updated.id).labelled(ctx.t("card.open"))]],
        line=Html(hazard_questions.summary(ctx, updated)),
        id=updated.id,
    )
    if walk_id is not None:
        await ask_current(ctx, walk_id)


async def draft_text(ctx: Ctx, draft: Hazard | None, text: str, walk_id: int | None) -> bool:
    """A typed answer to the draft hazard's question; False when it asks for none."""
    if draft is None or draft.state != "draft":
        return False
    updated = await hazard_questions.on_text(ctx, draft, text)
    if updated is None:
        return False
    await continue_after(ctx, updated, walk_id)
    return True


async def draft_photo(ctx: Ctx, draft: Hazard | None, picture: PhotoSize | Document) -> bool:
    """A photo for the draft hazard at its photo step; False at any other step."""
    if (
        draft is None
        or draft.state != "draft"
        or hazard_questions.step_of(draft) is not Step.PHOTOS
    ):
        return False
    await hazard_questions.on_photo(ctx, draft, picture)
    fresh = await hazards.hazard(ctx.db, draft.id)
    assert fresh is not None
    await hazard_questions.ask(ctx, fresh)
    return True


async def on_hazard_answer(ctx: Ctx, tapped: hazard_questions.HazardAnswer) -> None:
    """A tapped hazard answer, then the next question (of the hazard, or of the walk)."""
    step, value = tapped.step, tapped.value
    person = ctx.member()
    found = await tapped.read_first(ctx)
    draft = hazards.hazard_from(found[0])
    if draft is None or not can_walk(person, draft.school_id) or draft.reported_by != person.id:
        raise NotAllowed()
    if draft.state != "draft":
        raise Stale()
    checked = found[1] if len(found) > 1 else None
    updated = await hazard_questions.on_button(ctx, draft, step, value, checked)
    await ctx.settle(_label(ctx, step, value, updated))
    await continue_after(ctx, updated, None if draft.source == "quick" else draft.inspection_id)


def _label(ctx: Ctx, step: Step, value: str, updated: Hazard) -> str:
    """How a tapped answer is shown under its question (HTML: names are escaped)."""
    if value in ("y", "n"):
        return ctx.t("button.yes" if value == "y" else "button.no")
    if step is Step.BUILDING:
        return html.escape(str(updated.building_name), quote=False)
    if step is Step.RESPONSIBLE:
        return html.escape(str(updated.responsible_name), quote=False)
    if step is Step.DEADLINE and updated.deadline is not None:
        return ctx.day(updated.deadline)
    return ctx.t("button.photos_done" if value == "done" else "button.no_photo")


@journey("walk")
@dataclass(frozen=True)
class Walking(Journey):
    """A walk under way: taps answer its items; typed text and photos go to the hazard
    being reported in it. ``/cancel`` pauses it, never loses it."""

    cancelled = "cancel.walk"
    inspection_id: int

    async def _draft(self, ctx: Ctx) -> Hazard | None:
        hazard_id = await walks.walk_draft(ctx.db, self.inspection_id)
        return None if hazard_id is None else await hazards.hazard(ctx.db, hazard_id)

    async def text(self, ctx: Ctx, text: str) -> None:
        if not await draft_text(ctx, await self._draft(ctx), text, self.inspection_id):
            await super().text(ctx, text)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        if not await draft_photo(ctx, await self._draft(ctx), picture):
            await super().photo(ctx, picture)

    async def again(self, ctx: Ctx) -> None:
        await ask_current(ctx, self.inspection_id)

    async def still_theirs(self, ctx: Ctx) -> bool:
        """Not a walk someone else took over, or one closed meanwhile."""
        walk = await walks.walk(ctx.db, self.inspection_id)
        person = ctx.person
        return (
            walk is not None
            and person is not None
            and walk.walker_id == person.id
            and walk.closed_at is None
        )

    async def after_cancel(self, ctx: Ctx) -> Keyboard | None:
        walk = await walks.walk(ctx.db, self.inspection_id)
        return None if walk is None else resume_button(ctx, walk.building_id, walk.building_name)
