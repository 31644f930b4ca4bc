"""The guard every update passes first (handler group -1).

In this order: an update already applied stops here; an update from a group,
supergroup or channel is answered once per group ("private chats only") and
goes no further, so nothing of a group is ever stored or sent there; a sender
past their allowance (``ledger.throttle``) is told once to slow down, or not
at all, and their update goes no further; a person who had blocked the bot
and writes again can be reached again.

A stopped update is marked done before anything is said, so a crash never
makes the bot say it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Chat, ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.base import Services, answer_query, keep_read_ahead, read_ahead_queries
from handlers.buttons import first_reads, uses_checklist
from ledger.throttle import Lane, Throttle, Verdict
from storage import campus, groups, inbox, outbox
from storage.db import Database
from texts import language_of, t

log = logging.getLogger(__name__)


# Dropped updates are marked done together, this long after the first of them:
# a flood costs one write, not one per message. A crash in between feeds them
# again at start-up, where they are dropped again (all but one, answered).
DROPPED_MARK_AFTER = 0.5


@dataclass
class Guard:
    """The guard's state: the senders' buckets, on a monotonic clock (replaced in tests),
    and the dropped updates not yet marked done."""

    throttle: Throttle = field(default_factory=Throttle)
    monotonic: Callable[[], float] = time.monotonic
    _dropped: list[int] = field(default_factory=list)
    _marking: asyncio.Task[None] | None = None

    def later(self, db: Database, update_id: int) -> None:
        """Mark an update done soon, with the others marked meanwhile: a dropped one, or
        one whose answer may be given twice (``handlers.base.turning``)."""
        self.drop(db, update_id)

    def drop(self, db: Database, update_id: int) -> None:
        """Mark a dropped update done soon, with the others dropped meanwhile."""
        self._dropped.append(update_id)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_later(db))

    async def _mark_later(self, db: Database) -> None:
        await asyncio.sleep(DROPPED_MARK_AFTER)
        await self._mark(db)

    async def _mark(self, db: Database) -> None:
        ids, self._dropped = self._dropped, []
        if ids:
            await inbox.mark_many_done(db, ids)

    async def flush(self, db: Database) -> None:
        """Mark the dropped updates done now (before the database closes)."""
        if self._marking is not None and not self._marking.done():
            self._marking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._marking
        await self._mark(db)


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop what must not reach the handlers: applied, from a group, or past the pace."""
    services: Services = context.bot_data["services"]
    user = update.effective_user
    user_id = user.id if user else 0
    # One read for all the guard needs to know (a flood is many reads), and for what the
    # handler reads first: the person, a tapped button's own reads. Read on the event
    # loop itself (``Database.read_here``): a few rows by key cost less than a hand-over.
    # The checklist in force, for the first tap that needs it: read once, with its reads.
    version = services.checklist_version_id
    checklist = (
        [campus.version_items_query(version)]
        if uses_checklist(update) and not campus.items_known(services.db, version)
        else []
    )
    found = await services.db.read_here(
        [
            inbox.arrival_query(update.update_id, user_id),
            *read_ahead_queries(user_id, first_reads(update, services)),
            *checklist,
        ]
    )
    if checklist:
        campus.keep_items(services.db, version, found.pop())
    known = inbox.arrival_of(found[0])
    if known.done:
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        await _in_group(update, context, services, chat)
        raise ApplicationHandlerStop
    if user is None or update.my_chat_member is not None:
        return  # Telegram's own notices (blocked, unblocked) are never throttled
    state: Guard = context.bot_data["guard"]
    lane = _lane(update, member=known.person_id is not None or known.joining)
    verdict = state.throttle.verdict(lane, user.id, state.monotonic())
    if verdict is Verdict.DROP:
        state.drop(services.db, update.update_id)
        raise ApplicationHandlerStop
    if verdict is Verdict.WARN:
        await inbox.mark_done(services.db, update.update_id)  # before it is said: said once
        await _say(update, context, t(language_of(user.language_code), "guard.slow_down"))
        raise ApplicationHandlerStop
    if known.blocked and known.person_id is not None:
        async with services.db.write() as tx:
            await outbox.unblock(tx, known.person_id)
    # Kept only for an update that goes on to its handler (a stopped one leaves nothing).
    keep_read_ahead(context, update.update_id, found[1:], known.stored)


def _lane(update: Update, *, member: bool) -> Lane:
    """A member, or someone joining with a valid code, works fast; a stranger does not."""
    if member:
        return Lane.MEMBER
    message = update.message
    if message is not None and (message.text or "").split("@")[0].split()[:1] == ["/start"]:
        return Lane.JOIN
    return Lane.STRANGER


async def _in_group(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, chat: Chat
) -> None:
    """Once per group: "private chats only"; a tap on a group's message gets it as a notice."""
    user = update.effective_user
    lang = language_of(user.language_code if user else None)
    if update.callback_query is not None:
        await inbox.mark_done(services.db, update.update_id)
        await answer_query(update.callback_query, t(lang, "guard.private_only_tap"))
        return
    change = update.my_chat_member
    # Being removed from a group is no reason to speak (nor could the bot).
    present = change is None or change.new_chat_member.status in (
        ChatMember.MEMBER,
        ChatMember.ADMINISTRATOR,
    )
    kind = chat.type if chat.type in ("group", "supergroup", "channel") else "group"
    async with services.db.write(update.update_id) as tx:
        first = present and await groups.tell_once(tx, chat.id, kind)
    if first:
        bot = services.bot_username or context.bot.username
        await _say(update, context, t(lang, "guard.private_only", bot=bot), chat.id)


async def _say(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, chat_id: int | None = None
) -> None:
    """A notice as a tap's alert or a message; a refusal (a channel the bot may not
    post in, a tap gone stale) is logged, never raised: the update is done already."""
    if update.callback_query is not None and chat_id is None:
        await answer_query(update.callback_query, text)
        return
    target = chat_id if chat_id is not None else update.effective_chat.id  # type: ignore[union-attr]
    try:
        await context.bot.send_message(target, text)
    except TelegramError as error:
        log.warning("could not tell chat %s: %s", target, error)
