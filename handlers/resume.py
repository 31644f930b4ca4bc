"""At start-up: people whose current question may never have reached them get it again.

A crash between an answer's commit and the reply to it leaves a person
looking at a question already answered. Everyone in the middle of a journey
whose question moved since it was last shown (``storage.journeys``) is told
that the bot restarted and asked where they are; the others have their
question on screen already and are not disturbed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from handlers.base import Ctx, Services
from handlers.router import ask_again
from ledger.errors import XiaoanError
from storage import journeys

log = logging.getLogger(__name__)


async def resume_journeys(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Ask each person whose question was not shown since it moved; return how many."""
    services: Services = app.bot_data["services"]
    db = services.db
    asked = 0
    for waiting in await journeys.unshown(db):
        ctx = Ctx.detached(app, waiting.tg_user_id, waiting.language)
        try:
            await ctx.load_person()
            await ctx.reply("journey.resumed")
            await ask_again(ctx, waiting.kind, json.loads(waiting.data))
        except (XiaoanError, TelegramError) as exc:  # gone, no longer allowed, blocked...
            log.info("resume: person %s not asked again: %s", waiting.tg_user_id, exc)
            continue
        except Exception:  # one person's broken state must not keep the others waiting
            log.exception("resume: asking person %s again failed", waiting.tg_user_id)
            continue
        if ctx.asked is not None:
            await journeys.shown(db, ctx.user_id, ctx.asked, ctx.lang, waiting.version)
            asked += 1
    if asked:
        log.info("resume: %d person(s) asked their current question again", asked)
    return asked


async def resume_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job, once at start-up: ``resume_journeys`` without holding up the start."""
    await resume_journeys(context.application)
