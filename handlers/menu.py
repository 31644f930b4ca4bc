"""The command menu by role: strangers see how to join; each person their own commands.

Telegram shows a private chat the menu set for that chat's scope
(``BotCommandScopeChat``) before the default one, so each person's menu is
set for their chat when they join and again when their roles change; the
default menu holds only what a stranger can do. What was last set is
recorded, so a start of the bot sets again only the menus whose roles or
texts changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Collection

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from handlers.base import Ctx
from ledger.menu import menu_for
from ledger.roles import Role
from storage import menus
from storage.db import Database
from texts import LANGUAGES, t

log = logging.getLogger(__name__)

SYNC_PAUSE = 0.1  # seconds between two people's menus set at start (10 a second at most)


def commands(lang: str, names: Collection[str]) -> list[BotCommand]:
    """The menu's entries in a language (descriptions from the locale files)."""
    return [BotCommand(name, t(lang, f"commands.{name}")) for name in names]


def digest(lang: str, roles: Collection[Role]) -> str:
    """What a person's menu holds, in short: a change of roles or of texts changes it."""
    entries = [(c.command, c.description) for c in commands(lang, menu_for(roles))]
    return hashlib.sha256(json.dumps([lang, entries]).encode()).hexdigest()[:16]


async def set_stranger_menu(bot: Bot) -> None:
    """The default menu (every chat without one of its own), per language."""
    for lang in LANGUAGES:
        await bot.set_my_commands(
            commands(lang, menu_for(())), language_code=None if lang == "zh" else lang
        )


async def set_person_menu(
    bot: Bot, db: Database, person_id: int, chat_id: int, lang: str, roles: Collection[Role]
) -> bool:
    """Set one person's menu for their chat; False (and logged) when Telegram refused."""
    try:
        await bot.set_my_commands(
            commands(lang, menu_for(roles)), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as error:
        # Tried again at the next start; the person still has the default menu and /help.
        log.warning("menu of person %d not set: %s", person_id, type(error).__name__)
        return False
    async with db.write() as tx:
        await menus.record_menu(tx, person_id, digest(lang, roles))
    return True


async def refresh(ctx: Ctx) -> None:
    """After joining or a new role: this person's menu, now."""
    person = ctx.person
    if person is None:
        return
    roles = {m.role for m in person.memberships}
    await set_person_menu(ctx.context.bot, ctx.db, person.id, ctx.chat_id, ctx.lang, roles)


async def sync_all(bot: Bot, db: Database, pause: float = SYNC_PAUSE) -> int:
    """At start: set the menus whose roles or texts changed since they were set.

    Paced, so that a city's first pass leaves most of Telegram's 30 requests a
    second to the people using the bot meanwhile.
    """
    changed = 0
    for holder in await menus.menu_holders(db):
        lang = holder.language if holder.language in LANGUAGES else "zh"
        if holder.digest == digest(lang, holder.roles):
            continue
        ok = await set_person_menu(bot, db, holder.person_id, holder.chat_id, lang, holder.roles)
        changed += ok
        await asyncio.sleep(pause)
    return changed
