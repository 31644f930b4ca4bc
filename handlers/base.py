"""What every handler shares: services, the per-update context, errors.

``@entry`` wraps each python-telegram-bot callback: it builds a ``Ctx`` (who
is asking, in which language), turns a refused action (``XiaoanError``) into
a short answer in that language, and marks the update done in the inbox when
the handler changed nothing (a handler that writes marks it done in its own
transaction via ``ctx.write()``).
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from handlers.i18n import Html, language_of, t
from ledger.clock import Clock
from ledger.errors import NotAllowed, Stale, XiaoanError
from ledger.evidence import EvidenceRules
from ledger.roles import Person, require_member
from storage import inbox
from storage.db import Database, Tx
from storage.evidence import PhashIndex
from storage.people import person_by_tg
from storage.photos import PhotoStore

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for a message's text, after HTML parsing
ALBUM_MAX = 10  # Telegram's limit for the pictures of one album
Button = tuple[str, str]  # (label, callback data)
Keyboard = Sequence[Sequence[Button]]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


@dataclass
class Services:
    """What the handlers need, built once by ``bot.app``."""

    db: Database
    clock: Clock
    photos: PhotoStore
    campaign_id: int
    checklist_version_id: int
    bot_username: str | None
    takeover_after_minutes: int
    fix_at_once_days: int
    # Asks the sending job for a pass now (set by bot.app once the bot runs),
    # so a notice written to the outbox goes out at once, not at the next tick.
    wake_sender: Callable[[], None] = lambda: None
    # The local chat's page when the bot runs on it (no Telegram): links that a
    # phone opens by itself, such as QR codes, point there and not at t.me.
    local_page: str | None = None
    # When a photo is flagged as evidence (ledger.evidence); the zone reads capture times.
    evidence: EvidenceRules = field(default_factory=EvidenceRules)
    # The perceptual hashes of the photos on record, caught up before each look-up.
    fingerprints: PhashIndex = field(default_factory=PhashIndex)


class Ctx:
    """One update being handled: the person, their language, how to answer."""

    def __init__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.update = update
        self.context = context
        self.services: Services = context.bot_data["services"]
        self.db = self.services.db
        user = update.effective_user
        self.user_id = user.id if user else 0
        self.lang = language_of(user.language_code if user else None)
        chat = update.effective_chat
        self.chat_id = chat.id if chat else self.user_id
        self.person: Person | None = None
        self.wrote = False

    @property
    def tap_data(self) -> str:
        """The callback data of a tapped button ('' for other updates)."""
        query = self.update.callback_query
        return (query.data or "") if query is not None else ""

    # --- who -----------------------------------------------------------------
    async def load_person(self) -> None:
        self.person = await person_by_tg(self.db, self.user_id)

    def member(self) -> Person:
        """The person, who must have joined; otherwise ``NotMember``."""
        return require_member(self.person)

    # --- time ----------------------------------------------------------------
    def now(self) -> datetime:
        return self.services.clock.now()

    def today(self) -> date:
        return self.now().date()

    # --- storage ---------------------------------------------------------------
    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction that also marks this update done."""
        async with self.db.write(self.update.update_id) as tx:
            yield tx
        self.wrote = True

    # --- answering -------------------------------------------------------------
    def t(self, key: str, **values: Any) -> str:
        return t(self.lang, key, **values)

    def html(self, key: str, **values: Any) -> Html:
        return Html(self.t(key, **values))

    async def say(self, text: str, keyboard: Keyboard | Markup = None) -> Message:
        """Send a new message to this chat."""
        return await self.context.bot.send_message(
            self.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=_markup(keyboard),
            disable_web_page_preview=True,
        )

    async def reply(self, key: str, keyboard: Keyboard | Markup = None, **values: Any) -> Message:
        return await self.say(self.t(key, **values), keyboard)

    async def settle(self, note: str | None = None) -> None:
        """Close a tapped question: the spinner stops and its buttons go, with the answer shown."""
        query = self.update.callback_query
        if query is None:
            return
        await query.answer()
        message = query.message
        if isinstance(message, Message) and note is None and message.reply_markup is None:
            return  # nothing to show and no buttons to take away: Telegram refuses such an edit
        if isinstance(message, Message) and message.text_html is not None:
            text = message.text_html + (f"\n→ {note}" if note else "")
            if len(message.text or "") + len(note or "") + 3 > MAX_TEXT:
                # No room for the answer under the question: just take its buttons away.
                await query.edit_message_reply_markup(reply_markup=None)
                return
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)

    async def edit(self, text: str, keyboard: Keyboard | None = None) -> None:
        """Replace the tapped message (a list turning its page); a new one otherwise."""
        query = self.update.callback_query
        if query is None or not isinstance(query.message, Message):
            await self.say(text, keyboard)
            return
        await query.answer()
        markup = _markup(keyboard)
        assert markup is None or isinstance(markup, InlineKeyboardMarkup)
        same_text = _plain(text) == (query.message.text or "")
        if same_text and markup == query.message.reply_markup:
            return  # the same page tapped again: Telegram refuses an edit that changes nothing
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
        )

    async def show_photos(self, paths: Sequence[Path]) -> None:
        """Pictures as one album (Telegram takes 2 to 10), or a single photo."""
        files = [path.read_bytes() for path in paths[:ALBUM_MAX]]
        if len(files) == 1:
            await self.context.bot.send_photo(self.chat_id, files[0])
        elif files:
            await self.context.bot.send_media_group(
                self.chat_id, [InputMediaPhoto(data) for data in files]
            )

    async def toast(self, key: str, **values: Any) -> None:
        """A short notice on a tapped button (or a message when it was not a tap)."""
        query = self.update.callback_query
        if query is not None:
            await query.answer(self.t(key, **values)[:200], show_alert=True)
        else:
            await self.reply(key, **values)


def _plain(html_text: str) -> str:
    """What a reader sees of our HTML: tags gone, entities read (as Telegram shows it)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _markup(keyboard: Keyboard | Markup) -> Markup:
    if keyboard is None or isinstance(
        keyboard, InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
    ):
        return keyboard
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in keyboard
        ]
    )


def error_text(ctx: Ctx, error: XiaoanError) -> str:
    """The one place where refusals become words."""
    reason = error.params.get("reason")
    key = f"error.{error.code}.{reason}" if reason else f"error.{error.code}"
    return ctx.t(key, **error.params)


Handler = Callable[[Ctx], Awaitable[None]]


def entry(
    handler: Handler,
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """Wrap a handler: context, refusals answered, update marked done."""

    @functools.wraps(handler)
    async def wrapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ctx = Ctx(update, context)
        await ctx.load_person()
        try:
            await handler(ctx)
        except XiaoanError as error:
            text = error_text(ctx, error)
            if update.callback_query is not None:
                await update.callback_query.answer(text[:200], show_alert=True)
            else:
                await ctx.say(text)
        if not ctx.wrote:
            await inbox.mark_done(ctx.db, update.update_id)

    return wrapped


def parts(data: str, count: int) -> list[str]:
    """Split callback data ``x:1:2`` into exactly ``count`` fields (else stale)."""
    fields = data.split(":")
    if len(fields) != count:
        raise Stale()
    return fields


def number(value: str) -> int:
    """A number from callback data; crafted data that is not one is refused."""
    if not value.isdigit():
        raise NotAllowed()
    return int(value)
