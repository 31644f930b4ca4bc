"""Long exports in chat: said at once, progress shown, the file in the message's place.

A city ledger takes seconds to write. The person is told at once
("正在生成全市台账…"), that message shows the progress as the worker reports
it, and when the file is ready it is sent and the progress message goes. A
second request for the same file while it is being made joins the first: one
worker writes it, everyone who asked gets it, each in their own language.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Bot, Message
from telegram.error import TelegramError

from handlers.base import Ctx
from storage.workers import Progress, WorkerCrashed
from texts import t

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 2.0  # progress edits: Telegram allows about one a second per chat
Made = tuple[str, bytes]  # file name, bytes


@dataclass
class _Watcher:
    """One person waiting for the file, and the message that shows them its progress."""

    bot: Bot
    message: Message
    lang: str
    title: str


@dataclass
class Export:
    """One file being made, and everyone waiting for it."""

    watchers: list[_Watcher] = field(default_factory=list)
    last_edit: float = 0.0
    result: asyncio.Future[Made] | None = None

    def progress(self, done: int, total: int) -> None:
        """A worker's report (on the event loop): show it, at most every few seconds."""
        now = time.monotonic()
        if total and done < total and now - self.last_edit >= EDIT_EVERY_SECONDS:
            self.last_edit = now
            for watcher in list(self.watchers):
                asyncio.get_running_loop().create_task(self._show(watcher, done, total))

    async def _show(self, watcher: _Watcher, done: int, total: int) -> None:
        text = t(
            watcher.lang,
            "exports.progress",
            title=watcher.title,
            percent=done * 100 // total,
            done=done,
            total=total,
        )
        try:
            await watcher.bot.edit_message_text(
                text, chat_id=watcher.message.chat_id, message_id=watcher.message.message_id
            )
        except TelegramError as error:  # a progress line is not worth failing for
            log.info("export progress not shown: %s", error)


async def deliver(
    ctx: Ctx,
    key: str,
    title: str,
    make: Callable[[Progress], Awaitable[Made]],
    caption: Callable[[str], str],
) -> None:
    """Make the file ``key`` (or join whoever is making it), show progress, send it.

    ``title`` names the file in the person's language ("全市台账"); ``caption``
    gives the file's caption in a language.
    """
    running: dict[str, Export] = ctx.services.exports
    export = running.get(key)
    joined = export is not None
    message = await ctx.reply(
        "exports.joined" if joined else "exports.started", title=html.escape(title)
    )
    if export is None:
        export = running[key] = Export()
        export.result = asyncio.ensure_future(make(export.progress))
        export.result.add_done_callback(lambda _: running.pop(key, None))
    export.watchers.append(_Watcher(ctx.context.bot, message, ctx.lang, title))
    assert export.result is not None
    try:
        name, data = await asyncio.shield(export.result)
    except WorkerCrashed:
        await _replace(ctx, message, ctx.t("exports.crashed", title=title))
        return
    await ctx.context.bot.send_document(
        ctx.chat_id, document=data, filename=name, caption=caption(ctx.lang)[:1024]
    )
    await _delete(ctx, message)


async def _replace(ctx: Ctx, message: Message, text: str) -> None:
    try:
        await ctx.context.bot.edit_message_text(
            text, chat_id=message.chat_id, message_id=message.message_id
        )
    except TelegramError:
        await ctx.say(text)


async def _delete(ctx: Ctx, message: Message) -> None:
    """The progress message goes once the file is there (older than 48 h: it stays)."""
    try:
        await ctx.context.bot.delete_message(message.chat_id, message.message_id)
    except TelegramError as error:
        log.info("export progress message not deleted: %s", error)
