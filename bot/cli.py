"""The command line: ``xiaoan [--config PATH] <command>``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import InvalidToken

from bot.config import Config, load_config
from ledger.checklist import DEFAULT_PATH, load_checklist
from ledger.clock import SystemClock
from ledger.errors import ConfigError
from ledger.invitations import deep_link
from ledger.roles import Role
from storage import campus, people
from storage.db import Database

DESCRIPTION = """\
xiaoan: school fire and earthquake safety inspections, run from phones.

Commands:
  init        create the database, or bring it up to date (safe to repeat)
  invite      print a one-time invitation code and its deep link
  checklist   print the checklist in force
  run         run the bot: on Telegram with a token (bot.token or $XIAOAN_TELEGRAM_TOKEN),
              otherwise on the built-in local chat (http://127.0.0.1:8080); --demo adds a
              demo school and prints an invitation link for each role
  local       serve the local chat alone (the bot runs apart, with the same token)
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xiaoan", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="settings file (TOML); see config.example.toml. Default: none",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init", help="create or migrate the database")
    inv = sub.add_parser("invite", help="print a one-time invitation code and its deep link")
    inv.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="the role it gives; principal, leader and staff need --school",
    )
    inv.add_argument("--school", type=int, metavar="ID", help="the school's id")
    inv.add_argument("--days", type=int, default=7, help="valid for this many days (7)")
    inv.add_argument("--uses", type=int, default=1, help="how many people may use it (1)")
    chk = sub.add_parser("checklist", help="print the checklist in force")
    chk.add_argument("--lang", choices=["zh", "en"], default="zh", help="language (zh)")
    run = sub.add_parser("run", help="run the bot (Telegram, or the local chat without a token)")
    run.add_argument(
        "--demo", action="store_true", help="create a demo school and print invitation links"
    )
    sub.add_parser("local", help="serve the local chat alone")
    return p


async def _open(config: Config) -> Database:
    from bot.app import open_services

    # open_services opens the database before it reads the checklist, and leaves it
    # open (and the process hanging) when the checklist is wrong: check it first.
    load_checklist(config.checklist or DEFAULT_PATH)
    try:
        services = await open_services(config, SystemClock(config.timezone))
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"storage.database {config.database}: {exc}") from None
    return services.db


async def cmd_init(config: Config) -> str:
    db = await _open(config)
    await db.close()
    return f"database ready: {config.database}"


async def cmd_invite(config: Config, args: argparse.Namespace) -> str:
    role = Role(args.role)
    city_role = role in (Role.TASKFORCE, Role.SUPERVISOR)
    if city_role == (args.school is not None):
        raise ConfigError(
            "invite: --school is needed for principal, leader and staff, and only for them"
        )
    if args.days < 1 or args.uses < 1:
        raise ConfigError("invite: --days and --uses must be at least 1")
    db = await _open(config)
    try:
        if args.school is not None and await campus.school(db, args.school) is None:
            raise ConfigError(f"invite: no school with id {args.school}")
        async with db.write() as tx:
            code = await people.create_invitation(
                tx,
                role=role,
                school_id=args.school,
                created_by=None,
                days=args.days,
                max_uses=args.uses,
            )
    finally:
        await db.close()
    return f"code: {code}\nlink: {deep_link(config.username or None, code)}"


def cmd_checklist(config: Config, lang: str) -> str:
    checklist = load_checklist(config.checklist or DEFAULT_PATH)
    lines = [f"{checklist.name} (version {checklist.digest})"]
    for item in checklist.items:
        scope = ",".join(item.uses) or "all"
        if item.built_before:
            scope += f" <{item.built_before}"
        lines.append(f"{item.code}  [{item.category}; {scope}]  {item.text(lang)}")
    return "\n".join(lines)


def cmd_run(config: Config, demo: bool = False) -> None:
    from bot.app import build_application
    from bot.local import LocalChatThread, demo_links, local_page_of

    load_checklist(config.checklist or DEFAULT_PATH)  # a wrong file: one line, before starting
    local = None
    if not config.token:  # no Telegram: the built-in local chat plays it
        local = LocalChatThread(config).start()
        config = local.bot_config
        redact(config.token)
        print(f"local chat: {local.server.people_url}  (no token: Telegram is not used)")
    try:
        if demo:
            codes = asyncio.run(_demo(config))
            page = local.server.people_url if local else local_page_of(config)
            print(demo_links(codes, page, config.username), flush=True)
        app = build_application(config, SystemClock(config.timezone))
        app.run_polling(allowed_updates=["message", "callback_query"])
    except InvalidToken:
        # PTB's own message repeats the token: say it in one line without it.
        raise ConfigError(f"run: the Bot API at {config.api_base_url} refused the token") from None
    finally:
        if local is not None:
            local.stop()


async def _demo(config: Config) -> list[tuple[Role, str]]:
    from bot.demo import create_demo

    db = await _open(config)
    try:
        return await create_demo(db)
    finally:
        await db.close()


class _Redact(logging.Filter):
    """Keeps the bot token out of every log line (httpx logs request URLs)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg, record.args = message.replace(self.secret, "<token>"), None
            # A traceback prints the exception's message (an httpx error names the URL,
            # token included): format it here, redacted, so the handler uses this text.
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text and self.secret in record.exc_text:
                record.exc_text = record.exc_text.replace(self.secret, "<token>")
            if record.stack_info and self.secret in record.stack_info:
                record.stack_info = record.stack_info.replace(self.secret, "<token>")
        return True


def redact(secret: str) -> None:
    """Keep another secret (the local chat's token) out of the log lines too."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_Redact(secret))


def setup_logging(config: Config) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_Redact(config.token))
    logging.basicConfig(
        level=logging.INFO,
        handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
        setup_logging(config)
        if args.command == "init":
            print(asyncio.run(cmd_init(config)))
        elif args.command == "invite":
            print(asyncio.run(cmd_invite(config, args)))
        elif args.command == "checklist":
            print(cmd_checklist(config, args.lang))
        elif args.command == "run":
            cmd_run(config, args.demo)
        elif args.command == "local":
            from bot.local import cmd_local

            cmd_local(config)
    except ConfigError as error:
        print(f"xiaoan: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
