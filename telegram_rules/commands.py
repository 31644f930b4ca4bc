"""Telegram's rules for command menus: scopes, checks, and which menu a person sees.

For both fakes of Telegram (the local chat and the tests' chat simulator).
A menu is kept per scope and language; a private chat shows the first menu
found in Telegram's order (Bot API, "Determining list of
commands"): the chat's scope in the user's language, the chat's scope, all
private chats in the language, all private chats, the default scope in the
language, the default scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from telegram_rules.request import Refusal

# Scope types and the fields each needs (Bot API, BotCommandScope).
SCOPES: dict[str, tuple[str, ...]] = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
LANGUAGE = re.compile(r"[a-z]{2}")

Menus = Mapping[tuple[str, str], list[dict[str, str]]]


def scope_key(scope: Any) -> str:
    """``default``, ``chat:<id>``…: where a menu applies; a bad scope is refused.

    The refusals are worded as Telegram's Bot API server words them.
    """
    if scope in (None, ""):
        return "default"
    if not isinstance(scope, dict):
        raise _bad_scope("BotCommandScope must be an Object")
    kind = str(scope.get("type") or "")
    if kind not in SCOPES:
        raise _bad_scope("Unsupported type specified")
    ids = []
    for name in SCOPES[kind]:
        value = str(scope.get(name) or "").strip()
        if not value:
            raise _bad_scope(f"Empty {name} specified")
        if not value.lstrip("-").isdigit():
            # A chat given by @username: no such chat among people's private chats here.
            raise Refusal("chat not found")
        ids.append(str(int(value)))
    return ":".join([kind, *ids])


def _bad_scope(why: str) -> Refusal:
    return Refusal(f"Can't parse BotCommandScope: {why}")


def language_key(language_code: Any) -> str:
    """'' for every language, or a two-letter ISO 639-1 code."""
    code = str(language_code or "")
    if code and not LANGUAGE.fullmatch(code):
        raise Refusal("invalid language code specified")
    return code


def checked(commands: Any) -> list[dict[str, str]]:
    """The commands as Telegram checks them: 1–32 of [a-z0-9_], description 1–256, ≤ 100."""
    if not isinstance(commands, list):
        raise Refusal("Expected an Array of BotCommand")
    if len(commands) > 100:
        raise Refusal("BOT_COMMANDS_TOO_MUCH")
    out = []
    for command in commands:
        if not isinstance(command, dict):
            raise Refusal("Can't parse BotCommand: expected an Object")
        name, text = str(command.get("command", "")), str(command.get("description", ""))
        if not COMMAND.fullmatch(name):
            raise Refusal("BOT_COMMAND_INVALID")
        if not 1 <= len(text.strip()) <= 256:
            raise Refusal("BOT_COMMAND_DESCRIPTION_INVALID")
        out.append({"command": name, "description": text})
    return out


def private_chat_menu(
    menus: Menus, chat_id: int, user_language: str | None
) -> list[dict[str, str]]:
    """The menu a person sees in their private chat with the bot."""
    language = (user_language or "")[:2].lower()
    for scope in (f"chat:{chat_id}", "all_private_chats", "default"):
        for code in (language, "") if language else ("",):
            found = menus.get((scope, code))
            if found is not None:
                return found
    return []
