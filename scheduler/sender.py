"""The sending job: due outbox messages go out, each at most once.

A message with photos goes out as an album first (before and after side by
side), then as its text with buttons; the album is recorded as sent on its
own, so a retry never sends it twice. Failures are sorted the way Telegram
means them: wait and retry (RetryAfter, network trouble, with back-off),
give up (a request Telegram refuses), or stop writing to a person who
blocked the bot (Forbidden).

Crashes: each call is preceded by a committed "in flight" mark and followed
by an urgent "sent" mark (``storage.outbox``). On a channel that honours an
idempotency key (the local chat says so in getMe), every send carries one,
so a send repeated after a crash returns the first result and the message
is delivered exactly once; on Telegram a repeat is recorded as possibly
sent twice.

Pacing: every message is sent as a broadcast (``telegram_rules.limits.BROADCAST``), so
the Application's rate limiter keeps what the sender sends within Telegram's
30 a second for bulk notifications (interactive replies are not counted
against it); the sender also waits so that one chat gets at most one message
a second, and sends a small batch per pass (a pass every few seconds), so a
digest to every principal is spread out and interactive answers, which do
not go through the outbox, are never queued behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from ledger.clock import Clock
from storage import outbox
from storage.db import Database
from storage.outbox import Outgoing
from storage.photos import PhotoStore
from telegram_rules.limits import BROADCAST

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # network failures before a message is given up
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
ALBUM_MAX = 10  # Telegram's limit for one media group
BATCH = 20  # messages per pass: a pass every few seconds spreads bulk sends
PER_CHAT_GAP = 1.0  # seconds between two messages to one chat (Telegram: 1 a second)
# The extra Bot API parameter the local chat deduplicates sends by, and the
# field of its getMe answer that says it does (Telegram has neither).
IDEMPOTENCY_PARAMETER = "xiaoan_idempotency_key"
IDEMPOTENCY_FEATURE = "xiaoan_idempotency_keys"


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: 30 s, 1 min, 2 min, ... at most 1 h."""
    wait: timedelta = FIRST_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(wait, MAX_BACKOFF)


@dataclass
class Sender:
    """Sends the outbox; one pass at a time, however often the job fires."""

    bot: ExtBot[Any]  # the Application's: its rate limiter takes ``rate_limit_args``
    db: Database
    clock: Clock
    photos: PhotoStore
    # Called after a pass that found people who blocked the bot: the planner
    # sends their escalations up the chain at once (set by bot.app).
    after_blocked: Callable[[], Awaitable[object]] | None = None
    # Reminders wait while this says so (quiet hours); other notices do not.
    quiet: Callable[[datetime], bool] | None = None
    # Real time for pacing (the clock may be a fake standing still); tests replace both.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    # The channel deduplicates a send repeated with the same key (the local chat).
    idempotent: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _last_to: dict[int, float] = field(default_factory=dict)

    async def send_due(self, limit: int = BATCH) -> int:
        """Send what is due now, at most ``limit`` messages; return how many went out."""
        if self._lock.locked():
            return 0  # a pass is running: it will see the same rows
        async with self._lock:
            sent = 0
            blocked: set[int] = set()
            now = self.clock.now()
            held = "remind." if self.quiet is not None and self.quiet(now) else None
            for message in await outbox.due(self.db, now, limit, held):
                if message.person_id in blocked:
                    continue  # marked by mark_blocked with the rest of their messages
                done = await self._send_one(message)
                if done is None:
                    blocked.add(message.person_id)
                sent += bool(done)
        if blocked and self.after_blocked is not None:
            await self.after_blocked()
        return sent

    async def _pace(self, chat_id: int) -> None:
        """Wait until this chat may get another message (one a second)."""
        last = self._last_to.get(chat_id)
        if last is not None:
            wait = PER_CHAT_GAP - (self.monotonic() - last)
            if wait > 0:
                await self.sleep(wait)
        self._last_to[chat_id] = self.monotonic()
        if len(self._last_to) > 10_000:  # forget chats not written to for a while
            cutoff = self.monotonic() - PER_CHAT_GAP
            self._last_to = {c: t for c, t in self._last_to.items() if t > cutoff}

    async def recover(self) -> list[int]:
        """At start-up: what the last run stopped in the middle of sending goes again."""
        found = await outbox.recover_in_flight(self.db, self.idempotent)
        if found:
            log.warning("outbox: %d message(s) were in flight when the bot stopped", len(found))
        return found

    def _key(self, message: Outgoing, part: str) -> dict[str, str] | None:
        """The idempotency key of one call, for a channel that honours it."""
        if not self.idempotent:
            return None
        return {IDEMPOTENCY_PARAMETER: message.idempotency_key(part)}

    async def _send_one(self, message: Outgoing) -> bool | None:
        """Send one message; True when sent, None when its person blocked the bot."""
        try:
            if message.photos and not message.album_sent:
                await self._pace(message.chat_id)
                await outbox.mark_in_flight(self.db, message.id)
                await self._album(message)
                await outbox.mark_album_sent(self.db, message.id)
            await self._pace(message.chat_id)
            await outbox.mark_in_flight(self.db, message.id)
            await self.bot.send_message(
                message.chat_id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(message),
                api_kwargs=self._key(message, "text"),
                rate_limit_args=BROADCAST,
            )
        except Forbidden as exc:
            log.warning("outbox %s: person %s blocked the bot", message.id, message.person_id)
            await outbox.mark_blocked(self.db, message.id, message.person_id, str(exc))
            return None
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that the type will change
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            later = self.clock.now() + timedelta(seconds=seconds)
            await outbox.mark_retry(self.db, message.id, f"RetryAfter {seconds:g}s", later)
            return False
        except BadRequest as exc:  # Telegram refuses it: sending again will not help
            log.error("outbox %s refused: %s", message.id, exc)
            await outbox.mark_failed(self.db, message.id, f"BadRequest: {exc}")
            return False
        except NetworkError as exc:
            error = f"{type(exc).__name__}: {exc}"
            unknown = may_have_arrived(exc)
            if message.attempts + 1 >= MAX_ATTEMPTS:
                await outbox.mark_failed(self.db, message.id, error, unknown)
            else:
                later = self.clock.now() + backoff(message.attempts + 1)
                await outbox.mark_retry(self.db, message.id, error, later, unknown)
            return False
        except TelegramError as exc:
            await outbox.mark_failed(self.db, message.id, f"{type(exc).__name__}: {exc}")
            return False
        await outbox.mark_sent(self.db, message.id, self.idempotent)
        return True

    async def _album(self, message: Outgoing) -> None:
        media = [
            InputMediaPhoto(self.photos.path_of(sha).read_bytes())
            for sha in message.photos[:ALBUM_MAX]
        ]
        key = self._key(message, "album")
        if len(media) == 1:
            await self.bot.send_photo(
                message.chat_id, media[0].media, api_kwargs=key, rate_limit_args=BROADCAST
            )
        else:
            await self.bot.send_media_group(
                message.chat_id, media, api_kwargs=key, rate_limit_args=BROADCAST
            )


def may_have_arrived(error: NetworkError) -> bool:
    """Whether Telegram may have the request despite the error: only a connection never
    made (or never taken from the pool) proves that it did not leave."""
    return not isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _markup(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in message.buttons
        ]
    )
