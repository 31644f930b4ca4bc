"""Supervision (督查) in chat: ``/supervise``, a visit, blind walks, findings, ``/visits``.

A supervisor starts a visit on site (a drawn one, a school picked by hand, or
by scanning a building's QR code), sees the school's buildings with their
self-inspection state and ledger hazards, and walks buildings in supervision
mode: the checklist one question at a time, answered blind; the school's own
answer is shown only after. A hazard is photographed, described, weighed
(major or not) and matched to the ledger: a listed hazard, a closed one
rectified badly (reopened), or off-list (清单外: put on the ledger, the task
force told at once). Ending the visit makes its record and sends it to the
principal, not before. Buttons are typed records (``handlers.buttons``); what
the supervisor types or sends is handled by journey states
(``handlers.journeys``). Each tap reads its input, calls its use case
(``cases.supervision``, which checks the rights again) and shows the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from html import escape

from telegram import Document, PhotoSize

from cases import supervision as case
from cases.supervision import VisitRecord
from handlers import hazard as hazard_questions
from handlers.base import Button, Ctx, entry
from handlers.buttons import Tap, button
from handlers.journeys import Journey, begin, journey, load
from handlers.pages import page_line, page_of
from ledger.buildings import NAME_MAX, USES, clean_text, parse_floors, parse_year_built
from ledger.errors import NotAllowed, Stale
from ledger.hazards import Hazard
from ledger.supervision import (
    Finding,
    Matching,
    Visit,
    VisitState,
    can_list_visits,
    can_open_record,
    can_see_record,
    finding_step,
    match_order,
    next_item,
    planned_for,
    reopenable,
    schools_to_visit,
)
from ledger.supervision import FindingStep as Step
from ledger.walk import Choice
from storage import people
from storage import supervision as store
from storage.db import Tx
from telegram_rules.fit import clip, fit, room_for
from texts import Html, t

SCHOOLS_PAGE = 8
CLIP = 60  # characters of a description quoted in a list line
MATCH_MAX = 12  # listed hazards offered for a match; the building's, same item first
EMPTY = "supervise.ledger_empty"
ICON = {"not_started": "⬜", "in_progress": "🟡", "closed": "✅"}


def _minute(moment: datetime | None) -> str:
    """A moment as a record shows it: its day and minute, as it was stored."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _label(ctx: Ctx, choice: Choice | None) -> str:
    if choice is None:
        return ctx.t("supervise.school_none")
    return ctx.t(f"walk.{choice.name.lower()}")


# --- /supervise ---------------------------------------------------------------------


@entry
async def supervise_command(ctx: Ctx) -> None:
    """``/supervise``: the visit under way, the drawn visits to start, or pick a school."""
    person = case.supervisor(ctx.actor())
    current = await store.started_visit_of(ctx.db, person.id, ctx.services.campaign_id)
    if current is not None:
        await show_visit(ctx, current)
        return
    drawn = planned_for(await store.visits(ctx.db, ctx.services.campaign_id), person.id)
    rows: list[list[Button]] = [
        [StartVisit(v.id).as_button(ctx.t("supervise.start", school=v.school_name))] for v in drawn
    ]
    rows.append([SchoolPage(0).as_button(ctx.t("supervise.by_hand"))])
    await ctx.reply("supervise.menu", rows, count=len(drawn))


@button("sv_start")
@dataclass(frozen=True)
class StartVisit(Tap):
    """Start a drawn visit, on site."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        started = await case.start_drawn(ctx.actor(), self.visit_id)
        await ctx.settle(ctx.t("supervise.started_note"))
        await show_visit(ctx, started)


@button("sv_schools")
@dataclass(frozen=True)
class SchoolPage(Tap):
    """A page of schools to pick one by hand."""

    page: int

    async def tap(self, ctx: Ctx) -> None:
        person = case.supervisor(ctx.actor())
        schools = schools_to_visit(person, await store.schools(ctx.db))
        start = self.page * SCHOOLS_PAGE
        shown = schools[start : start + SCHOOLS_PAGE]
        if not shown and self.page:
            raise Stale()
        rows = [[PickSchool(s.id).as_button(escape(f"{s.name}（{s.district}）"))] for s in shown]
        turn = []
        if self.page:
            turn.append(SchoolPage(self.page - 1).as_button("◀"))
        if start + SCHOOLS_PAGE < len(schools):
            turn.append(SchoolPage(self.page + 1).as_button("▶"))
        if turn:
            rows.append(turn)
        await ctx.edit(ctx.t("supervise.pick_school", count=len(schools)), rows)


@button("sv_pick")
@dataclass(frozen=True)
class PickSchool(Tap):
    """A school picked by hand: its visit starts now."""

    school_id: int

    async def tap(self, ctx: Ctx) -> None:
        started = await case.arrive(ctx.actor(), ctx.services.campaign_id, self.school_id)
        await ctx.settle()
        await show_visit(ctx, started)


async def scanned(ctx: Ctx, building_id: int) -> None:
    """A supervisor scanned a building's QR code: its walk opens in the visit at that school."""
    started = await case.scan(ctx.actor(), ctx.services.campaign_id, building_id)
    await WalkBuilding(started.id, building_id).tap(ctx)


# --- the visit ---------------------------------------------------------------------


async def show_visit(ctx: Ctx, visit: Visit, number: int = 1, edit: bool = False) -> None:
    """The school's buildings: self-inspection state, ledger hazards, this visit's walks;
    a page of them at a time (``handlers.pages``: a school of any size fits Telegram's
    keyboards, and its "add a missed building" and "end" buttons always show)."""
    walked = {w.building_id: w for w in await store.walks_of_visit(ctx.db, visit.id)}
    found = await store.buildings_of_visit(ctx.db, visit)
    entries = [WalkBuilding(visit.id, b.id).as_button(f"🕵️ {escape(b.name)}") for b in found]
    page = page_of(ctx, entries, number, lambda n: VisitPage(visit.id, n), above=2)
    lines = []
    for b in (found[i] for i in page.shown):
        walk = walked.get(b.id)
        mark = (
            ""
            if walk is None
            else ctx.t("supervise.walked" if walk.finished else "supervise.walking")
        )
        lines.append(
            ctx.t(
                "supervise.building_line",
                icon=ICON[b.self_state],
                name=b.name,
                state=ctx.t(f"supervise.self.{b.self_state}"),
                hazards=b.hazards,
                open=b.still_open,
                mark=mark,
                missed=ctx.t("supervise.missed_flag") if b.missed else "",
            )
        )
    if page.count > 1:
        lines.append(page_line(ctx, page))
    buttons: list[list[Button]] = list(page.rows)
    buttons.append([AddMissed(visit.id).as_button(ctx.t("supervise.add_missed"))])
    buttons.append([EndVisit(visit.id).as_button(ctx.t("supervise.end"))])
    text = ctx.t(
        "supervise.visit",
        school=visit.school_name,
        how=ctx.t(f"supervise.chosen.{visit.chosen_by.value}"),
        started=_minute(visit.started_at),
        lines=Html(_fitted(ctx, lines, "supervise.no_buildings", 1500)),
    )
    if edit:
        await ctx.edit(text, buttons)
    else:
        await ctx.say(text, buttons)


@button("sv_visit_page")
@dataclass(frozen=True)
class VisitPage(Tap):
    """Another page of the visited school's buildings, in place."""

    reads_only = True
    visit_id: int
    page: int

    async def tap(self, ctx: Ctx) -> None:
        visit = await case.on_visit(ctx.actor(), self.visit_id)
        await show_visit(ctx, visit, self.page, edit=True)


@button("sv_walk")
@dataclass(frozen=True)
class WalkBuilding(Tap):
    """Walk (or go on walking) a building of the visit's school in supervision mode."""

    visit_id: int
    building_id: int

    async def tap(self, ctx: Ctx) -> None:
        async def waiting(tx: Tx, walk_id: int) -> None:
            await begin(tx, ctx.user_id, Walking(walk_id))

        walk = await case.walk_building(
            ctx.actor(),
            self.visit_id,
            self.building_id,
            ctx.services.checklist_version_id,
            waiting,
        )
        if ctx.update.callback_query is not None:
            await ctx.update.callback_query.answer()
        hazards = await store.hazards_of_building(ctx.db, walk.building_id)
        await ctx.reply(
            "supervise.ledger",
            building=walk.building_name,
            lines=Html(
                _fitted(
                    ctx, [_hazard_line(ctx, h) for h in hazards], "supervise.ledger_empty", 3500
                )
            ),
        )
        await ask_current(ctx, walk.id)


def _fitted(ctx: Ctx, lines: list[str], empty: str, room: int) -> str:
    """List lines within ``room`` units, the rest counted; ``empty``'s text when none."""
    if not lines:
        return ctx.t(empty) if empty else ""
    return "\n".join(fit(lines, room, lambda count: ctx.t("supervise.more", count=count)))


def _hazard_line(ctx: Ctx, h: Hazard) -> str:
    return ctx.t(
        "supervise.hazard_line",
        id=h.id,
        code=h.item_code or ctx.t("supervise.free_form"),
        text=clip(h.description or "", CLIP),
        state=ctx.t(f"supervise.hazard_state.{h.state.value}"),
        accident=ctx.t("supervise.accident_flag") if h.accident_grade else "",
    )


async def ask_current(ctx: Ctx, walk_id: int) -> None:
    """Whatever the supervision walk waits for: a finding's step, an item, or more."""
    walk = await store.walk(ctx.db, walk_id)
    assert walk is not None
    draft = await store.draft_of_walk(ctx.db, walk_id)
    if draft is not None:
        await ask_finding(ctx, draft)
        return
    if walk.finished:
        await ctx.reply("supervise.walk_done", building=walk.building_name)
        return
    items = await store.items_of_walk(ctx.db, walk)
    answered = await store.answers(ctx.db, walk_id)
    item_id = next_item([i for i, _ in items], answered)
    if item_id is None:
        await ctx.ask(
            ctx.t("supervise.extra", building=walk.building_name),
            [
                [
                    More(walk_id, "y").as_button(ctx.t("button.yes")),
                    More(walk_id, "n").as_button(ctx.t("button.no")),
                ]
            ],
        )
        return
    index = next(n for n, (i, _) in enumerate(items) if i == item_id)
    item = items[index][1]
    await ctx.ask(
        ctx.t(
            "supervise.question",
            building=walk.building_name,
            n=index + 1,
            total=len(items),
            code=item.code,
            text=item.en if ctx.lang == "en" else item.zh,
        ),
        [
            [
                Answer(walk_id, item_id, "ok").as_button(ctx.t("walk.ok")),
                Answer(walk_id, item_id, "hz").as_button(ctx.t("walk.hazard")),
            ],
            [
                Answer(walk_id, item_id, "na").as_button(ctx.t("walk.na")),
                PauseWalk(walk_id).as_button(ctx.t("walk.pause")),
            ],
        ],
    )


def _walking(ctx: Ctx, walk_id: int) -> case.Waiting:
    """The supervisor's typed text and photos go to this walk's finding next."""

    async def waiting(tx: Tx) -> None:
        await begin(tx, ctx.user_id, Walking(walk_id))

    return waiting


@button("sv_a")
@dataclass(frozen=True)
class Answer(Tap):
    """The supervisor's blind answer; the school's own is shown after it."""

    walk_id: int
    item_id: int
    choice: str

    async def tap(self, ctx: Ctx) -> None:
        answered = await case.answer(
            ctx.actor(), self.walk_id, self.item_id, self.choice, _walking(ctx, self.walk_id)
        )
        await ctx.settle(_label(ctx, answered.choice))
        key = "supervise.school_said_other" if answered.contradicted else "supervise.school_said"
        await ctx.reply(key, answer=_label(ctx, answered.school_choice))
        await ask_current(ctx, self.walk_id)


@button("sv_pause")
@dataclass(frozen=True)
class PauseWalk(Tap):
    """Pause the walk: its answers stay, ``/supervise`` goes on with it."""

    walk_id: int

    async def tap(self, ctx: Ctx) -> None:
        walk = await case.pause(ctx.actor(), self.walk_id)
        await ctx.settle(ctx.t("walk.pause"))
        await ctx.reply("supervise.paused", building=walk.building_name)


@button("sv_more")
@dataclass(frozen=True)
class More(Tap):
    """Any other hazard in this building? Yes: a free-form finding; no: the walk is done."""

    walk_id: int
    yes_no: str

    async def tap(self, ctx: Ctx) -> None:
        if self.yes_no not in ("y", "n"):
            raise NotAllowed()
        another = self.yes_no == "y"
        walk = await case.more(ctx.actor(), self.walk_id, another, _walking(ctx, self.walk_id))
        await ctx.settle(ctx.t("button.yes" if another else "button.no"))
        if another:
            await ask_current(ctx, walk.id)
            return
        await ctx.reply("supervise.walk_done", building=walk.building_name)
        await show_visit(ctx, await case.visit(ctx.db, walk.visit_id))


@journey("supervision_walk")
@dataclass(frozen=True)
class Walking(Journey):
    """A supervision walk under way: typed text and photos go to its finding."""

    walk_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        if await case.describe(ctx.actor(), self.walk_id, text) is None:
            await super().text(ctx, text)
            return
        await self.again(ctx)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        fetch = partial(hazard_questions.fetch_photo, ctx, picture)
        if await case.add_photo(ctx.actor(), self.walk_id, fetch, picture.file_unique_id) is None:
            await super().photo(ctx, picture)
            return
        await self.again(ctx)

    async def again(self, ctx: Ctx) -> None:
        await ask_current(ctx, self.walk_id)


# --- findings ------------------------------------------------------------------------


async def ask_finding(ctx: Ctx, finding: Finding) -> None:
    """The finding's next question: photos, description, major, then the match."""
    title = ctx.t(
        "supervise.finding_title",
        building=finding.building_name or "?",
        code=finding.item_code or ctx.t("supervise.free_form"),
    )
    step = finding_step(finding)
    if step is Step.PHOTOS:
        count = finding.photos
        done = FindingStep(finding.id, "photos", "done" if count else "none")
        label = ctx.t("button.photos_done" if count else "button.no_photo")
        await ctx.ask(title + "\n" + ctx.t("supervise.ask_photos", count=count),
                      [[done.as_button(label)]])  # fmt: skip
    elif step is Step.DESCRIPTION:
        await ctx.ask(title + "\n" + ctx.t("supervise.ask_description"))
    elif step is Step.MAJOR:
        await ctx.ask(
            title + "\n" + ctx.t("supervise.ask_major"),
            [[FindingStep(finding.id, "major", "y").as_button(ctx.t("button.yes")),
              FindingStep(finding.id, "major", "n").as_button(ctx.t("button.no"))]],
        )  # fmt: skip
    else:
        await _ask_match(ctx, finding, title)


async def _ask_match(ctx: Ctx, finding: Finding, title: str) -> None:
    hazards = (
        []
        if finding.building_id is None
        else await store.hazards_of_building(ctx.db, finding.building_id)
    )
    listed = match_order(hazards, finding.item_id, MATCH_MAX)
    rows = [[Match(finding.id, h.id).as_button(_match_label(ctx, h))] for h in listed]
    rows.append([Match(finding.id, 0).as_button(ctx.t("supervise.off_list"))])
    lines = _fitted(ctx, [_hazard_line(ctx, h) for h in listed], "", 2500)
    await ctx.ask(
        title
        + "\n"
        + ctx.t("supervise.ask_match", lines=Html(lines or ctx.t("supervise.ledger_empty"))),
        rows,
    )


def _match_label(ctx: Ctx, h: Hazard) -> str:
    key = "supervise.match_closed" if reopenable(h.state) else "supervise.match"
    return ctx.t(key, id=h.id, text=(h.description or h.item_code or "")[:24])


@button("sv_f")
@dataclass(frozen=True)
class FindingStep(Tap):
    """Photos done (or none), and major or not."""

    finding_id: int
    step: str
    value: str

    async def tap(self, ctx: Ctx) -> None:
        if self.step == "photos" and self.value in ("done", "none"):
            done = self.value == "done"
            fresh = await case.photos_given(ctx.actor(), self.finding_id, done)
            note = ctx.t("button.photos_done" if done else "button.no_photo")
        elif self.step == "major" and self.value in ("y", "n"):
            fresh = await case.weigh(ctx.actor(), self.finding_id, self.value == "y")
            note = ctx.t("button.yes" if self.value == "y" else "button.no")
        else:
            raise NotAllowed()
        await ctx.settle(note)
        await ask_finding(ctx, fresh)


@button("sv_m")
@dataclass(frozen=True)
class Match(Tap):
    """The finding matched: a listed hazard (0: off-list, 清单外)."""

    finding_id: int
    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        matched = await case.match_finding(
            ctx.actor(), self.finding_id, self.hazard_id or None, ctx.services.fix_at_once_days
        )
        found = matched.finding
        if matched.how is Matching.OFF_LIST:
            assert matched.deadline is not None
            await ctx.settle(ctx.t("supervise.off_list"))
            await ctx.reply(
                "supervise.recorded_accident" if found.major else "supervise.recorded_off_list",
                id=matched.hazard_id,
                who=matched.responsible,
                deadline=matched.deadline.isoformat(),
            )
        elif matched.how is Matching.REOPEN:
            await ctx.settle(ctx.t("supervise.match_closed", id=matched.hazard_id, text=""))
            await ctx.reply("supervise.recorded_reopened", id=matched.hazard_id,
                            verifier=matched.verifier, who=matched.responsible)  # fmt: skip
        else:
            await ctx.settle(ctx.t("supervise.match", id=matched.hazard_id, text=""))
            await ctx.reply("supervise.recorded_listed", id=matched.hazard_id)
        assert found.walk_id is not None
        await ask_current(ctx, found.walk_id)


# --- missed buildings (遗漏建筑) -------------------------------------------------------


def _missing(ctx: Ctx, state: MissedBuilding) -> case.Waiting:
    """What the supervisor types next goes to the missed building's form."""

    async def waiting(tx: Tx) -> None:
        await begin(tx, ctx.user_id, state)

    return waiting


@button("sv_missed")
@dataclass(frozen=True)
class AddMissed(Tap):
    """A building the school never registered (遗漏建筑): its name is asked first."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        state = MissedBuilding(self.visit_id)
        await case.begin_missed(ctx.actor(), self.visit_id, _missing(ctx, state))
        await ctx.settle()
        await state.again(ctx)


@journey("missed_building")
@dataclass(frozen=True)
class MissedBuilding(Journey):
    """A building the school never registered: name, use, floors, year built."""

    visit_id: int
    building: str = ""
    use: str = ""
    floors: int = 0

    async def text(self, ctx: Ctx, text: str) -> None:
        actor = ctx.actor()
        await case.on_visit(actor, self.visit_id)
        if not self.building:
            state = MissedBuilding(self.visit_id, clean_text(text, NAME_MAX))
        elif not self.use:
            await super().text(ctx, text)
            return
        elif not self.floors:
            state = MissedBuilding(self.visit_id, self.building, self.use, parse_floors(text))
        else:
            year = parse_year_built(text, ctx.today().year)
            given = case.MissedBuilding(self.building, self.use, self.floors, year)
            visit = await case.add_missed(actor, self.visit_id, given)
            await ctx.reply("supervise.missed_added", name=self.building)
            await show_visit(ctx, visit)
            return
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, state)
        await state.again(ctx)

    async def again(self, ctx: Ctx) -> None:
        if not self.building:
            await ctx.ask(ctx.t("supervise.missed_name"))
        elif not self.use:
            rows = [[MissedUse(self.visit_id, use).as_button(ctx.t(f"use.{use}"))] for use in USES]
            await ctx.ask(ctx.t("supervise.missed_use", name=self.building), rows)
        elif not self.floors:
            await ctx.ask(ctx.t("supervise.missed_floors", name=self.building))
        else:
            await ctx.ask(ctx.t("supervise.missed_year", name=self.building))


@button("sv_use")
@dataclass(frozen=True)
class MissedUse(Tap):
    """The missed building's use, tapped; its floors are asked next."""

    visit_id: int
    use: str

    async def tap(self, ctx: Ctx) -> None:
        actor = ctx.actor()
        await case.on_visit(actor, self.visit_id)
        if self.use not in USES:
            raise NotAllowed()
        waiting = await people.pending(ctx.db, ctx.user_id)
        state = load(*waiting) if waiting else None
        if not isinstance(state, MissedBuilding) or state.visit_id != self.visit_id or state.use:
            raise Stale()
        fresh = MissedBuilding(self.visit_id, state.building, self.use)
        await case.missed_use(actor, self.visit_id, self.use, _missing(ctx, fresh))
        await ctx.settle(ctx.t(f"use.{self.use}"))
        await fresh.again(ctx)


# --- ending: the record ----------------------------------------------------------------


@button("sv_end")
@dataclass(frozen=True)
class EndVisit(Tap):
    """End the visit: its record to the supervisor, and now (not before) to the principal."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        made = await case.end_visit(ctx.actor(), self.visit_id, record_text)
        await ctx.settle(ctx.t("supervise.end"))
        await ctx.say(record_text(made, ctx.lang))


def record_text(made: VisitRecord, lang: str) -> str:
    """The visit's record: who, when, school, walks, items, findings by kind, contradictions."""
    visit, counted = made.visit, made.made
    head = [
        t(
            lang,
            "supervise.record.head",
            school=visit.school_name,
            who="、".join(made.supervisors),
            start=_minute(visit.started_at),
            end=_minute(visit.ended_at),
            how=t(lang, f"supervise.chosen.{visit.chosen_by.value}"),
        ),
        t(lang, "supervise.record.items", count=counted.items_checked),
        t(lang, "supervise.record.kinds", **{k.value: n for k, n in counted.findings.items()}),
    ]
    if counted.unfinished:
        head.append(t(lang, "supervise.record.unfinished", count=len(counted.unfinished)))
    lines = []
    for w in counted.walks:
        key = "supervise.record.walk" if w.finished else "supervise.record.walk_unfinished"
        lines.append(t(lang, key, building=w.building, answered=w.answered, items=w.items))
    for f in made.findings:
        assert f.kind is not None  # a recorded finding has its kind
        lines.append(
            t(
                lang,
                f"supervise.record.finding.{f.kind.value}",
                building=f.building_name or "?",
                code=f.item_code or "",
                text=clip(f.description or f.hazard_text or "", CLIP),
                id=f.hazard_id or "",
                verifier=f.verifier_name or "?",
            )
        )
    if made.contradictions:
        lines.append(t(lang, "supervise.record.contradicted", count=len(made.contradictions)))
    for c in made.contradictions:
        lines.append(
            t(
                lang,
                "supervise.record.contradiction",
                building=c.building_name,
                code=c.item_code,
                school=t(lang, f"supervise.choice.{c.school_choice.value}"),
                found=t(lang, f"supervise.choice.{c.choice.value}"),
            )
        )
    # The whole record is in ``xiaoan export visits``; a message shows what fits.
    more = partial(_more, lang)
    return "\n".join(head + fit(lines, room_for("\n".join(head)) - 1, more))


def _more(lang: str, count: int) -> str:
    return t(lang, "supervise.record.more", count=count)


# --- /visits ---------------------------------------------------------------------------


@entry
async def visits_command(ctx: Ctx) -> None:
    """``/visits``: the campaign's visits, for the task force and supervisors."""
    person = ctx.member()
    if not can_list_visits(person):
        raise NotAllowed()
    shown = [
        v
        for v in await store.visits(ctx.db, ctx.services.campaign_id)
        if can_see_record(person, v.school_id, v.state)
    ]
    if not shown:
        await ctx.reply("supervise.visits_none")
        return
    lines = [
        ctx.t(
            "supervise.visits_line",
            id=v.id,
            school=v.school_name,
            state=ctx.t(f"supervise.state.{v.state.value}"),
            how=ctx.t(f"supervise.chosen.{v.chosen_by.value}"),
        )
        for v in shown
    ]
    rows = [
        [ShowRecord(v.id).as_button(ctx.t("supervise.record_button", school=v.school_name))]
        for v in shown
        if v.state is VisitState.ENDED
    ]
    await ctx.reply("supervise.visits", rows, lines=Html(_fitted(ctx, lines, "", 3500)))


@button("sv_rec")
@dataclass(frozen=True)
class ShowRecord(Tap):
    """An ended visit's record, opened from ``/visits``."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        person = ctx.member()
        visit = await case.visit(ctx.db, self.visit_id)
        # /visits is the city's list: a member of the school gets the record in its own chat.
        if not can_open_record(person, visit.school_id, visit.state):
            raise NotAllowed()
        await ctx.settle()
        await ctx.say(record_text(await case.record_of(ctx.db, visit), ctx.lang))
