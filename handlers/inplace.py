"""A walk's step in place: the tapped question edited into the next one, the last answers
shown above it (issue 12, item 6: one rate-limited Bot API call per step, besides the
tap's answer, which Telegram does not limit).

Shared by the walks that ask one question at a time: the inspection walk
(``handlers.inspect``) and the supervisors' walk (``handlers.supervise``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Message
from telegram.error import BadRequest

from handlers.base import Ctx, Keyboard, fits
from storage import journeys

log = logging.getLogger(__name__)

RECENT = 2  # answers shown above the question that replaced theirs
# UTF-16 units of an item's text in a line of answers: a phone's line, about (a Chinese
# character is twice as wide as a Latin letter).
LINE_TEXT = {"zh": 24, "en": 40}


def line_room(lang: str) -> int:
    """How much of an item's text a line of answers quotes, in this language."""
    return LINE_TEXT.get(lang, LINE_TEXT["zh"])


def with_recent(lines: Sequence[str], question: str) -> str:
    """The question under the last answers' lines; the question whole, without them, when
    both would not fit in one message (a long item: Telegram takes 4096 UTF-16 units)."""
    text = "\n".join(lines) + "\n\n" + question if lines else question
    return text if fits(text) else question


async def step_in_place(ctx: Ctx, text: str, keyboard: Keyboard) -> bool:
    """Edit the tapped question into the next one: the one rate-limited call a step costs.

    "Message is not modified" (the same tap replayed after a crash) counts as shown; a
    message Telegram no longer lets the bot edit (deleted, too old) gets the question as a
    new message. False when the tap carries no question to edit (Telegram leaves out a
    message too old to show the bot): the caller settles the tap and asks anew.
    """
    query = ctx.update.callback_query
    message = query.message if query else None
    if not isinstance(message, Message) or message.text is None:
        return False
    try:
        await ctx.edit(text, keyboard, same=False)  # the next question: not the tapped one
    except BadRequest as refused:
        log.info("step not shown in place: %s", refused.message)
        await ctx.ask(text, keyboard)
        return True
    # Shown: written with this person's next transaction, not in one of its own.
    journeys.shown_later(ctx.db, ctx.user_id, message.message_id, ctx.lang)
    return True
