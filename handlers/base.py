"""What every handler shares: services, the per-update context, errors.

``@entry`` wraps each python-telegram-bot callback: it builds a ``Ctx`` (who
is asking, in which language), turns a refused action (``XiaoanError``) into
a short answer in that language, and makes sure the update is marked done in
the inbox. A handler that writes marks it done in its own transaction
(``ctx.write()``); a read-only command (``@reading``) and a refused action
are marked done before they answer, so a crash in between never makes the
bot answer twice after a restart.

Telegram refuses, and the handler goes on: an answer to a tap that is too old
(it waited in Telegram while the bot was down) or answered already, and an
edit that changes nothing (the same tap applied before a crash).
A question sent with ``ctx.ask`` is recorded as shown once the handler is
through (``storage.journeys``).
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes

from cases.actor import Actor
from handlers import when
from ledger.clock import Clock
from ledger.errors import Stale, XiaoanError
from ledger.evidence import EvidenceRules
from ledger.roles import Person, require_member
from storage import inbox, journeys, questions
from storage.ahead import AheadReader, ahead_of
from storage.db import Database, Query, Reader, Row, Tx, Writes
from storage.evidence import PhashIndex
from storage.people import person_from, person_query
from storage.photos import PhotoStore
from storage.workers import Workers
from telegram_rules import MAX_TEXT, as_shown, parse_html, utf16_len
from telegram_rules.fit import alert, clip, html_units
from texts import Html, language_of, t

log = logging.getLogger(__name__)
T = TypeVar("T")

# A fault point for the crash tests only (tests/test_crash_processes.py): the
# process kills itself right after committing the update whose text is this,
# before any reply. Read once at start; unset, it costs one comparison a write.
KILL_AFTER_COMMIT = os.environ.get("XIAOAN_TEST_KILL_AFTER_COMMIT")

# Telegram's refusals that say nothing is wrong with what the bot asked
# (tdlib/telegram-bot-api, Client.cpp): a tap answered too late or twice,
# and an edit to what the message already shows.
NO_PREVIEW_JSON = '{"is_disabled": true}'  # link_preview_options, as Telegram reads it
QUERY_TOO_OLD = "query is too old and response timeout expired or query id is invalid"
NOT_MODIFIED = "message is not modified"

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
    # Asks the sending job for a pass now (set by bot.app once the bot runs), so a
    # notice goes out at once, not at the next tick; the database calls it after
    # each commit that queued one (``Database.on_outbox``), never a handler.
    wake_sender: Callable[[], None] = lambda: None
    # Asks a person the question they are at now (set by bot.app to the router's):
    # after a stale tap, so that one whose reply was lost in a crash can go on.
    ask_again: Callable[[Ctx], Awaitable[None]] | None = None
    # Exports and photo normalisation run here, off the event loop's interpreter.
    workers: Workers = field(default_factory=lambda: Workers(0))
    # Exports being made, by what they make (``handlers.exports.Export``): a second
    # request for the same file joins the first.
    exports: dict[str, Any] = field(default_factory=dict)
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
        # What ``load_person`` read with the person, in the order asked.
        self.first_reads: list[list[Row]] = []
        # The same, by query, served by ``reads`` until this update first writes.
        self.ahead: dict[Query, list[Row]] = {}
        self.wrote = False  # the update is marked done: by its write, or by a mark of its own
        # Found in the inbox by the guard (``storage.inbox.Arrival.stored``): a power cut
        # that lost this update's commit would have it applied again at start-up.
        self.stored = False
        self.marked_first = False  # marked done before the handler ran (it only reads)
        self.asked: int | None = None  # the message id of the question this update asked
        self.writes = 0  # this update's transactions so far
        self.writes_when_asked = 0

    @classmethod
    def detached(
        cls, app: Application[Any, Any, Any, Any, Any, Any], tg_user_id: int, lang: str
    ) -> Ctx:
        """A context outside any update, to speak to one person (at start-up)."""
        ctx = cls(Update(update_id=0), CallbackContext(app))
        ctx.user_id = ctx.chat_id = tg_user_id  # a private chat's id is its person's
        ctx.lang = language_of(lang)
        return ctx

    @property
    def tap_data(self) -> str:
        """The callback data of a tapped button ('' for other updates)."""
        query = self.update.callback_query
        return (query.data or "") if query is not None else ""

    # --- who -----------------------------------------------------------------
    async def load_person(self, also: FirstReads | None = None) -> None:
        """The person, read once for the whole update; ``also``: other reads the update
        needs, known before it runs (a tapped button's), read in the same trip and kept
        in ``first_reads``. Read already when the guard read them with its own
        (``read_ahead``): taken from there, once."""
        ahead = take_read_ahead(self.context, self.update.update_id)
        more = also(self.update, self.services) if also is not None else ()
        if ahead is None:
            found = await self.db.read_many(read_ahead_queries(self.user_id, more))
        else:
            found, self.stored = ahead
        self.person = person_from(found[0])
        self.first_reads = found[1:]
        if len(more) == len(self.first_reads):
            self.ahead = ahead_of(more, self.first_reads)

    @property
    def reads(self) -> Reader:
        """Where to read before this update writes: its reads made ahead are served from
        what was read with the person, the rest read from the database."""
        return AheadReader(self.db, self.ahead) if self.ahead else self.db

    def member(self) -> Person:
        """The person, who must have joined; otherwise ``NotMember``."""
        return require_member(self.person)

    def actor(self) -> Actor:
        """The person acting in a use case (``cases``), through this update's transaction."""
        return Actor(
            self.db,
            self.member(),
            self.services.clock,
            self.write,
            self.user_id,
            at_once=self.write_at_once,
            reads=AheadReader(self.db, self.ahead) if self.ahead else None,
        )

    # --- time ----------------------------------------------------------------
    def now(self) -> datetime:
        return self.services.clock.now()

    def today(self) -> date:
        return self.now().date()

    def moment(self, value: str | datetime) -> str:
        """A stored moment as this person reads it (campaign time zone, their language)."""
        return when.moment_text(value, self.lang, self.services.clock.tz, self.today())

    def day(self, value: str | date, weekday: bool = True) -> str:
        """A day (with its weekday unless told), as this person reads it."""
        return when.day_text(value, self.lang, self.today(), weekday)

    # --- storage ---------------------------------------------------------------
    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction that also marks this update done (and moves the
        person's journey: the question shown before may no longer be the one waiting)."""
        shown = self._before_write()
        try:
            async with self.db.write(self.update.update_id) as tx:
                await journeys.moved(tx, self.user_id, shown)
                yield tx
        except BaseException:
            if shown is not None:
                journeys.keep_shown(self.db, self.user_id, shown)
            raise
        self._written()

    async def write_at_once(self, work: Callable[[Writes], T]) -> T:
        """``write()`` for a write known whole before it runs (a plain function): the same
        transaction, written on the event loop's own connection when the update needs no
        sync of its own, else in one trip to the writer's thread (``Database.write_at_once``)."""
        shown = self._before_write()

        def whole(w: Writes) -> T:
            journeys.moved_in(w, self.user_id, shown)
            return work(w)

        try:
            done: T = await self.db.write_at_once(
                whole,
                self.update.update_id,
                replayable=self.stored,
                on_loop=True,  # with the other steps of this turn of the loop, on it
            )
        except BaseException:
            if shown is not None:
                journeys.keep_shown(self.db, self.user_id, shown)
            raise
        self._written()
        return done

    def _before_write(self) -> journeys.Shown | None:
        """The question shown and not written down yet, taken to be written with this update."""
        if self.marked_first:
            # A read-only handler answers before this commit: a crash in between loses it.
            log.error("update %d writes after answering", self.update.update_id)
        return journeys.take_shown(self.db, self.user_id)

    def _written(self) -> None:
        self.ahead.clear()  # what was read ahead may have changed with this write
        self.wrote = True
        self.writes += 1
        if KILL_AFTER_COMMIT is not None:
            message = self.update.effective_message
            if message is not None and message.text == KILL_AFTER_COMMIT:
                os.kill(os.getpid(), signal.SIGKILL)

    async def mark_done(self) -> None:
        """Mark the update done unless its own write did: it is never applied again."""
        if not self.wrote:
            await inbox.mark_done(self.db, self.update.update_id)
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
            within_limit(text),
            parse_mode=ParseMode.HTML,
            reply_markup=_markup(keyboard),
            disable_web_page_preview=True,
        )

    async def ask_typed(self, topic: str, text: str, keyboard: Keyboard | Markup = None) -> None:
        """A question that may be answered by typing: remembered, to confirm the answer in it."""
        message = await self.say(text, keyboard)
        # Shown, and open to a typed answer, in one transaction (the question's own).
        await journeys.shown(
            self.db, self.user_id, message.message_id, self.lang, typed=(topic, text)
        )

    async def confirm_typed(self, topic: str, note: str) -> None:
        """A typed answer shown under its question, whose buttons go (as a tap's answer is)."""
        question = await questions.open_question(self.db, self.chat_id, topic)
        if question is None:
            return
        async with self.db.write() as tx:
            await questions.close_question(tx, self.chat_id)
        text = f"{question['html']}\n→ {html.escape(note, quote=False)}"
        if html_units(text) > MAX_TEXT:
            text = question["html"]  # no room: at least the buttons go
        try:
            await self.context.bot.edit_message_text(
                text,
                chat_id=self.chat_id,
                message_id=question["message_id"],
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                disable_web_page_preview=True,
            )
        except BadRequest as refused:  # deleted, or too old to edit: the answer stands anyway
            log.info("typed answer not shown under its question: %s", refused.message)

    async def reply(self, key: str, keyboard: Keyboard | Markup = None, **values: Any) -> Message:
        return await self.say(self.t(key, **values), keyboard)

    async def ask(self, text: str, keyboard: Keyboard | Markup = None) -> Message:
        """Send the journey's current question (recorded as shown once the handler is through)."""
        message = await self.say(text, keyboard)
        self.asked, self.writes_when_asked = message.message_id, self.writes
        return message

    async def settle(self, note: str | None = None) -> None:
        """Close a tapped question: the spinner stops and its buttons go, with the answer shown."""
        query = self.update.callback_query
        if query is None:
            return
        await self.answer_tap()
        message = query.message
        if isinstance(message, Message) and note is None and message.reply_markup is None:
            return  # nothing to show and no buttons to take away: Telegram refuses such an edit
        if isinstance(message, Message) and message.text_html is not None:
            answer = f"\n→ {note}" if note else ""
            text = message.text_html + answer
            if utf16_len(message.text or "") + html_units(answer) > MAX_TEXT:
                # No room for the answer under the question: just take its buttons away
                # (if it has none, an edit would change nothing, which Telegram refuses).
                if message.reply_markup is not None:
                    await unchanged_ok(query.edit_message_reply_markup(reply_markup=None))
                return
            await unchanged_ok(
                query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
            )

    async def answer_tap(self, text: str | None = None, as_alert: bool = False) -> None:
        """Stop the tapped button's spinner (with a notice); nothing when it was not a tap."""
        query = self.update.callback_query
        if query is not None:
            await answer_query(query, text, as_alert)

    async def edit(self, text: str, keyboard: Keyboard | None = None, same: bool = True) -> None:
        """Replace the tapped message (a list turning its page); a new one otherwise.

        ``same=False``: the caller knows the text differs from the tapped one (a walk's
        next question), so it is not compared first.
        """
        query = self.update.callback_query
        if query is None or not isinstance(query.message, Message):
            await self.say(text, keyboard)
            return
        try:
            await self._replace(query, query.message, within_limit(text), keyboard, same)
        finally:
            # Answered after the edit, which is what the person waits for (its new buttons
            # end the tapped one's spinner): the next question shows a round trip sooner.
            await self.answer_tap()

    async def _replace(
        self,
        query: CallbackQuery,
        message: Message,
        text: str,
        keyboard: Keyboard | None,
        same: bool,
    ) -> None:
        """``edit``'s edit of the tapped message."""
        if not same:
            buttons = inline_keyboard(keyboard)
            await unchanged_ok(edit_unread(query.get_bot(), message, text, buttons))
            return
        markup = _markup(keyboard)
        assert markup is None or isinstance(markup, InlineKeyboardMarkup)
        if markup == message.reply_markup and as_shown(text, ParseMode.HTML)[0] == (
            message.text or ""
        ):
            return  # the same page tapped again: Telegram refuses an edit that changes nothing
        await unchanged_ok(
            query.edit_message_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
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
        if self.update.callback_query is not None:
            await self.answer_tap(alert(self.t(key, **values)), as_alert=True)
        else:
            await self.reply(key, **values)


async def answer_query(
    query: CallbackQuery, text: str | None = None, as_alert: bool = True
) -> None:
    """Answer a tap; Telegram's "too old" (it waited while the bot was down, or was
    answered already) is no failure: the spinner has stopped by then."""
    try:
        await query.answer(text, show_alert=as_alert if text else None)
    except BadRequest as refusal:
        if QUERY_TOO_OLD not in refusal.message.lower():
            raise
        log.info("tap %s answered too late: %s", query.id, refusal.message)


def inline_keyboard(keyboard: Keyboard | None) -> str | None:
    """Our rows of (label, data) as Telegram's ``reply_markup`` JSON; None without buttons.

    Written at once, not through python-telegram-bot's ``InlineKeyboardMarkup`` and its
    ``to_dict`` (a tenth of a walk's step, for the same JSON)."""
    rows = [
        [{"text": label, "callback_data": data} for label, data in row]
        for row in keyboard or ()
        if row
    ]
    return json.dumps({"inline_keyboard": rows}, ensure_ascii=False) if rows else None


async def edit_unread(bot: Bot, message: Message, text: str, buttons: str | None) -> None:
    """``editMessageText`` in HTML without a link preview, Telegram's answer not read back.

    python-telegram-bot's own method builds a ``Message`` from the answer, about a fifth of
    a walk's step on the bot, and a step never reads it. ``Bot._post`` is the call all its
    methods make, so the edit goes through the same defaults, rate limiter and errors
    (``BadRequest`` for a refusal). ``buttons``: ``inline_keyboard``'s JSON, sent as it
    stands (a parameter given as text is not serialised again)."""
    await bot._post(
        "editMessageText",
        {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": buttons,
            "link_preview_options": NO_PREVIEW_JSON,
        },
    )


async def unchanged_ok(edit: Awaitable[object]) -> None:
    """Run an edit; "message is not modified" (it shows that already) is no failure."""
    try:
        await edit
    except BadRequest as refusal:
        if NOT_MODIFIED not in refusal.message.lower():
            raise


def fits(text: str) -> bool:
    """Whether our HTML shows within Telegram's limit. What a reader sees is never longer
    than the HTML itself (tags go, an entity is one character), so only a text longer
    than the limit is parsed (some 20 µs a question)."""
    return utf16_len(text) <= MAX_TEXT or html_units(text) <= MAX_TEXT


def within_limit(text: str) -> str:
    """The text itself, which every screen builds to fit (``telegram_rules.fit``); should one
    not, its plain words cut to the limit rather than the message refused, buttons and all."""
    if fits(text):
        return text
    size = html_units(text)
    log.error("a message of %d UTF-16 units was built; cut to %d", size, MAX_TEXT)
    return html.escape(clip(parse_html(text)[0], MAX_TEXT), quote=False)


def plain(text: str) -> str:
    """What a reader sees of our HTML, for a button's label (buttons show no HTML)."""
    return as_shown(text, ParseMode.HTML)[0]


def _markup(keyboard: Keyboard | Markup) -> Markup:
    """Our rows of (label, data) as an inline keyboard; no buttons, no markup at all."""
    if keyboard is None or isinstance(
        keyboard, InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
    ):
        return keyboard
    if not any(keyboard):
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in keyboard
            if row
        ]
    )


# Reads made for an update by the guard (handler group -1) in its own trip, by update id,
# for the update's handler to take: the person and a tapped button's first reads.
READ_AHEAD = "read_ahead"
READ_AHEAD_MAX = 512  # updates in flight at once; past that, the oldest handler reads again


def read_ahead_queries(user_id: int, also: Sequence[Query]) -> list[Query]:
    """What an update's handler reads first (``Ctx.load_person``), to read ahead."""
    return [person_query(user_id), *also]


ReadAhead = tuple[list[list[Row]], bool]  # the rows, and whether the update is in the inbox


def keep_read_ahead(
    context: ContextTypes.DEFAULT_TYPE, update_id: int, found: list[list[Row]], stored: bool
) -> None:
    """Keep what was read ahead for the update's handler (taken once, by ``Ctx``)."""
    kept: dict[int, ReadAhead] = context.bot_data.setdefault(READ_AHEAD, {})
    if len(kept) >= READ_AHEAD_MAX:
        kept.pop(next(iter(kept)))  # a handler that never came for it
    kept[update_id] = (found, stored)


def take_read_ahead(context: ContextTypes.DEFAULT_TYPE, update_id: int) -> ReadAhead | None:
    if not update_id:
        return None
    kept: dict[int, ReadAhead] = context.bot_data.get(READ_AHEAD, {})
    return kept.pop(update_id, None)


def error_text(ctx: Ctx, error: XiaoanError) -> str:
    """The one place where refusals become words."""
    reason = error.params.get("reason")
    key = f"error.{error.code}.{reason}" if reason else f"error.{error.code}"
    return ctx.t(key, **error.params)


Handler = Callable[[Ctx], Awaitable[None]]


# The reads an update needs besides the person, known from the update (and the services
# the bot runs with) alone.
FirstReads = Callable[[Update, Services], Sequence[Query]]


def entry(
    handler: Handler, first_reads: FirstReads | None = None
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """Wrap a handler: context, refusals answered, update marked done; ``first_reads``
    are read with the person, in one trip (``Ctx.first_reads``)."""
    return _wrap(handler, reads_only=False, first_reads=first_reads)


def reading(
    handler: Handler, first_reads: FirstReads | None = None
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """``entry`` for a handler that only reads: its update is marked done before it
    answers, so a crash in between never makes it answer twice after a restart."""
    return _wrap(handler, reads_only=True, first_reads=first_reads)


def turning(
    handler: Handler, first_reads: FirstReads | None = None
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """``reading`` for a handler that only edits the tapped message in place (a page
    turned): its update is marked done soon after, with others, in no commit of its own
    (``handlers.guard.Guard.later``). Answered again after a crash in between, it edits
    the message into what it shows already, which Telegram and ``Ctx.edit`` take as done."""
    return _wrap(handler, reads_only=True, first_reads=first_reads, later=True)


def _wrap(
    handler: Handler,
    reads_only: bool,
    first_reads: FirstReads | None = None,
    later: bool = False,
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    @functools.wraps(handler)
    async def wrapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _handle(Ctx(update, context), handler, first_reads, later, reads_only)

    return wrapped


async def _handle(
    ctx: Ctx, handler: Handler, first_reads: FirstReads | None, later: bool, reads_only: bool
) -> None:
    """``_wrap``'s work: the person read, the handler run, refusals said, the update done."""
    update, context = ctx.update, ctx.context
    await ctx.load_person(first_reads)
    marks = context.bot_data.get("guard")
    if later and marks is not None and update.update_id:
        marks.later(ctx.db, update.update_id)
        ctx.wrote = ctx.marked_first = True
    elif reads_only:
        await ctx.mark_done()
        ctx.marked_first = True
    try:
        await handler(ctx)
        # A write after the question may have moved it on: then it counts as not shown.
        # Shown: written with the person's next transaction, not in one of its own (a
        # process killed first merely asks the question again at start-up).
        if ctx.asked is not None and ctx.writes == ctx.writes_when_asked:
            journeys.shown_later(ctx.db, ctx.user_id, ctx.asked, ctx.lang)
    except XiaoanError as error:
        await ctx.mark_done()  # refused: nothing of it is stored, and it is said once
        text = error_text(ctx, error)
        if update.callback_query is not None:
            await ctx.answer_tap(alert(text), as_alert=True)
            if isinstance(error, Stale):
                await _ask_again(ctx)
        else:
            await ctx.say(text)
    await ctx.mark_done()


async def _ask_again(ctx: Ctx) -> None:
    """After a stale tap's alert, the question the person is at now (if any)."""
    ask_again = ctx.services.ask_again
    if ask_again is None:
        return
    with contextlib.suppress(XiaoanError):  # nothing to ask any more: the alert said enough
        await ask_again(ctx)
