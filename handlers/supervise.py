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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from html import escape

from telegram import Document, PhotoSize

from cases import supervision as case
from cases.supervision import VisitRecord
from handlers import hazard as hazard_questions
from handlers.base import Button, Ctx, Keyboard, entry
from handlers.buttons import Tap, button
from handlers.inplace import RECENT, line_room, step_in_place, with_recent
from handlers.journeys import Journey, begin, journey, load
from handlers.pages import page_line, page_of
from ledger.buildings import NAME_MAX, USES, clean_text, parse_floors, parse_year_built
from ledger.checklist import ChecklistItem
from ledger.errors import NotAllowed, Stale
from ledger.hazards import Hazard
from ledger.supervision import (
    Finding,
    Matching,
    SupervisionAnswer,
    SupervisionWalk,
    Visit,
    VisitState,
    can_list_visits,
    can_open_record,
    can_see_record,
    contradicts,
    finding_step,
    match_order,
    next_item,
    planned_for,
    reopenable,
    schools_to_visit,
)
from ledger.supervision import FindingStep as Step
from ledger.walk import Choice
from storage import journeys, people
from storage import supervision as store
from storage.db import Query, Row, Writes
from telegram_rules import MAX_TEXT
from telegram_rules.fit import clip, fit, html_units, room_for
from texts import Html, t

SCHOOLS_PAGE = 8
CLIP = 60  # characters of a description quoted in a list line
MATCH_PAGE = 10  # listed hazards offered for a match on one page; the same item's first
DRAWN_PAGE = 10  # drawn visits to start on one page of /supervise
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


async def first_reads(ctx: Ctx, queries: Sequence[Query]) -> list[list[Row]]:
    """What a tap declared as its ``first_reads``, as the guard read them with the person
    (in one trip); read now, in one trip, when they were not (the handler came late)."""
    return ctx.first_reads if ctx.first_reads else await ctx.db.read_many(queries)


async def ask(ctx: Ctx, text: str, keyboard: Keyboard | None = None) -> None:
    """The journey's current question. After the update's one transaction it is recorded
    as shown with the person's next one (``journeys.shown_later``), not in a commit of its
    own: a crash before then merely asks it again at start-up. An update that wrote
    nothing has it recorded as ``ctx.ask`` does."""
    if not ctx.writes:
        await ctx.ask(text, keyboard)
        return
    message = await ctx.say(text, keyboard)
    journeys.shown_later(ctx.db, ctx.user_id, message.message_id, ctx.lang)


async def ask_under(ctx: Ctx, above: str, text: str, keyboard: Keyboard | None = None) -> None:
    """``ask``, with what the tap did (``above``) over the question in the same message;
    on its own before it when both would not fit one message."""
    if not above:
        await ask(ctx, text, keyboard)
        return
    both = with_recent([above], text)
    if both == text:  # no room for both
        await ctx.say(above)
    await ask(ctx, both, keyboard)


@entry
async def supervise_command(ctx: Ctx) -> None:
    """``/supervise``: the visit under way, the drawn visits to start, or pick a school."""
    person = case.supervisor(ctx.actor())
    current = await store.started_visit_of(ctx.db, person.id, ctx.services.campaign_id)
    if current is not None:
        screen = await store.visit_screen(ctx.db, current.id)
        assert screen is not None
        await show_visit(ctx, screen)
        return
    drawn = planned_for(await store.visits(ctx.db, ctx.services.campaign_id), person.id)
    await ctx.say(*_drawn_menu(ctx, drawn, ctx.services.campaign_id, 1))


def _drawn_menu(
    ctx: Ctx, drawn: Sequence[Visit], campaign_id: int, number: int
) -> tuple[str, Keyboard]:
    """The drawn visits to start, a page at a time (``handlers.pages``), and "pick a school
    by hand" always; a page asked past the list's end (it changed) says so over its last."""
    entries = [StartVisit(v.id).as_button(ctx.t("supervise.start", school=v.school_name))
               for v in drawn]  # fmt: skip
    turn = partial(DrawnPage, campaign_id)
    page = page_of(ctx, entries, number, turn, per_page=DRAWN_PAGE, above=1)
    rows = [*page.rows, [SchoolPage(0).as_button(ctx.t("supervise.by_hand"))]]
    text = ctx.t("supervise.menu", count=len(drawn))
    if page.count > 1:
        text += "\n" + page_line(ctx, page)
    return _changed(ctx, page.number, number) + text, rows


def _changed(ctx: Ctx, shown: int, asked: int) -> str:
    """A line saying the list changed, when the page asked for is no longer there."""
    return ctx.t("suptaps.list_changed", page=shown) + "\n" if shown != asked else ""


@button("sv_drawn")
@dataclass(frozen=True)
class DrawnPage(Tap):
    """Another page of the visits drawn for this supervisor, in place."""

    reads_only = True
    in_place = True  # edits the tapped list: marked done with others
    campaign_id: int
    page: int

    def first_reads(self) -> list[Query]:
        return [store.visits_query(self.campaign_id)]

    async def tap(self, ctx: Ctx) -> None:
        person = case.supervisor(ctx.actor())
        if self.campaign_id != ctx.services.campaign_id:
            raise Stale()  # a list of an earlier campaign
        found = await first_reads(ctx, self.first_reads())
        drawn = planned_for(store.visits_from(found[0]), person.id)
        await ctx.edit(*_drawn_menu(ctx, drawn, self.campaign_id, self.page))


@button("sv_start")
@dataclass(frozen=True)
class StartVisit(Tap):
    """Start a drawn visit, on site."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        screen = await case.start_drawn(ctx.actor(), self.visit_id)
        await ctx.settle(ctx.t("supervise.started_note"))
        await show_visit(ctx, screen)


@button("sv_schools")
@dataclass(frozen=True)
class SchoolPage(Tap):
    """A page of schools to pick one by hand."""

    reads_only = True
    in_place = True  # edits the tapped list: marked done with others
    page: int

    def first_reads(self) -> list[Query]:
        return [store.schools_query()]

    async def tap(self, ctx: Ctx) -> None:
        person = case.supervisor(ctx.actor())
        found = await first_reads(ctx, self.first_reads())
        schools = schools_to_visit(person, store.schools_from(found[0]))
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
        screen = await case.arrive(ctx.actor(), ctx.services.campaign_id, self.school_id)
        await ctx.settle()
        await show_visit(ctx, screen)


async def scanned(ctx: Ctx, building_id: int) -> None:
    """A supervisor scanned a building's QR code: its walk opens in the visit at that school."""
    started = await case.scan(ctx.actor(), ctx.services.campaign_id, building_id)
    await WalkBuilding(started.visit.id, building_id).tap(ctx)


# --- the visit ---------------------------------------------------------------------


async def show_visit(
    ctx: Ctx, screen: store.VisitScreen, number: int = 1, edit: bool = False
) -> None:
    """The school's buildings: self-inspection state, ledger hazards, this visit's walks;
    a page of them at a time (``handlers.pages``: a school of any size fits Telegram's
    keyboards, and its "add a missed building" and "end" buttons always show)."""
    visit = screen.visit
    walked = {w.building_id: w for w in screen.walks}
    found = screen.buildings
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
    in_place = True  # edits the tapped list: marked done with others
    visit_id: int
    page: int

    def first_reads(self) -> list[Query]:
        return store.visit_screen_queries(self.visit_id)

    async def tap(self, ctx: Ctx) -> None:
        found = store.visit_screen_from(await first_reads(ctx, self.first_reads()))
        screen = case.my_visit_screen(ctx.actor(), found)
        await show_visit(ctx, screen, self.page, edit=True)


@button("sv_walk")
@dataclass(frozen=True)
class WalkBuilding(Tap):
    """Walk (or go on walking) a building of the visit's school in supervision mode."""

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

    visit_id: int
    building_id: int

    async def tap(self, ctx: Ctx) -> None:
        def waiting(w: Writes, walk_id: int) -> None:
            state = Walking(walk_id)
            people.set_pending_in(w, ctx.user_id, state.kind, state.stored())

        screen = await case.walk_building(
            ctx.actor(),
            self.visit_id,
            self.building_id,
            ctx.services.checklist_version_id,
            waiting,
        )
        await ctx.answer_tap()
        await ctx.reply(
            "supervise.ledger",
            building=screen.walk.building_name,
            lines=Html(
                _fitted(
                    ctx,
                    [_hazard_line(ctx, h) for h in screen.ledger],
                    "supervise.ledger_empty",
                    3500,
                )
            ),
        )
        await ask_walk(ctx, screen)


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
    """Whatever the supervision walk waits for, read in one trip (``store.walk_screen``)."""
    screen = await store.walk_screen(ctx.db, walk_id)
    assert screen is not None
    await ask_walk(ctx, screen)


async def ask_walk(ctx: Ctx, screen: store.WalkScreen, above: str = "") -> None:
    """Whatever the supervision walk waits for: a finding's step, an item, or more (its
    checklist is in memory once read: ``storage.campus.version_items``); ``above``: what
    the tap did, said in the same message (one rate-limited call, not two)."""
    walk = screen.walk
    if screen.draft is not None:
        await ask_finding(ctx, screen.draft, screen.ledger, above)
        return
    if walk.finished:
        done = ctx.t("supervise.walk_done", building=walk.building_name)
        await ctx.say(f"{above}\n\n{done}" if above else done)
        return
    items = await store.items_of_walk(ctx.db, walk)
    question, keyboard = _question(
        ctx, walk, items, next_item([i for i, _ in items], screen.at.answers)
    )
    await ask_under(ctx, above, question, keyboard)


def _question(
    ctx: Ctx, walk: SupervisionWalk, items: Sequence[tuple[int, ChecklistItem]], item_id: int | None
) -> tuple[str, Keyboard]:
    """The item asked (blind) with its buttons; "any other hazard?" once all are answered.
    (Their labels are plain text: no HTML to parse on every step.)"""
    if item_id is None:
        yes_no = [
            More(walk.id, "y").labelled(ctx.t("button.yes")),
            More(walk.id, "n").labelled(ctx.t("button.no")),
        ]
        return ctx.t("supervise.extra", building=walk.building_name), [yes_no]
    index = next(n for n, (i, _) in enumerate(items) if i == item_id)
    item = items[index][1]
    text = ctx.t(
        "supervise.question",
        building=walk.building_name,
        n=index + 1,
        total=len(items),
        code=item.code,
        text=_item_text(ctx, item),
    )
    keyboard = [
        [
            Answer(walk.id, item_id, "ok").labelled(ctx.t("walk.ok")),
            Answer(walk.id, item_id, "hz").labelled(ctx.t("walk.hazard")),
        ],
        [
            Answer(walk.id, item_id, "na").labelled(ctx.t("walk.na")),
            PauseWalk(walk.id).labelled(ctx.t("walk.pause")),
        ],
    ]
    return text, keyboard


def _item_text(ctx: Ctx, item: ChecklistItem) -> str:
    return item.en if ctx.lang == "en" else item.zh


def _answer_lines(
    ctx: Ctx,
    items: Sequence[tuple[int, ChecklistItem]],
    answers: Mapping[int, SupervisionAnswer],
    last: int | None = None,
) -> list[str]:
    """One line per answer with the school's own beside it ("✓ 1. 疏散通道… — 无隐患 · 学校
    自查：无隐患"): the ``last`` ones given, or all in the checklist's order."""
    number = {item_id: (n, item) for n, (item_id, item) in enumerate(items, start=1)}
    given = [i for i in answers if i in number]
    if last is None:
        given.sort(key=lambda i: number[i][0])
    else:
        given = given[-last:] if last else []
    lines = []
    for i in given:
        a = answers[i]
        school = a.school_choice
        lines.append(
            ctx.t(
                "supstep.line_other" if contradicts(school, a.choice) else "supstep.line",
                mark=ctx.t(f"step.mark.{a.choice.value}"),
                n=number[i][0],
                text=clip(_item_text(ctx, number[i][1]), line_room(ctx.lang)),
                answer=ctx.t(f"step.answer.{a.choice.value}"),
                school=ctx.t("supstep.school_none")
                if school is None
                else ctx.t(f"step.answer.{school.value}"),
            )
        )
    return lines


def _walking_on(ctx: Ctx, walk_id: int) -> case.Then:
    """The supervisor's typed text and photos go to this walk's finding next: written
    inside the tap's write, which runs at once."""
    state = Walking(walk_id)

    def then(w: Writes) -> None:
        people.set_pending_in(w, ctx.user_id, state.kind, state.stored())

    return then


@button("sv_a")
@dataclass(frozen=True)
class Answer(Tap):
    """The supervisor's blind answer; the school's own is shown after it."""

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

    walk_id: int
    item_id: int
    choice: str

    def first_reads(self) -> list[Query]:
        return [store.walk_step_query(self.walk_id, self.item_id)]

    async def tap(self, ctx: Ctx) -> None:
        await answer(ctx, self.walk_id, self.item_id, self.choice)


async def answer(ctx: Ctx, walk_id: int, item_id: int, choice: str) -> None:
    """An item answered, in one transaction. "No hazard" and "not applicable" turn the
    tapped question into the next one (one edit; the last answers above it, each with the
    school's own, now shown); a hazard found asks its finding's questions in new messages."""
    at = None
    if ctx.first_reads:  # read with the person, in one trip
        at = store.walk_step_from(ctx.first_reads[0])
        if at is None:
            raise NotAllowed()
    answered = await case.answer(
        ctx.actor(), walk_id, item_id, choice, _walking_on(ctx, walk_id), at
    )
    if answered.choice is not Choice.HAZARD:
        question, keyboard = _question(ctx, answered.walk, answered.items, answered.next_item)
        lines = _answer_lines(ctx, answered.items, answered.answers, RECENT)
        text = with_recent(lines, question)
        if not await step_in_place(ctx, text, keyboard):
            await ctx.settle(_label(ctx, answered.choice))
            await ask(ctx, text, keyboard)
        return
    await ctx.settle(_label(ctx, answered.choice))
    key = "supervise.school_said_other" if answered.contradicted else "supervise.school_said"
    school = ctx.t(key, answer=_label(ctx, answered.school_choice))
    assert answered.finding_id is not None  # a hazard opens its finding
    item = next(i for n, i in answered.items if n == item_id)
    await _ask_photos(ctx, answered.walk.building_name, item.code, answered.finding_id, 0,
                      school)  # fmt: skip


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

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

    walk_id: int
    yes_no: str

    def first_reads(self) -> list[Query]:
        return store.walk_screen_queries(self.walk_id)

    async def tap(self, ctx: Ctx) -> None:
        if self.yes_no not in ("y", "n"):
            raise NotAllowed()
        another = self.yes_no == "y"
        seen = store.walk_screen_from(await first_reads(ctx, self.first_reads()))
        if seen is None:
            raise NotAllowed()
        then = _walking_on(ctx, self.walk_id)
        done = await case.more(ctx.actor(), self.walk_id, another, then, seen)
        walk = done.walk
        await ctx.settle(ctx.t("button.yes" if another else "button.no"))
        if done.finding_id is not None:
            await _ask_photos(ctx, walk.building_name, None, done.finding_id, 0)
            return
        await _walk_done(ctx, walk, done.answers)
        assert done.visit is not None  # the walk is done: the visit is shown
        await show_visit(ctx, done.visit)


async def _walk_done(
    ctx: Ctx, walk: SupervisionWalk, answers: Mapping[int, SupervisionAnswer]
) -> None:
    """The walk's end: every answer given, with the school's own, as far as a message holds
    (the rest counted); the questions were edited away step by step, so here they all are."""
    items = await store.items_of_walk(ctx.db, walk)
    lines = _answer_lines(ctx, items, answers)
    head = ctx.t("supervise.walk_done", building=walk.building_name)
    more = partial(_more_answers, ctx)
    await ctx.say("\n".join([head, *fit(lines, room_for(head) - 1, more)]))


def _more_answers(ctx: Ctx, count: int) -> str:
    return ctx.t("supervise.more", count=count)


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


def _finding_title(ctx: Ctx, building: str | None, code: str | None) -> str:
    return ctx.t(
        "supervise.finding_title",
        building=building or "?",
        code=code or ctx.t("supervise.free_form"),
    )


async def _ask_photos(
    ctx: Ctx, building: str | None, code: str | None, finding_id: int, count: int, above: str = ""
) -> None:
    """A finding's first question: its photos (``count`` given so far); ``above``: what
    the tap did, in the same message."""
    done = FindingStep(finding_id, "photos", "done" if count else "none")
    label = ctx.t("button.photos_done" if count else "button.no_photo")
    text = _finding_title(ctx, building, code) + "\n" + ctx.t("supervise.ask_photos", count=count)
    await ask_under(ctx, above, text, [[done.as_button(label)]])


async def ask_finding(
    ctx: Ctx, finding: Finding, ledger: Sequence[Hazard], above: str = ""
) -> None:
    """The finding's next question: photos, description, major, then the match (among
    ``ledger``, its building's hazards, read with it); ``above``: what the tap did."""
    title = _finding_title(ctx, finding.building_name, finding.item_code)
    step = finding_step(finding)
    if step is Step.PHOTOS:
        await _ask_photos(ctx, finding.building_name, finding.item_code, finding.id,
                          finding.photos, above)  # fmt: skip
    elif step is Step.DESCRIPTION:
        await ask_under(ctx, above, title + "\n" + ctx.t("supervise.ask_description"))
    elif step is Step.MAJOR:
        await ask_under(
            ctx,
            above,
            title + "\n" + ctx.t("supervise.ask_major"),
            [[FindingStep(finding.id, "major", "y").as_button(ctx.t("button.yes")),
              FindingStep(finding.id, "major", "n").as_button(ctx.t("button.no"))]],
        )  # fmt: skip
    else:
        question, keyboard = match_question(ctx, finding, ledger, 1)
        await ask_under(ctx, above, question, keyboard)


def match_question(
    ctx: Ctx, finding: Finding, ledger: Sequence[Hazard], number: int
) -> tuple[str, Keyboard]:
    """Which listed hazard the finding is, a page of the building's ledger at a time (the
    same item's first), with "off the list" always; a page asked past the list's end (it
    changed) says so over its last."""
    listed = match_order(ledger, finding.item_id, len(ledger))
    entries = [Match(finding.id, h.id).as_button(_match_label(ctx, h)) for h in listed]
    page = page_of(
        ctx, entries, number, partial(MatchPage, finding.id), per_page=MATCH_PAGE, above=1
    )
    rows = [*page.rows, [Match(finding.id, 0).as_button(ctx.t("supervise.off_list"))]]
    lines = _fitted(ctx, [_hazard_line(ctx, listed[i]) for i in page.shown], "", 2500)
    if page.count > 1:
        lines += "\n" + page_line(ctx, page)
    title = _finding_title(ctx, finding.building_name, finding.item_code)
    text = ctx.t("supervise.ask_match", lines=Html(lines or ctx.t("supervise.ledger_empty")))
    return _changed(ctx, page.number, number) + title + "\n" + text, rows


@button("sv_match_page")
@dataclass(frozen=True)
class MatchPage(Tap):
    """Another page of the hazards a finding may be matched to, in place."""

    reads_only = True
    in_place = True  # edits the tapped list: marked done with others
    finding_id: int
    page: int

    def first_reads(self) -> list[Query]:
        return store.finding_tap_queries(self.finding_id)

    async def tap(self, ctx: Ctx) -> None:
        found = store.finding_tap_from(await first_reads(ctx, self.first_reads()))
        at = case.my_draft_at(ctx.actor(), found)
        if finding_step(at.finding) is not Step.MATCH:
            raise Stale()  # matched meanwhile, or from an older finding
        await ctx.edit(*match_question(ctx, at.finding, at.ledger, self.page))


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
        await ask_finding(ctx, fresh.finding, fresh.ledger)


@button("sv_m")
@dataclass(frozen=True)
class Match(Tap):
    """The finding matched: a listed hazard (0: off-list, 清单外)."""

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

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
            recorded = ctx.t(
                "supervise.recorded_accident" if found.major else "supervise.recorded_off_list",
                id=matched.hazard_id,
                who=matched.responsible,
                deadline=matched.deadline.isoformat(),
            )
        elif matched.how is Matching.REOPEN:
            await ctx.settle(ctx.t("supervise.match_closed", id=matched.hazard_id, text=""))
            recorded = ctx.t("supervise.recorded_reopened", id=matched.hazard_id,
                             verifier=matched.verifier, who=matched.responsible)  # fmt: skip
        else:
            await ctx.settle(ctx.t("supervise.match", id=matched.hazard_id, text=""))
            recorded = ctx.t("supervise.recorded_listed", id=matched.hazard_id)
        assert matched.walk is not None  # a finding matched is one of a walk's
        # What was recorded, over what the walk asks next: one message.
        await ask_walk(ctx, matched.walk, recorded)


# --- missed buildings (遗漏建筑) -------------------------------------------------------


def _missing(ctx: Ctx, state: MissedBuilding) -> case.Then:
    """What the supervisor types next goes to the missed building's form (written inside
    the tap's write, which runs at once)."""

    def waiting(w: Writes) -> None:
        people.set_pending_in(w, ctx.user_id, state.kind, state.stored())

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
            await ask(ctx, ctx.t("supervise.missed_name"))
        elif not self.use:
            rows = [[MissedUse(self.visit_id, use).as_button(ctx.t(f"use.{use}"))] for use in USES]
            await ask(ctx, ctx.t("supervise.missed_use", name=self.building), rows)
        elif not self.floors:
            await ask(ctx, ctx.t("supervise.missed_floors", name=self.building))
        else:
            await ask(ctx, ctx.t("supervise.missed_year", name=self.building))


@button("sv_use")
@dataclass(frozen=True)
class MissedUse(Tap):
    """The missed building's use, tapped; its floors are asked next."""

    visit_id: int
    use: str

    async def tap(self, ctx: Ctx) -> None:
        if self.use not in USES:
            raise NotAllowed()
        named: list[MissedBuilding] = []

        def waiting(w: Writes) -> None:
            """The form must still wait for this visit's building's use (judged in the
            write that moves it on)."""
            pending = people.pending_in(w, ctx.user_id)
            state = load(*pending) if pending else None
            if (
                not isinstance(state, MissedBuilding)
                or state.visit_id != self.visit_id
                or state.use
                or not state.building
            ):
                raise Stale()
            named.append(MissedBuilding(self.visit_id, state.building, self.use))
            people.set_pending_in(w, ctx.user_id, named[0].kind, named[0].stored())

        await case.missed_use(ctx.actor(), self.visit_id, self.use, waiting)
        await ctx.settle(ctx.t(f"use.{self.use}"))
        await named[0].again(ctx)


# --- ending: the record ----------------------------------------------------------------


@button("sv_end")
@dataclass(frozen=True)
class EndVisit(Tap):
    """End the visit: its record to the supervisor, and now (not before) to the principal."""

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        made = await case.end_visit(ctx.actor(), self.visit_id, record_texts)
        await ctx.settle(ctx.t("supervise.end"))
        for part in record_texts(made, ctx.lang):
            await ctx.say(part)


def record_texts(made: VisitRecord, lang: str) -> list[str]:
    """The visit's whole record as messages, in order, each within Telegram's limit: who,
    when, the counts, then each building walked with every answer (the school's own beside
    it), each finding and its match, the contradictions."""
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
    for w in made.walks:
        key = "supervise.record.walk" if w.walk.finished else "supervise.record.walk_unfinished"
        lines.append(t(lang, key, building=w.walk.building_name, answered=len(w.answers),
                       items=len(w.items)))  # fmt: skip
        lines.extend(_recorded_answers(lang, w))
    if made.findings:
        lines.append(t(lang, "suptaps.record.findings", count=len(made.findings)))
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
    going_on = t(lang, "suptaps.record.continued", school=visit.school_name)
    return in_messages("\n".join(head), lines, going_on)


def _recorded_answers(lang: str, w: case.WalkRecord) -> list[str]:
    """Each item answered on a walk, in the checklist's order, with the school's own."""
    lines = []
    for item_id, item in w.items:
        a = w.answers.get(item_id)
        if a is None:
            continue
        school = a.school_choice
        lines.append(
            t(
                lang,
                "suptaps.record.answer_other"
                if contradicts(school, a.choice)
                else "suptaps.record.answer",
                mark=t(lang, f"step.mark.{a.choice.value}"),
                code=item.code,
                text=clip(item.en if lang == "en" else item.zh, line_room(lang)),
                answer=t(lang, f"step.answer.{a.choice.value}"),
                school=t(lang, "supstep.school_none")
                if school is None
                else t(lang, f"step.answer.{school.value}"),
            )
        )
    return lines


def in_messages(head: str, lines: Sequence[str], going_on: str) -> list[str]:
    """``head`` and the lines in as few messages as Telegram's limit allows, in order; each
    message after the first opens with ``going_on``. A line never splits (one longer than
    a message on its own is cut)."""
    parts: list[list[str]] = [[head]]
    used = html_units(head)
    for line in lines:
        size = html_units(line)
        if size + 1 + html_units(going_on) > MAX_TEXT:
            line = clip(line, MAX_TEXT - html_units(going_on) - 1)  # never: lines are clipped
            size = html_units(line)
        if used + 1 + size > MAX_TEXT:
            parts.append([going_on])
            used = html_units(going_on)
        parts[-1].append(line)
        used += 1 + size
    return ["\n".join(part) for part in parts]


# --- /visits ---------------------------------------------------------------------------


@entry
async def visits_command(ctx: Ctx) -> None:
    """``/visits``: the campaign's visits, for the task force and supervisors."""
    campaign_id = ctx.services.campaign_id
    shown = _visits_menu(ctx, await store.visits(ctx.db, campaign_id), campaign_id, 1)
    if shown is None:
        await ctx.reply("supervise.visits_none")
        return
    await ctx.say(*shown)


VISITS_PAGE = 20  # visits listed on one page of /visits


def _visits_menu(
    ctx: Ctx, visits: Sequence[Visit], campaign_id: int, number: int
) -> tuple[str, Keyboard] | None:
    """A page of the visits this person may see, each line with its state, and a button
    for each ended one's record; None: there are none."""
    person = ctx.member()
    if not can_list_visits(person):
        raise NotAllowed()
    shown = [v for v in visits if can_see_record(person, v.school_id, v.state)]
    if not shown:
        return None
    entries = [ShowRecord(v.id).as_button(ctx.t("supervise.record_button", school=v.school_name))
               for v in shown]  # fmt: skip
    turn = partial(VisitsPage, campaign_id)
    page = page_of(ctx, entries, number, turn, per_page=VISITS_PAGE)
    # Every visit of the page has its line; only an ended one has a record to open.
    rows = [[entries[i]] for i in page.shown if shown[i].state is VisitState.ENDED]
    if page.count > 1:
        rows.append(page.rows[-1])  # its turns
    lines = [
        ctx.t(
            "supervise.visits_line",
            id=v.id,
            school=v.school_name,
            state=ctx.t(f"supervise.state.{v.state.value}"),
            how=ctx.t(f"supervise.chosen.{v.chosen_by.value}"),
        )
        for v in (shown[i] for i in page.shown)
    ]
    if page.count > 1:
        lines.append(page_line(ctx, page))
    text = ctx.t("supervise.visits", lines=Html(_fitted(ctx, lines, "", 3500)))
    return _changed(ctx, page.number, number) + text, rows


@button("sv_visits")
@dataclass(frozen=True)
class VisitsPage(Tap):
    """Another page of ``/visits``, in place."""

    reads_only = True
    in_place = True  # edits the tapped list: marked done with others
    campaign_id: int
    page: int

    def first_reads(self) -> list[Query]:
        return [store.visits_query(self.campaign_id)]

    async def tap(self, ctx: Ctx) -> None:
        if self.campaign_id != ctx.services.campaign_id:
            raise Stale()  # a list of an earlier campaign
        found = await first_reads(ctx, self.first_reads())
        shown = _visits_menu(ctx, store.visits_from(found[0]), self.campaign_id, self.page)
        if shown is None:
            raise Stale()
        await ctx.edit(*shown)


@button("sv_rec")
@dataclass(frozen=True)
class ShowRecord(Tap):
    """An ended visit's record, opened from ``/visits``."""

    uses_checklist = True  # shows the walk's items: the checklist read once, ahead

    reads_only = True
    visit_id: int

    def first_reads(self) -> list[Query]:
        return store.record_queries(self.visit_id)

    async def tap(self, ctx: Ctx) -> None:
        person = ctx.member()
        read = store.record_from(await first_reads(ctx, self.first_reads()))
        if read is None:
            raise NotAllowed()
        visit = read.visit
        # /visits is the city's list: a member of the school gets the record in its own chat.
        if not can_open_record(person, visit.school_id, visit.state):
            raise NotAllowed()
        await ctx.settle()
        for part in record_texts(await case.record_from(ctx.db, read), ctx.lang):
            await ctx.say(part)
