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
(``handlers.journeys``). Every tap checks the rights again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html import escape

from telegram import Document, PhotoSize

from handlers import hazard as hazard_questions
from handlers.base import Button, Ctx, entry
from handlers.buttons import Tap, button
from handlers.journeys import Journey, begin, journey, load
from ledger.buildings import NAME_MAX, TEXT_MAX, USES, clean_text, parse_floors, parse_year_built
from ledger.errors import NotAllowed, Stale
from ledger.hazards import Hazard
from ledger.roles import Person
from ledger.supervision import (
    FindingKind,
    VisitRefused,
    VisitState,
    WalkFacts,
    can_see_plan,
    can_see_record,
    contradicts,
    is_supervisor,
    next_item,
    record,
    reopenable,
    require_can_visit,
    require_on_visit,
    require_startable,
)
from ledger.walk import Choice
from storage import campus, outbox, people, rectify
from storage import supervision as store
from storage.db import Reader, Row, Tx
from telegram_rules.fit import clip, fit, room_for
from texts import Html, t

SCHOOLS_PAGE = 8
CLIP = 60  # characters of a description quoted in a list line
MATCH_MAX = 12  # listed hazards offered for a match; the building's, same item first
ICON = {"not_started": "⬜", "in_progress": "🟡", "closed": "✅"}


# --- who and what ------------------------------------------------------------------


def _supervisor(ctx: Ctx) -> Person:
    person = ctx.member()
    if not is_supervisor(person):
        raise VisitRefused(reason="not_supervisor")
    return person


async def _visit(ctx: Ctx, visit_id: int) -> Row:
    visit = await store.visit(ctx.db, visit_id)
    if visit is None:
        raise NotAllowed()
    return visit


async def _on_visit(ctx: Ctx, visit_id: int) -> tuple[Person, Row]:
    """The visit a tap names, which this person must be supervising now."""
    person = ctx.member()
    visit = await _visit(ctx, visit_id)
    require_on_visit(person.id, store.supervisors_of(visit), store.state_of(visit))
    return person, visit


async def _my_walk(ctx: Ctx, walk_id: int) -> tuple[Person, Row]:
    walk = await store.walk(ctx.db, walk_id)
    if walk is None:
        raise NotAllowed()
    person, _ = await _on_visit(ctx, walk["visit_id"])
    if walk["walker_id"] != person.id:
        raise NotAllowed()
    return person, walk


def _label(ctx: Ctx, choice: str | None) -> str:
    if choice is None:
        return ctx.t("supervise.school_none")
    return ctx.t(f"walk.{Choice(choice).name.lower()}")


async def tell_drawn(tx: Tx, draw_id: int) -> None:
    """Each supervisor drawn hears of their visits at once (never the school: 四不两直)."""
    for row in await tx.all(
        "SELECT vs.person_id, p.language, s.name AS school, v.id AS visit_id"
        " FROM supervision_visits v JOIN visit_supervisors vs ON vs.visit_id = v.id"
        " JOIN people p ON p.id = vs.person_id JOIN schools s ON s.id = v.school_id"
        " WHERE v.draw_id = ? ORDER BY v.id, vs.person_id",
        (draw_id,),
    ):
        await outbox.enqueue(
            tx,
            key=f"supervision.drawn:v{row['visit_id']}:p{row['person_id']}",
            kind="notice.supervision",
            person_id=row["person_id"],
            text=t(row["language"], "supervise.notice.drawn", school=row["school"]),
        )


# --- /supervise ---------------------------------------------------------------------


@entry
async def supervise_command(ctx: Ctx) -> None:
    """``/supervise``: the visit under way, the drawn visits to start, or pick a school."""
    person = _supervisor(ctx)
    current = await store.started_visit_of(ctx.db, person.id, ctx.services.campaign_id)
    if current is not None:
        await show_visit(ctx, current)
        return
    drawn = [
        v
        for v in await store.visits(ctx.db, ctx.services.campaign_id)
        if v["state"] == "planned" and person.id in store.supervisors_of(v)
    ]
    rows: list[list[Button]] = [
        [StartVisit(v["id"]).as_button(ctx.t("supervise.start", school=v["school_name"]))]
        for v in drawn
    ]
    rows.append([SchoolPage(0).as_button(ctx.t("supervise.by_hand"))])
    await ctx.reply("supervise.menu", rows, count=len(drawn))


@button("sv_start")
@dataclass(frozen=True)
class StartVisit(Tap):
    """Start a drawn visit, on site."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        person = _supervisor(ctx)
        visit = await _visit(ctx, self.visit_id)
        require_can_visit(person, visit["school_id"])
        if person.id not in store.supervisors_of(visit):
            raise VisitRefused(reason="not_on_visit")
        require_startable(store.state_of(visit))
        async with ctx.write() as tx:
            await store.start_visit(tx, visit["id"], person.id)
        await ctx.settle(ctx.t("supervise.started_note"))
        await show_visit(ctx, await _visit(ctx, visit["id"]))


@button("sv_schools")
@dataclass(frozen=True)
class SchoolPage(Tap):
    """A page of schools to pick one by hand."""

    page: int

    async def tap(self, ctx: Ctx) -> None:
        person = _supervisor(ctx)
        schools = [s for s in await store.schools(ctx.db) if not person.roles_in(s.id)]
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


async def _arrive(ctx: Ctx, tx: Tx, person: Person, school_id: int) -> int:
    """The supervisor is at the school: its drawn visit starts, or one is made by hand."""
    require_can_visit(person, school_id)
    live = await store.live_visit(tx, ctx.services.campaign_id, school_id)
    if live is None:
        return await store.visit_by_hand(tx, ctx.services.campaign_id, school_id, person.id)
    if store.state_of(live) is VisitState.STARTED:
        if person.id in store.supervisors_of(live):
            return int(live["id"])
        raise VisitRefused(reason="started")
    await store.start_visit(tx, live["id"], person.id)
    return int(live["id"])


@button("sv_pick")
@dataclass(frozen=True)
class PickSchool(Tap):
    """A school picked by hand: its visit starts now."""

    school_id: int

    async def tap(self, ctx: Ctx) -> None:
        person = _supervisor(ctx)
        if await campus.school(ctx.db, self.school_id) is None:
            raise NotAllowed()
        mine = await store.started_visit_of(ctx.db, person.id, ctx.services.campaign_id)
        if mine is not None and mine["school_id"] != self.school_id:
            raise VisitRefused(reason="busy_elsewhere", school=mine["school_name"])
        async with ctx.write() as tx:
            visit_id = await _arrive(ctx, tx, person, self.school_id)
        await ctx.settle()
        await show_visit(ctx, await _visit(ctx, visit_id))


async def scanned(ctx: Ctx, building: Row) -> None:
    """A supervisor scanned a building's QR code: its walk opens in the visit at that school."""
    person = _supervisor(ctx)
    mine = await store.started_visit_of(ctx.db, person.id, ctx.services.campaign_id)
    if mine is not None and mine["school_id"] != building["school_id"]:
        school = await campus.school(ctx.db, building["school_id"])
        raise VisitRefused(
            reason="other_school",
            school=school["name"] if school else "?",
            visit_school=mine["school_name"],
        )
    async with ctx.write() as tx:
        visit_id = await _arrive(ctx, tx, person, building["school_id"])
        await tx.event(person.id, "building.scanned", "building", building["id"],
                       after={"visit_id": visit_id})  # fmt: skip
    await WalkBuilding(visit_id, building["id"]).tap(ctx)


# --- the visit ---------------------------------------------------------------------


async def show_visit(ctx: Ctx, visit: Row) -> None:
    """The school's buildings: self-inspection state, ledger hazards, this visit's walks."""
    rows = await campus.buildings_with_state(ctx.db, visit["school_id"], visit["campaign_id"])
    walked = {w["building_id"]: w for w in await store.walks_of_visit(ctx.db, visit["id"])}
    lines = []
    buttons: list[list[Button]] = []
    for b in rows:
        hazards = await store.hazards_of_building(ctx.db, b["id"])
        still = sum(h["state"] in ("open", "submitted") for h in hazards)
        walk = walked.get(b["id"])
        mark = (
            ""
            if walk is None
            else ctx.t("supervise.walked" if walk["finished_at"] else "supervise.walking")
        )
        missed = ctx.t("supervise.missed_flag") if b["missed_visit_id"] else ""
        lines.append(
            ctx.t(
                "supervise.building_line",
                icon=ICON[b["state"]],
                name=b["name"],
                state=ctx.t(f"supervise.self.{b['state']}"),
                hazards=len(hazards),
                open=still,
                mark=mark,
                missed=missed,
            )
        )
        buttons.append([WalkBuilding(visit["id"], b["id"]).as_button(f"🕵️ {escape(b['name'])}")])
    buttons.append([AddMissed(visit["id"]).as_button(ctx.t("supervise.add_missed"))])
    buttons.append([EndVisit(visit["id"]).as_button(ctx.t("supervise.end"))])
    await ctx.reply(
        "supervise.visit",
        buttons,
        school=visit["school_name"],
        how=ctx.t(f"supervise.chosen.{visit['chosen_by']}"),
        started=(visit["started_at"] or "")[:16].replace("T", " "),
        lines=Html(_fitted(ctx, lines, "supervise.no_buildings", 1500)),
    )


@button("sv_walk")
@dataclass(frozen=True)
class WalkBuilding(Tap):
    """Walk (or go on walking) a building of the visit's school in supervision mode."""

    visit_id: int
    building_id: int

    async def tap(self, ctx: Ctx) -> None:
        person, visit = await _on_visit(ctx, self.visit_id)
        building = await campus.building(ctx.db, self.building_id)
        if building is None or building["school_id"] != visit["school_id"]:
            raise NotAllowed()
        async with ctx.write() as tx:
            walk = await store.walk_of(tx, visit["id"], building["id"])
            if walk is None:
                walk_id = await store.start_walk(
                    tx, visit["id"], building["id"], ctx.services.checklist_version_id, person.id
                )
            elif walk["walker_id"] != person.id and walk["finished_at"] is None:
                walker = await people.person_by_id(tx, walk["walker_id"])
                raise VisitRefused(reason="busy", walker=walker.name if walker else "?")
            else:
                walk_id = walk["id"]
            await begin(tx, ctx.user_id, Walking(walk_id))
        if ctx.update.callback_query is not None:
            await ctx.update.callback_query.answer()
        await _ledger_of_building(ctx, building)
        await ask_current(ctx, walk_id)


async def _ledger_of_building(ctx: Ctx, building: Row) -> None:
    hazards = await store.hazards_of_building(ctx.db, building["id"])
    lines = [_hazard_line(ctx, h) for h in hazards]
    await ctx.reply(
        "supervise.ledger",
        building=building["name"],
        lines=Html(_fitted(ctx, lines, "supervise.ledger_empty", 3500)),
    )


def _fitted(ctx: Ctx, lines: list[str], empty: str, room: int) -> str:
    """List lines within ``room`` units, the rest counted; ``empty``'s text when none."""
    if not lines:
        return ctx.t(empty) if empty else ""
    return "\n".join(fit(lines, room, lambda count: ctx.t("supervise.more", count=count)))


def _hazard_line(ctx: Ctx, h: Row) -> str:
    return ctx.t(
        "supervise.hazard_line",
        id=h["id"],
        code=h["item_code"] or ctx.t("supervise.free_form"),
        text=clip(h["description"] or "", CLIP),
        state=ctx.t(f"supervise.hazard_state.{h['state']}"),
        accident=ctx.t("supervise.accident_flag") if h["accident_grade"] else "",
    )


async def _items(ctx: Ctx, walk: Row) -> list[Row]:
    building = await campus.building(ctx.db, walk["building_id"])
    assert building is not None
    return await campus.items_for_building(ctx.db, walk["checklist_version_id"], building)


async def ask_current(ctx: Ctx, walk_id: int) -> None:
    """Whatever the supervision walk waits for: a finding's step, an item, or more."""
    walk = await store.walk(ctx.db, walk_id)
    assert walk is not None
    draft = await store.draft_of_walk(ctx.db, walk_id)
    if draft is not None:
        await ask_finding(ctx, draft)
        return
    if walk["finished_at"] is not None:
        await ctx.reply("supervise.walk_done", building=walk["building_name"])
        return
    items = await _items(ctx, walk)
    answered = await store.answers(ctx.db, walk_id)
    item_id = next_item([i["id"] for i in items], answered)
    if item_id is None:
        await ctx.ask(
            ctx.t("supervise.extra", building=walk["building_name"]),
            [
                [
                    More(walk_id, "y").as_button(ctx.t("button.yes")),
                    More(walk_id, "n").as_button(ctx.t("button.no")),
                ]
            ],
        )
        return
    index = next(n for n, i in enumerate(items) if i["id"] == item_id)
    item = items[index]
    await ctx.ask(
        ctx.t(
            "supervise.question",
            building=walk["building_name"],
            n=index + 1,
            total=len(items),
            code=item["code"],
            text=item["text_en"] if ctx.lang == "en" else item["text_zh"],
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


@button("sv_a")
@dataclass(frozen=True)
class Answer(Tap):
    """The supervisor's blind answer; the school's own is shown after it."""

    walk_id: int
    item_id: int
    choice: str

    async def tap(self, ctx: Ctx) -> None:
        person, walk = await _my_walk(ctx, self.walk_id)
        if self.choice not in {c.value for c in Choice}:
            raise NotAllowed()
        items = [i["id"] for i in await _items(ctx, walk)]
        if self.item_id not in items:
            raise NotAllowed()
        answered = await store.answers(ctx.db, walk["id"])
        draft = await store.draft_of_walk(ctx.db, walk["id"])
        if draft is not None or next_item(items, answered) != self.item_id:
            raise Stale()
        school = await store.school_answer(
            ctx.db, walk["campaign_id"], walk["building_id"], self.item_id
        )
        choice = Choice(self.choice)
        async with ctx.write() as tx:
            if not await store.record_answer(tx, walk, self.item_id, choice, school, person.id):
                raise Stale()
            if choice is Choice.HAZARD:
                await store.create_finding(
                    tx, walk["visit_id"], walk["id"], walk["building_id"], self.item_id, person.id
                )
            await begin(tx, ctx.user_id, Walking(walk["id"]))
        await ctx.settle(_label(ctx, choice.value))
        key = "supervise.school_said_other" if contradicts(school, choice.value) else (
            "supervise.school_said")  # fmt: skip
        await ctx.reply(key, answer=_label(ctx, school))
        await ask_current(ctx, walk["id"])


@button("sv_pause")
@dataclass(frozen=True)
class PauseWalk(Tap):
    walk_id: int

    async def tap(self, ctx: Ctx) -> None:
        _, walk = await _my_walk(ctx, self.walk_id)
        async with ctx.write() as tx:
            await people.clear_pending(tx, ctx.user_id)
        await ctx.settle(ctx.t("walk.pause"))
        await ctx.reply("supervise.paused", building=walk["building_name"])


@button("sv_more")
@dataclass(frozen=True)
class More(Tap):
    """Any other hazard in this building? Yes: a free-form finding; no: the walk is done."""

    walk_id: int
    yes_no: str

    async def tap(self, ctx: Ctx) -> None:
        person, walk = await _my_walk(ctx, self.walk_id)
        items = [i["id"] for i in await _items(ctx, walk)]
        answered = await store.answers(ctx.db, walk["id"])
        draft = await store.draft_of_walk(ctx.db, walk["id"])
        if self.yes_no not in ("y", "n"):
            raise NotAllowed()
        if draft is not None or next_item(items, answered) is not None or walk["finished_at"]:
            raise Stale()
        async with ctx.write() as tx:
            if self.yes_no == "y":
                await store.create_finding(
                    tx, walk["visit_id"], walk["id"], walk["building_id"], None, person.id
                )
                await begin(tx, ctx.user_id, Walking(walk["id"]))
            else:
                await store.finish_walk(tx, walk["id"], person.id)
                await people.clear_pending(tx, ctx.user_id)
        await ctx.settle(ctx.t("button.yes" if self.yes_no == "y" else "button.no"))
        if self.yes_no == "y":
            await ask_current(ctx, walk["id"])
            return
        await ctx.reply("supervise.walk_done", building=walk["building_name"])
        await show_visit(ctx, await _visit(ctx, walk["visit_id"]))


@journey("supervision_walk")
@dataclass(frozen=True)
class Walking(Journey):
    """A supervision walk under way: typed text and photos go to its finding."""

    walk_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        person, walk = await _my_walk(ctx, self.walk_id)
        draft = await store.draft_of_walk(ctx.db, walk["id"])
        if draft is None or not draft["photos_done"] or draft["description"] is not None:
            await super().text(ctx, text)
            return
        description = clean_text(text, TEXT_MAX)
        async with ctx.write() as tx:
            await store.update_finding(tx, draft["id"], person.id, description=description)
        await self.again(ctx)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        person, walk = await _my_walk(ctx, self.walk_id)
        draft = await store.draft_of_walk(ctx.db, walk["id"])
        if draft is None or draft["photos_done"]:
            await super().photo(ctx, picture)
            return
        stored = await hazard_questions.fetch_photo(ctx, picture)
        async with ctx.write() as tx:
            await store.add_finding_photo(tx, draft["id"], stored, person.id,
                                          picture.file_unique_id)  # fmt: skip
        await self.again(ctx)

    async def again(self, ctx: Ctx) -> None:
        await ask_current(ctx, self.walk_id)


# --- findings ------------------------------------------------------------------------


async def ask_finding(ctx: Ctx, finding: Row) -> None:
    """The finding's next question: photos, description, major, then the match."""
    title = ctx.t(
        "supervise.finding_title",
        building=finding["building_name"] or "?",
        code=finding["item_code"] or ctx.t("supervise.free_form"),
    )
    if not finding["photos_done"]:
        count = len(await store.finding_photos(ctx.db, finding["id"]))
        step = FindingStep(finding["id"], "photos", "done" if count else "none")
        label = ctx.t("button.photos_done" if count else "button.no_photo")
        await ctx.ask(title + "\n" + ctx.t("supervise.ask_photos", count=count),
                      [[step.as_button(label)]])  # fmt: skip
    elif finding["description"] is None:
        await ctx.ask(title + "\n" + ctx.t("supervise.ask_description"))
    elif finding["major"] is None:
        await ctx.ask(
            title + "\n" + ctx.t("supervise.ask_major"),
            [[FindingStep(finding["id"], "major", "y").as_button(ctx.t("button.yes")),
              FindingStep(finding["id"], "major", "n").as_button(ctx.t("button.no"))]],
        )  # fmt: skip
    else:
        await _ask_match(ctx, finding, title)


async def _ask_match(ctx: Ctx, finding: Row, title: str) -> None:
    hazards = await store.hazards_of_building(ctx.db, finding["building_id"])
    same_item = [h for h in hazards if h["item_id"] == finding["item_id"]]
    listed = same_item + [h for h in hazards if h["item_id"] != finding["item_id"]]
    rows = [
        [Match(finding["id"], h["id"]).as_button(_match_label(ctx, h))] for h in listed[:MATCH_MAX]
    ]
    rows.append([Match(finding["id"], 0).as_button(ctx.t("supervise.off_list"))])
    lines = _fitted(ctx, [_hazard_line(ctx, h) for h in listed[:MATCH_MAX]], "", 2500)
    await ctx.ask(
        title
        + "\n"
        + ctx.t("supervise.ask_match", lines=Html(lines or ctx.t("supervise.ledger_empty"))),
        rows,
    )


def _match_label(ctx: Ctx, h: Row) -> str:
    key = "supervise.match_closed" if reopenable(h["state"]) else "supervise.match"
    return ctx.t(key, id=h["id"], text=(h["description"] or h["item_code"] or "")[:24])


async def _my_finding(ctx: Ctx, finding_id: int) -> tuple[Person, Row]:
    found = await store.finding(ctx.db, finding_id)
    if found is None:
        raise NotAllowed()
    person, _ = await _on_visit(ctx, found["visit_id"])
    if found["found_by"] != person.id:
        raise NotAllowed()
    if found["state"] != "draft":
        raise Stale()
    return person, found


@button("sv_f")
@dataclass(frozen=True)
class FindingStep(Tap):
    """Photos done (or none), and major or not."""

    finding_id: int
    step: str
    value: str

    async def tap(self, ctx: Ctx) -> None:
        person, found = await _my_finding(ctx, self.finding_id)
        if (self.step, self.value) in (("photos", "done"), ("photos", "none")):
            if found["photos_done"]:
                raise Stale()
            photos = len(await store.finding_photos(ctx.db, found["id"]))
            if (self.value == "done") != bool(photos):
                raise Stale()
            change: dict[str, object] = {"photos_done": 1}
            note = ctx.t("button.photos_done" if photos else "button.no_photo")
        elif self.step == "major" and self.value in ("y", "n"):
            if (
                not found["photos_done"]
                or found["description"] is None
                or found["major"] is not None
            ):
                raise Stale()
            change = {"major": int(self.value == "y")}
            note = ctx.t("button.yes" if self.value == "y" else "button.no")
        else:
            raise NotAllowed()
        async with ctx.write() as tx:
            await store.update_finding(tx, found["id"], person.id, **change)
        await ctx.settle(note)
        fresh = await store.finding(ctx.db, found["id"])
        assert fresh is not None
        await ask_finding(ctx, fresh)


@button("sv_m")
@dataclass(frozen=True)
class Match(Tap):
    """The finding matched: a listed hazard (0: off-list, 清单外)."""

    finding_id: int
    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        person, found = await _my_finding(ctx, self.finding_id)
        if found["major"] is None:
            raise Stale()
        if self.hazard_id == 0:
            await _off_list(ctx, person, found)
        else:
            hazard = await rectify.facts(ctx.db, self.hazard_id)
            if hazard is None or hazard[0].building_id != found["building_id"]:
                raise NotAllowed()
            if reopenable(hazard[0].state):
                await _rectified_badly(ctx, person, found, hazard[0])
            else:
                async with ctx.write() as tx:
                    await store.record_listed(tx, found["id"], self.hazard_id, person.id)
                await ctx.settle(ctx.t("supervise.match", id=self.hazard_id, text=""))
                await ctx.reply("supervise.recorded_listed", id=self.hazard_id)
        await ask_current(ctx, found["walk_id"])


async def _off_list(ctx: Ctx, person: Person, found: Row) -> None:
    """清单外: on the ledger now, named to the principal; the task force told at once."""
    principal = await store.principal_of(ctx.db, found["school_id"])
    deadline = ctx.today() + timedelta(days=ctx.services.fix_at_once_days)
    school = await campus.school(ctx.db, found["school_id"])
    assert school is not None
    taskforce = await rectify.people_with_role(ctx.db, "taskforce")
    async with ctx.write() as tx:
        hazard_id = await store.record_off_list(tx, found, person.id, principal, deadline)
        key = "supervise.notice.accident" if found["major"] else "supervise.notice.off_list"
        for member in taskforce:
            await outbox.enqueue(
                tx,
                key=f"supervision.off_list:f{found['id']}:p{member.id}",
                kind="notice.supervision",
                person_id=member.id,
                text=t(
                    member.language,
                    key,
                    id=hazard_id,
                    school=school["name"],
                    building=found["building_name"] or "?",
                    what=found["description"],
                    supervisor=person.name,
                ),
            )
    await ctx.settle(ctx.t("supervise.off_list"))
    await ctx.reply(
        "supervise.recorded_accident" if found["major"] else "supervise.recorded_off_list",
        id=hazard_id,
        who=principal["name"] if principal else "?",
        deadline=deadline.isoformat(),
    )


async def _rectified_badly(ctx: Ctx, person: Person, found: Row, hazard: Hazard) -> None:
    """整改不到位: reopened, back with its responsible person; the verifier is named."""
    if not await store.finding_photos(ctx.db, found["id"]):
        raise VisitRefused(reason="need_photo")
    fix = await store.accepted_fix(ctx.db, hazard.id)
    verifier = fix["verifier_name"] if fix else "?"
    school = await campus.school(ctx.db, hazard.school_id)
    assert school is not None
    told = {pid for pid in (hazard.responsible_id, fix["decided_by"] if fix else None) if pid}
    async with ctx.write() as tx:
        await store.reopen(tx, found, hazard.id, person.id)
        for person_id in sorted(told):
            row = await tx.one("SELECT language FROM people WHERE id = ?", (person_id,))
            assert row is not None
            await outbox.enqueue(
                tx,
                key=f"supervision.reopened:f{found['id']}:p{person_id}",
                kind="notice.supervision",
                person_id=person_id,
                text=t(
                    row["language"],
                    "supervise.notice.reopened",
                    id=hazard.id,
                    school=school["name"],
                    reason=found["description"],
                    verifier=verifier,
                    supervisor=person.name,
                ),
            )
    await ctx.settle(ctx.t("supervise.match_closed", id=hazard.id, text=""))
    await ctx.reply("supervise.recorded_reopened", id=hazard.id, verifier=verifier,
                    who=hazard.responsible_name or "?")  # fmt: skip


# --- missed buildings (遗漏建筑) -------------------------------------------------------


@button("sv_missed")
@dataclass(frozen=True)
class AddMissed(Tap):
    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        await _on_visit(ctx, self.visit_id)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, MissedBuilding(self.visit_id))
        await ctx.settle()
        await MissedBuilding(self.visit_id).again(ctx)


@journey("missed_building")
@dataclass(frozen=True)
class MissedBuilding(Journey):
    """A building the school never registered: name, use, floors, year built."""

    visit_id: int
    building: str = ""
    use: str = ""
    floors: int = 0

    async def text(self, ctx: Ctx, text: str) -> None:
        person, visit = await _on_visit(ctx, self.visit_id)
        if not self.building:
            state = MissedBuilding(self.visit_id, clean_text(text, NAME_MAX))
        elif not self.use:
            await super().text(ctx, text)
            return
        elif not self.floors:
            state = MissedBuilding(self.visit_id, self.building, self.use, parse_floors(text))
        else:
            year = parse_year_built(text, ctx.today().year)
            async with ctx.write() as tx:
                await store.add_missed_building(
                    tx, visit, person.id, self.building, self.use, self.floors, year
                )
                await people.clear_pending(tx, ctx.user_id)
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
    visit_id: int
    use: str

    async def tap(self, ctx: Ctx) -> None:
        await _on_visit(ctx, self.visit_id)
        if self.use not in USES:
            raise NotAllowed()
        waiting = await people.pending(ctx.db, ctx.user_id)
        state = load(*waiting) if waiting else None
        if not isinstance(state, MissedBuilding) or state.visit_id != self.visit_id or state.use:
            raise Stale()
        fresh = MissedBuilding(self.visit_id, state.building, self.use)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, fresh)
        await ctx.settle(ctx.t(f"use.{self.use}"))
        await fresh.again(ctx)


# --- ending: the record ----------------------------------------------------------------


@button("sv_end")
@dataclass(frozen=True)
class EndVisit(Tap):
    """End the visit: its record to the supervisor, and now (not before) to the principal."""

    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        person, visit = await _on_visit(ctx, self.visit_id)
        principals = await rectify.people_with_role(ctx.db, "principal", visit["school_id"])
        async with ctx.write() as tx:
            await store.end_visit(tx, visit["id"], person.id)
            await store.end_journeys_of_visit(tx, visit["id"])
            ended = await store.visit(tx, visit["id"])
            assert ended is not None
            for principal in principals:
                await outbox.enqueue(
                    tx,
                    key=f"supervision.record:v{visit['id']}:p{principal.id}",
                    kind="notice.supervision",
                    person_id=principal.id,
                    text=await record_text(tx, ended, principal.language),
                )
            await people.clear_pending(tx, ctx.user_id)
        await ctx.settle(ctx.t("supervise.end"))
        ended = await _visit(ctx, visit["id"])
        await ctx.say(await record_text(ctx.db, ended, ctx.lang))


async def record_text(db: Reader, visit: Row, lang: str) -> str:
    """The visit's record: who, when, school, walks, items, findings by kind, contradictions."""
    walks = []
    for row in await store.walks_of_visit(db, visit["id"]):
        building = await campus.building(db, row["building_id"])
        assert building is not None
        items = await campus.items_for_building(db, row["checklist_version_id"], building)
        walks.append(
            WalkFacts(row["building_name"], len(items), row["answered"], bool(row["finished_at"]))
        )
    findings = await store.findings_of_visit(db, visit["id"])
    contradicted = await store.contradicted(db, visit["id"])
    made = record(walks, [FindingKind(f["kind"]) for f in findings], len(contradicted))
    names = [
        r["name"]
        for r in await db.all(
            "SELECT p.name FROM visit_supervisors vs JOIN people p ON p.id = vs.person_id"
            " WHERE vs.visit_id = ? ORDER BY p.id",
            (visit["id"],),
        )
    ]
    head = [
        t(
            lang,
            "supervise.record.head",
            school=visit["school_name"],
            who="、".join(names),
            start=(visit["started_at"] or "")[:16].replace("T", " "),
            end=(visit["ended_at"] or "")[:16].replace("T", " "),
            how=t(lang, f"supervise.chosen.{visit['chosen_by']}"),
        ),
        t(lang, "supervise.record.items", count=made.items_checked),
        t(lang, "supervise.record.kinds", **{k.value: made.findings[k] for k in FindingKind}),
    ]
    if made.unfinished:
        head.append(t(lang, "supervise.record.unfinished", count=len(made.unfinished)))
    lines = []
    for w in made.walks:
        key = "supervise.record.walk" if w.finished else "supervise.record.walk_unfinished"
        lines.append(t(lang, key, building=w.building, answered=w.answered, items=w.items))
    for f in findings:
        text = clip(f["description"] or f["hazard_text"] or "", CLIP)
        lines.append(
            t(
                lang,
                f"supervise.record.finding.{f['kind']}",
                building=f["building_name"] or "?",
                code=f["item_code"] or "",
                text=text,
                id=f["hazard_id"] or "",
                verifier=f["verifier_name"] or "?",
            )
        )
    if contradicted:
        lines.append(t(lang, "supervise.record.contradicted", count=len(contradicted)))
    for c in contradicted:
        lines.append(
            t(
                lang,
                "supervise.record.contradiction",
                building=c["building_name"],
                code=c["item_code"],
                school=t(lang, f"supervise.choice.{c['school_choice']}"),
                found=t(lang, f"supervise.choice.{c['choice']}"),
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
    if not (person.is_taskforce or is_supervisor(person)):
        raise NotAllowed()
    shown = [
        v
        for v in await store.visits(ctx.db, ctx.services.campaign_id)
        if can_see_record(person, v["school_id"], store.state_of(v))
    ]
    if not shown:
        await ctx.reply("supervise.visits_none")
        return
    lines = [
        ctx.t(
            "supervise.visits_line",
            id=v["id"],
            school=v["school_name"],
            state=ctx.t(f"supervise.state.{v['state']}"),
            how=ctx.t(f"supervise.chosen.{v['chosen_by']}"),
        )
        for v in shown
    ]
    rows = [
        [ShowRecord(v["id"]).as_button(ctx.t("supervise.record_button", school=v["school_name"]))]
        for v in shown
        if v["state"] == "ended"
    ]
    await ctx.reply("supervise.visits", rows, lines=Html(_fitted(ctx, lines, "", 3500)))


@button("sv_rec")
@dataclass(frozen=True)
class ShowRecord(Tap):
    visit_id: int

    async def tap(self, ctx: Ctx) -> None:
        person = ctx.member()
        visit = await _visit(ctx, self.visit_id)
        state = store.state_of(visit)
        # /visits is the city's list: a member of the school gets the record in its own chat.
        city = person.is_taskforce or is_supervisor(person)
        if (
            state is not VisitState.ENDED
            or not city
            or not can_see_plan(person, visit["school_id"])
        ):
            raise NotAllowed()
        await ctx.settle()
        await ctx.say(await record_text(ctx.db, visit, ctx.lang))
