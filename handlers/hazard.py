"""The hazard questions, shared by a walk and a quick report.

Photos one by one then "done" (or "no photo"); a description; fixable at
once? If not: the planned date, the responsible person, the measures,
whether the building goes out of use, whether it is major — and for a major
hazard the rest of the five fixes (funding, contingency plan). The next
question is always ``ledger.hazards.next_step`` of what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Document, PhotoSize

from cases import hazards as reported
from handlers import evidence, named
from handlers.base import Button, Ctx, Services
from handlers.buttons import Tap, button
from handlers.download import download
from handlers.pages import page_line, page_of
from ledger.buildings import TEXT_MAX, clean_text
from ledger.dates import parse_date
from ledger.errors import NotAllowed, PhotoRejected, Stale
from ledger.hazards import (
    DEADLINE_CHOICES,
    Hazard,
    Step,
    fixed_at_once,
    next_step,
    quick_fix_deadline,
)
from ledger.ids import parse_id
from storage import campus, hazards, people, walks
from storage import evidence as evidence_store
from storage.db import Query, Row
from storage.photos import StoredPhoto
from storage.workers import PHOTOS
from telegram_rules.fit import clip
from texts import Html

YES_NO = ("y", "n")


def step_of(hazard: Hazard) -> Step:
    return next_step(hazard.draft)


@button("hazard", legacy="h")
@dataclass(frozen=True)
class HazardAnswer(Tap):
    """A tapped answer to a hazard question: its step, and the value chosen."""

    uses_checklist = True

    hazard_id: int
    step: Step
    value: str

    def first_reads(self) -> list[Query]:
        """The hazard, and what its step checks the answer against."""
        return [hazards.hazard_query(self.hazard_id), *self._checked_with()]

    def _checked_with(self) -> list[Query]:
        if self.step is Step.BUILDING:
            building_id = parse_id(self.value)
            return [] if building_id is None else [campus.building_query(building_id)]
        if self.step is Step.PHOTOS:
            return [hazards.photo_count_query(self.hazard_id)]
        if self.step is Step.RESPONSIBLE:
            return [people.hazard_colleagues_query(self.hazard_id)]
        return []

    async def tap(self, ctx: Ctx) -> None:
        # Deferred: the walk goes on after the answer, and its module imports this one.
        from handlers.inspect import on_hazard_answer

        await on_hazard_answer(ctx, self)


def _data(hazard: Hazard, step: Step, value: str | int) -> str:
    return HazardAnswer(hazard.id, step, str(value)).pack()


@button("cam", legacy="cam")
@dataclass(frozen=True)
class Camera(Tap):
    """The big photo button of a photo step: the local chat opens the camera with it
    (it knows the code ``cam``); on Telegram its tap says how to send a photo.
    ``what``: ``h`` a hazard, ``f`` a fix, ``w`` a building scanned on a wall."""

    what: str
    id: int

    async def tap(self, ctx: Ctx) -> None:
        await ctx.toast("friction.photo.how")


def camera_row(ctx: Ctx, camera: Camera) -> list[Button]:
    """The camera button, alone on its row."""
    return [camera.labelled(ctx.t("friction.photo.camera"))]


def deadline_topic(hazard: Hazard) -> str:
    """The deadline question of this hazard, as an open question's topic."""
    return f"h:{hazard.id}:deadline"


def _yes_no(ctx: Ctx, hazard: Hazard, step: Step) -> list[list[Button]]:
    return [
        [
            (ctx.t("button.yes"), _data(hazard, step, "y")),
            (ctx.t("button.no"), _data(hazard, step, "n")),
        ]
    ]


async def ask(ctx: Ctx, hazard: Hazard) -> None:
    """Send the question for the hazard's next step."""
    step = step_of(hazard)
    title = ctx.t("hazard.title", id=hazard.id, building=hazard.building_name or "?")
    if step in (Step.BUILDING, Step.RESPONSIBLE):
        await ctx.ask(*await _choices(ctx, hazard, step, 1))
    elif step is Step.PHOTOS:
        count = await hazards.photo_count(ctx.db, hazard.id)
        button = ("button.photos_done", "done") if count else ("button.no_photo", "none")
        key = "hazard.ask.more_photos" if count else "friction.photo.ask"
        await ctx.ask(
            title + "\n" + ctx.t(key, count=count),
            [
                camera_row(ctx, Camera("h", hazard.id)),
                [(ctx.t(button[0]), _data(hazard, step, button[1]))],
            ],
        )
    elif step is Step.FIXABLE:
        await ctx.ask(title + "\n" + ctx.t("hazard.ask.fixable"), _yes_no(ctx, hazard, step))
    elif step is Step.DEADLINE:
        choices = [(ctx.t("hazard.days", days=d), _data(hazard, step, d)) for d in DEADLINE_CHOICES]
        await ctx.ask_typed(
            deadline_topic(hazard),
            title + "\n" + ctx.t("hazard.ask.deadline"),
            [choices[:2], choices[2:]],
        )
    elif step in (Step.OUT_OF_USE, Step.MAJOR):
        await ctx.ask(
            title + "\n" + ctx.t(f"hazard.ask.{step.name.lower()}"), _yes_no(ctx, hazard, step)
        )
    elif step is not Step.DONE:  # a typed answer: description, measures, funding, plan
        await ctx.ask(title + "\n" + ctx.t(f"hazard.ask.{step.name.lower()}"))


async def _choices(
    ctx: Ctx, hazard: Hazard, step: Step, number: int
) -> tuple[str, list[list[Button]]]:
    """Which building, or who answers for it: a page of the school's buildings or people
    (``handlers.pages``: however many, each one can be chosen)."""
    reads = ctx.reads  # a page turned read these with the person (``HazardChoices``)
    if step is Step.BUILDING:
        rows = await reads.all(*campus.members_buildings_list_query(ctx.user_id))
        entries = [(b.name, _data(hazard, step, b.id)) for b in campus.buildings_list_from(rows)]
    else:
        rows = await reads.all(*people.hazard_colleagues_query(hazard.id))
        entries = [(m.name, _data(hazard, step, m.id)) for m in people.contacts_from(rows)]
    page = page_of(ctx, entries, number, lambda n: HazardChoices(hazard.id, step, n))
    title = ctx.t("hazard.title", id=hazard.id, building=hazard.building_name or "?")
    lines = [title, ctx.t(f"hazard.ask.{step.name.lower()}"), page_line(ctx, page)]
    return "\n".join(filter(None, lines)), page.rows


@button("hazard_choices")
@dataclass(frozen=True)
class HazardChoices(Tap):
    """Another page of the buildings, or of the people, a hazard question offers."""

    reads_only = in_place = True
    hazard_id: int
    step: Step
    page: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        listed = (
            campus.members_buildings_list_query(tg_user_id)
            if self.step is Step.BUILDING
            else people.hazard_colleagues_query(self.hazard_id)
        )
        return [hazards.hazard_query(self.hazard_id), listed]

    async def tap(self, ctx: Ctx) -> None:
        draft = await hazards.hazard(ctx.reads, self.hazard_id)
        if draft is None or draft.reported_by != ctx.member().id:
            raise NotAllowed()
        if draft.state != "draft" or step_of(draft) is not self.step:
            raise Stale()
        await ctx.edit(*await _choices(ctx, draft, self.step, self.page))


async def save(ctx: Ctx, hazard: Hazard, **fields: Any) -> Hazard:
    """Store answers; when nothing is left to ask, open the hazard in the same transaction."""
    person = ctx.member()
    async with ctx.write() as tx:
        await hazards.update_hazard(tx, hazard.id, person.id, **fields)
        updated = await hazards.hazard(tx, hazard.id)
        assert updated is not None
        if step_of(updated) is Step.DONE:
            await reported.open_hazard(tx, updated, person, named.Card(hazard.id).pack())
            if updated.source == "quick":
                await people.clear_pending(tx, ctx.user_id)
        elif hazard.inspection_id:
            await walks.touch(tx, hazard.inspection_id)
        final = await hazards.hazard(tx, hazard.id)  # as written: no trip of its own
    assert final is not None
    return final


async def on_text(ctx: Ctx, hazard: Hazard, text: str) -> Hazard | None:
    """A typed answer; None when this step wants a button or a photo instead."""
    step = step_of(hazard)
    if step is Step.DESCRIPTION:
        return await save(ctx, hazard, description=clean_text(text, TEXT_MAX))
    if step is Step.DEADLINE:
        saved = await save(ctx, hazard, deadline=parse_date(text, ctx.today()))
        await ctx.confirm_typed(
            deadline_topic(hazard), ctx.day(saved.deadline) if saved.deadline else "?"
        )
        return saved
    if step is Step.RESPONSIBLE:
        name = clean_text(text, 60)
        mates = await people.colleagues(ctx.db, hazard.school_id)
        match = next((m.id for m in mates if m.name == name), None)
        return await save(ctx, hazard, responsible_id=match, responsible_name=name)
    field = {
        Step.MEASURES: "measures",
        Step.FUNDING: "funding",
        Step.CONTINGENCY: "contingency_plan",
    }.get(step)
    if field is None:
        return None
    return await save(ctx, hazard, **{field: clean_text(text, TEXT_MAX)})


async def on_button(
    ctx: Ctx, hazard: Hazard, step: Step, value: str, checked: list[Row] | None = None
) -> Hazard:
    """A tapped answer; the step it answers must still be the next one. ``checked``: what
    the step checks the answer against, read with the hazard (``HazardAnswer``)."""
    if step_of(hazard) is not step:
        raise Stale()
    person = ctx.member()
    if step is Step.BUILDING:
        building_id = parse_id(value)
        if checked is not None:
            building = campus.building_from(checked)
        else:
            building = (
                None if building_id is None else await campus.building_by_id(ctx.db, building_id)
            )
        if building is None or building.school_id not in person.school_ids:
            raise NotAllowed()
        return await save(ctx, hazard, building_id=building.id, school_id=building.school_id)
    if step is Step.PHOTOS:
        count = checked[0][0] if checked else await hazards.photo_count(ctx.db, hazard.id)
        if value == "done" and count == 0:
            raise PhotoRejected(reason="none_yet")
        if value not in ("done", "none"):
            raise NotAllowed()
        return await save(ctx, hazard, photos_done=1)
    if step is Step.DEADLINE:
        days = parse_id(value)
        if days is None or days not in DEADLINE_CHOICES:
            raise NotAllowed()
        return await save(ctx, hazard, deadline=quick_fix_deadline(ctx.today(), days))
    if step is Step.RESPONSIBLE:
        found = (
            people.contacts_from(checked)
            if checked is not None
            else await people.colleagues(ctx.db, hazard.school_id)
        )
        mates = {m.id: m.name for m in found}
        mate = parse_id(value)
        if mate is None or mate not in mates:
            raise NotAllowed()
        return await save(ctx, hazard, responsible_id=mate, responsible_name=mates[mate])
    if value not in YES_NO:
        raise NotAllowed()
    yes = value == "y"
    if step is Step.FIXABLE:
        if not yes:
            return await save(ctx, hazard, fixable_now=0)
        at_once = fixed_at_once(person.id, person.name, ctx.today(), ctx.services.fix_at_once_days)
        return await save(
            ctx,
            hazard,
            fixable_now=1,
            responsible_id=at_once.responsible_id,
            responsible_name=at_once.responsible_name,
            deadline=at_once.deadline,
        )
    field = {Step.OUT_OF_USE: "takes_out_of_use", Step.MAJOR: "major"}.get(step)
    if field is None:
        raise Stale()
    return await save(ctx, hazard, **{field: int(yes)})


async def fetch_photo(ctx: Ctx, photo: PhotoSize | Document) -> StoredPhoto:
    """Download a photo, normalise it and keep it on disk (no database change yet)."""
    limit = ctx.services.photos.limits.max_bytes
    data = await download(photo, limit)
    if data is None:
        raise PhotoRejected(reason="too_large", limit_mb=limit // (1024 * 1024))
    # Pillow takes ~300 ms of CPU for a 12-MP photo: the photos' own worker process does
    # it (never queued behind an export).
    return await ctx.services.workers.run(ctx.services.photos.save, data, lane=PHOTOS)


async def on_photo(ctx: Ctx, hazard: Hazard, photo: PhotoSize | Document) -> None:
    """A photo for a hazard waiting for photos; one that copies another school's waits."""
    if step_of(hazard) is not Step.PHOTOS:
        raise Stale()
    stored = await fetch_photo(ctx, photo)
    if await evidence.screen(ctx, hazard, stored, photo.file_unique_id, "before"):
        await store_before(ctx, hazard, stored, photo.file_unique_id, None)


async def store_before(
    ctx: Ctx, hazard: Hazard, stored: StoredPhoto, file_unique_id: str | None, reused_of: int | None
) -> None:
    async with ctx.write() as tx:
        await hazards.add_photo(
            tx, hazard.id, stored, ctx.member().id, file_unique_id, reused_of=reused_of
        )
        await evidence_store.release(tx, ctx.user_id)
        if hazard.inspection_id:
            await walks.touch(tx, hazard.inspection_id)


async def keep_flagged(ctx: Ctx, held: evidence_store.Suspect) -> None:
    """The reporter keeps a before-photo that matches another school's: stored flagged."""
    hazard = await hazards.hazard(ctx.reads, held.hazard_id)
    if (
        hazard is None
        or hazard.reported_by != ctx.member().id
        or hazard.state != "draft"
        or step_of(hazard) not in (Step.BUILDING, Step.PHOTOS)  # a quick report: building first
    ):
        raise Stale()
    await ctx.settle(ctx.t("evidence.keep"))
    await store_before(ctx, hazard, held.photo, held.file_unique_id, held.matches)
    await ctx.reply("evidence.kept")
    fresh = await hazards.hazard(ctx.db, hazard.id)
    assert fresh is not None
    await ask(ctx, fresh)


LIST_DESCRIPTION = 120  # UTF-16 units of a description in a list (the card has it whole)


def summary(ctx: Ctx, hazard: Hazard, listed: bool = False) -> str:
    """One hazard in a line or two (HTML), for confirmations; ``listed`` in the walk's
    summary, where the description is clipped so that a building's list stays short."""
    deadline = ctx.day(hazard.deadline, weekday=False) if hazard.deadline else "?"
    if hazard.fixable_now:
        fix = ctx.t("hazard.line.fix_now", deadline=deadline)
    else:
        fix = ctx.t(
            "hazard.line.plan",
            deadline=deadline,
            person=hazard.responsible_name or "?",
        )
    flags = "".join(
        [
            ctx.t("hazard.line.out_of_use") if hazard.takes_out_of_use else "",
            ctx.t("hazard.line.major") if hazard.major else "",
        ]
    )
    description = hazard.description or ""
    if listed:
        description = clip(description, LIST_DESCRIPTION)
    return ctx.t("hazard.line.text", description=description, fix=Html(fix)) + flags
