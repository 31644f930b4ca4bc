"""Telegram's rules for what a bot sends, in one place.

What the Bot API accepts (text and caption lengths, empty texts, Telegram's
HTML, reply markup, callback data) is judged here, the way Telegram's own
Bot API server and TDLib judge it, for the two fakes of Telegram (the chat
simulator of the tests and the local chat); and the bot measures what it
builds with the same functions (``fit``), so that it fits by construction.

Pure Python, no project imports: handlers, scheduler, localchat and tests
all depend on it, it depends on none of them.
"""

from telegram_rules.html import Entity, parse_html
from telegram_rules.request import (
    MAX_ALERT,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    Formatted,
    Refusal,
    alert_text,
    as_shown,
    formatted,
    reply_markup,
    telegram_len,
    utf16_len,
)

__all__ = [
    "MAX_ALERT",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
    "Entity",
    "Formatted",
    "Refusal",
    "alert_text",
    "as_shown",
    "formatted",
    "parse_html",
    "reply_markup",
    "telegram_len",
    "utf16_len",
]
