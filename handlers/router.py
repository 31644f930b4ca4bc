"""Where a message goes: the journey the person is in the middle of takes it.

Typed text, a photo, a document or a shared contact is handed to the journey
waiting for input (``handlers.journeys.TABLE``: joining, a form, a walk, a
quick report, a fix report, a date and a reason…), which answers it or says
"not now" and asks again, with nothing stored changed. With no journey under
way: an invitation code joins, a photo starts a quick report, a spreadsheet
is imported. A text
counts as an answer only to the question the person was shown
(``storage.journeys``): one typed for a question that never reached them is
answered by showing it.
"""

from __future__ import annotations

from typing import Any

from telegram import Document, PhotoSize

# Every module with a journey registers it in the table as it is imported.
from handlers import admin, join, quick, rectify, reports  # noqa: F401
from handlers.base import Ctx, entry
from handlers.common import help_text
from handlers.journeys import current, load
from ledger.errors import PhotoRejected
from ledger.invitations import code_in
from storage import journeys

# Longest text accepted at all; longer is refused before anything else.
MAX_MESSAGE = 4096


async def ask_again(ctx: Ctx, kind: str, data: dict[str, Any]) -> None:
    """Repeat what the person is being asked (at start-up, after a crash)."""
    state = load(kind, data)
    if state is not None:
        await state.again(ctx)


async def ask_current(ctx: Ctx) -> None:
    """The question this person is at now, asked again (after a stale tap)."""
    state = await current(ctx)
    if state is not None and await state.still_theirs(ctx):
        await state.again(ctx)


@entry
async def on_text(ctx: Ctx) -> None:
    """Typed text: an answer to whatever the person is being asked."""
    message = ctx.update.effective_message
    text = (message.text if message else None) or ""
    if len(text) > MAX_MESSAGE:
        await ctx.reply("error.too_long", limit=MAX_MESSAGE, length=len(text))
        return
    state = await current(ctx)
    if state is None:
        code = code_in(text) if ctx.person is None or not ctx.person.memberships else None
        if code is not None:  # someone not yet in, typing or pasting their code
            await join.join_with(ctx, code)
            return
        await ctx.say(ctx.t("common.not_understood") + "\n\n" + help_text(ctx))
        return
    if state.checks_shown and not await journeys.answers_shown_question(
        ctx.db, ctx.user_id, message.message_id if message else 0
    ):
        # Typed for a question that never reached them (its reply lost in a crash,
        # or typed ahead of it): not an answer to the question now waiting.
        await ctx.reply("journey.not_taken")
        await state.again(ctx)
        return
    if state.members_only:
        ctx.member()
    await state.text(ctx, text)


@entry
async def on_contact(ctx: Ctx) -> None:
    """A shared contact: the phone number when joining."""
    message = ctx.update.effective_message
    contact = message.contact if message else None
    state = await current(ctx)
    if contact is None or state is None:
        await ctx.reply("common.not_understood")
        return
    if contact.user_id is not None and contact.user_id != ctx.user_id:
        await ctx.reply("join.own_phone")
        return
    await state.contact(ctx, contact.phone_number)


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
    """A photo (or an image file): for the journey waiting for one, else a quick report."""
    picture = _picture(ctx)
    if picture is None:
        raise PhotoRejected(reason="not_image")
    ctx.member()
    state = await current(ctx)
    if state is None:
        await quick.start(ctx, picture)
        return
    await state.photo(ctx, picture)


@entry
async def on_document(ctx: Ctx) -> None:
    """A spreadsheet to import; any other file is refused and the question asked again."""
    document = ctx.update.effective_message.document if ctx.update.effective_message else None
    if document is not None and reports.is_spreadsheet(document):
        await reports.on_spreadsheet(ctx, document)
        return
    state = await current(ctx)
    if state is None or document is None:
        await ctx.reply("error.photo.not_image")
        return
    await state.document(ctx, document)


@entry
async def on_other(ctx: Ctx) -> None:
    """Stickers, voice, locations...: not understood; the question is asked again."""
    state = await current(ctx)
    if state is None:
        await ctx.reply("common.not_understood")
        return
    await state.other(ctx)
