"""The README stays true: every chat command and every command-line command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from telegram.ext import CommandHandler

from bot.cli import parser
from handlers.i18n import LANGUAGES, catalogue
from ledger.menu import ORDER as MENU
from tests.simulator import Simulator

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def chat_commands(sim: Simulator) -> set[str]:
    return {
        command
        for handlers in sim.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


async def test_every_chat_command_is_in_the_readme(sim: Simulator) -> None:
    documented = set(re.findall(r"`/([a-z_]+)", README))
    assert chat_commands(sim) - documented == set()


async def test_every_menu_command_exists_and_is_described(sim: Simulator) -> None:
    assert set(MENU) <= chat_commands(sim)
    for lang in LANGUAGES:
        assert all(f"commands.{name}" in catalogue(lang) for name in MENU)


def test_every_command_line_command_is_in_the_readme() -> None:
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"xiaoan {name}" in README or f"`{name}`" in README, name
