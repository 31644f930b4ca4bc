"""The wiring: Telegram is asked for every kind of update a handler answers."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler

from bot.app import ALLOWED_UPDATES
from tests.simulator import Simulator

KIND_OF = {
    CommandHandler: "message",
    MessageHandler: "message",
    CallbackQueryHandler: "callback_query",
    ChatMemberHandler: "my_chat_member",
}


async def test_every_handled_update_kind_is_asked_for(sim: Simulator) -> None:
    handled = {
        KIND_OF[type(handler)]
        for group, handlers in sim.app.handlers.items()
        if group >= 0
        for handler in handlers
    }
    assert handled == set(ALLOWED_UPDATES)
