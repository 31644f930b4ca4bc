"""Where a message goes: the stored pending input says what the person is doing.

Typed text, a photo or a shared contact is routed to the journey waiting for
it (joining, a form, a walk, a quick report); anything unexpected gets a short
answer and the question is asked again, with nothing stored changed. A text
counts as an answer only to the question the person was shown
(``storage.journeys``): one typed for a question that never reached them is
answered by showing it.
"""

from __future__ import annotations

import html
from typing import Any

from telegram import Document, PhotoSize

from handlers import admin, hazard, inspect, join, quick, rectify, reports
from handlers import journeys as journey_states
from handlers.base import Ctx, entry, number, parts
from handlers.common import help_text
from handlers.i18n import Html
from ledger.errors import NotAllowed, PhotoRejected, Stale
from ledger.hazards import Step
from ledger.invitations import code_in
from ledger.roles import can_walk
from storage import journeys, people, walks
from storage.db import Row

# Longest text accepted at all; longer is refused before anything else.
MAX_MESSAGE = 4096


async def _draft_for(ctx: Ctx, kind: str, data: dict[str, Any]) -> Row | None:
    """The hazard being reported in this walk or quick report, if any."""
    if kind == "quick":
        return await walks.hazard(ctx.db, data["hazard_id"])
    hazard_id = await walks.walk_draft(ctx.db, data["inspection_id"])
    return None if hazard_id is None else await walks.hazard(ctx.db, hazard_id)


async def continue_after(ctx: Ctx, kind: str, data: dict[str, Any], updated: Row) -> None:
    """After a hazard answer: the next hazard question, or back to the walk."""
    if updated["state"] == "draft":
        await hazard.ask(ctx, updated)
        return
    await ctx.reply(
        "hazard.recorded",
        [[(ctx.t("card.open"), f"hc:{updated['id']}")]],
        line=Html(hazard.summary(ctx, updated)),
        id=updated["id"],
    )
    if kind == "walk":
        await inspect.ask_current(ctx, data["inspection_id"])


async def ask_again(ctx: Ctx, kind: str, data: dict[str, Any]) -> None:
    """Repeat what the person is being asked, after an unexpected message."""
    if kind == "join":
        await join.ask_again(ctx, data)
    elif kind == "walk":
        await inspect.ask_current(ctx, data["inspection_id"])
    elif kind == "quick":
        draft = await _draft_for(ctx, kind, data)
        if draft is not None and draft["state"] == "draft":
            await hazard.ask(ctx, draft)
    elif kind.startswith("form:"):
        await admin.resume(ctx, kind.removeprefix("form:"), data)
    elif kind in rectify.KINDS:
        await rectify.ask_again(ctx, kind, data)
    elif kind == "scanned":
        await ctx.reply("walls.send_photo", [hazard.camera_row(ctx, f"w:{data['building_id']}")])
    elif kind == journey_states.KIND:
        await journey_states.again(ctx, data)


async def ask_current(ctx: Ctx) -> None:
    """The question this person is at now, asked again (after a stale tap)."""
    waiting = await people.pending(ctx.db, ctx.user_id)
    if waiting is None:
        return
    kind, data = waiting
    if kind == "walk":  # not a walk someone else took over, or one closed meanwhile
        walk = await walks.inspection(ctx.db, data["inspection_id"])
        person = ctx.person
        if walk is None or person is None or walk["walker_id"] != person.id:
            return
        if walk["closed_at"] is not None:
            return
    await ask_again(ctx, kind, data)


@entry
async def on_text(ctx: Ctx) -> None:
    """Typed text: an answer to whatever the person is being asked."""
    message = ctx.update.effective_message
    text = (message.text if message else None) or ""
    if len(text) > MAX_MESSAGE:
        await ctx.reply("error.too_long", limit=MAX_MESSAGE, length=len(text))
        return
    waiting = await people.pending(ctx.db, ctx.user_id)
    if waiting is None:
        code = code_in(text) if ctx.person is None or not ctx.person.memberships else None
        if code is not None:  # someone not yet in, typing or pasting their code
            await join.join_with(ctx, code)
            return
        await ctx.say(ctx.t("common.not_understood") + "\n\n" + help_text(ctx))
        return
    kind, data = waiting
    if kind != "scanned" and not await journeys.answers_shown_question(
        ctx.db, ctx.user_id, message.message_id if message else 0
    ):
        # Typed for a question that never reached them (its reply lost in a crash,
        # or typed ahead of it): not an answer to the question now waiting.
        await ctx.reply("journey.not_taken")
        await ask_again(ctx, kind, data)
        return
    if kind == "join":
        await join.on_input(ctx, data, text, None)
        return
    ctx.member()
    if kind == journey_states.KIND:
        await journey_states.on_text(ctx, data, text)
        return
    if kind in rectify.KINDS:
        await rectify.on_text(ctx, kind, data, text)
        return
    if kind == "scanned":
        await ctx.reply("walls.send_photo", [hazard.camera_row(ctx, f"w:{data['building_id']}")])
        return
    if kind.startswith("form:"):
        if not await admin.on_text(ctx, kind.removeprefix("form:"), data, text):
            await ctx.reply("common.use_buttons")
            await ask_again(ctx, kind, data)
        return
    draft = await _draft_for(ctx, kind, data)
    if draft is not None and draft["state"] == "draft":
        updated = await hazard.on_text(ctx, draft, text)
        if updated is not None:
            await continue_after(ctx, kind, data, updated)
            return
    await ctx.reply("common.use_buttons")
    await ask_again(ctx, kind, data)


@entry
async def on_contact(ctx: Ctx) -> None:
    """A shared contact: the phone number when joining."""
    message = ctx.update.effective_message
    contact = message.contact if message else None
    waiting = await people.pending(ctx.db, ctx.user_id)
    if contact is None or waiting is None or waiting[0] != "join":
        await ctx.reply("common.not_understood")
        return
    if contact.user_id is not None and contact.user_id != ctx.user_id:
        await ctx.reply("join.own_phone")
        return
    await join.on_input(ctx, waiting[1], None, contact.phone_number)


def _picture(ctx: Ctx) -> PhotoSize | Document | None:
    """The largest size of a photo, or a document that says it is an image."""
    message = ctx.update.effective_message
    if message is None:
        return None
    if message.photo:
        return message.photo[-1]
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document
    return None


@entry
async def on_photo(ctx: Ctx) -> None:
    """A photo (or an image file): for the hazard waiting for one, else a quick report."""
    picture = _picture(ctx)
    if picture is None:
        raise PhotoRejected(reason="not_image")
    ctx.member()
    waiting = await people.pending(ctx.db, ctx.user_id)
    if waiting is None:
        await quick.start(ctx, picture)
        return
    kind, data = waiting
    if kind == journey_states.KIND:
        await journey_states.on_photo(ctx, data, picture)
        return
    if kind == "fix":
        await rectify.on_photo(ctx, data, picture)
        return
    if kind == "scanned":
        await quick.start_scanned(ctx, picture, data["building_id"])
        return
    if kind in ("walk", "quick"):
        draft = await _draft_for(ctx, kind, data)
        if draft is not None and draft["state"] == "draft" and hazard.step_of(draft) is Step.PHOTOS:
            await hazard.on_photo(ctx, draft, picture)
            fresh = await walks.hazard(ctx.db, draft["id"])
            assert fresh is not None
            await hazard.ask(ctx, fresh)
            return
    await ctx.reply("common.photo_not_now")
    await ask_again(ctx, kind, data)


@entry
async def on_document(ctx: Ctx) -> None:
    """A spreadsheet to import; any other file is refused and the question asked again."""
    document = ctx.update.effective_message.document if ctx.update.effective_message else None
    if document is not None and reports.is_spreadsheet(document):
        await reports.on_spreadsheet(ctx, document)
        return
    waiting = await people.pending(ctx.db, ctx.user_id)
    await ctx.reply("error.photo.not_image")
    if waiting is not None:
        await ask_again(ctx, *waiting)


@entry
async def on_hazard_button(ctx: Ctx) -> None:
    """``h:<hazard>:<step>:<value>``: a tapped hazard answer."""
    _, raw_id, raw_step, value = parts(ctx.tap_data, 4)
    person = ctx.member()
    draft = await walks.hazard(ctx.db, number(raw_id))
    if (
        draft is None
        or not can_walk(person, draft["school_id"])
        or draft["reported_by"] != person.id
    ):
        raise NotAllowed()
    if draft["state"] != "draft" or raw_step not in {s.value for s in Step}:
        raise Stale()
    updated = await hazard.on_button(ctx, draft, Step(raw_step), value)
    await ctx.settle(_label(ctx, Step(raw_step), value, updated))
    kind = "quick" if draft["source"] == "quick" else "walk"
    data = (
        {"hazard_id": draft["id"]} if kind == "quick" else {"inspection_id": draft["inspection_id"]}
    )
    await continue_after(ctx, kind, data, updated)


def _label(ctx: Ctx, step: Step, value: str, updated: Row) -> str:
    """How a tapped answer is shown under its question (HTML: names are escaped)."""
    if value in ("y", "n"):
        return ctx.t("button.yes" if value == "y" else "button.no")
    if step is Step.BUILDING:
        return html.escape(str(updated["building_name"]), quote=False)
    if step is Step.RESPONSIBLE:
        return html.escape(str(updated["responsible_name"]), quote=False)
    if step is Step.DEADLINE:
        return ctx.day(updated["deadline"])
    return ctx.t("button.photos_done" if value == "done" else "button.no_photo")


@entry
async def on_camera_tap(ctx: Ctx) -> None:
    """``cam:…``: the photo button tapped where it cannot open the camera (Telegram's apps)."""
    await ctx.toast("friction.photo.how")


@entry
async def on_unknown_tap(ctx: Ctx) -> None:
    """A button whose data no handler knows (an old version's, or crafted)."""
    raise Stale()


@entry
async def on_other(ctx: Ctx) -> None:
    """Stickers, voice, locations...: not understood; the question is asked again."""
    await ctx.reply("common.not_understood")
    waiting = await people.pending(ctx.db, ctx.user_id)
    if waiting is not None:
        await ask_again(ctx, *waiting)
