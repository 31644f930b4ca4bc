"""The command line: ``xiaoan [--config PATH] <command>``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

# Only what parsing the command line needs is imported here: `xiaoan --help`
# (and a mistyped command) must not wait for Telegram, spreadsheet or image
# code to load. Each command imports what it uses (tests/test_cli_imports.py).
from bot.config import Config, load_config
from bot.draw import add_draw_command, cmd_draw
from ledger.checklist import DEFAULT_PATH, load_checklist
from ledger.clock import SystemClock
from ledger.errors import ConfigError
from ledger.invitations import deep_link
from ledger.roles import Role

if TYPE_CHECKING:
    from handlers.base import Services
    from ledger.imports import Problem
    from storage.db import Database, Tx

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
  export      write the summary form, the ledger or the city report (.xlsx)
  import      import schools or buildings from a spreadsheet; write the templates
  qr          write a school's printable sheet of building QR codes (PDF)
  outbox      list the messages the bot sends on its own, with attempts and errors
  draw        draw schools and supervisors for unannounced visits (双随机); --verify ID
              re-runs a stored draw from its seed and candidates
  errors      list the updates whose handling failed (also after they were applied)
  campaign    start a new campaign (campaign new --name N ...) reusing schools,
              buildings and people; it is in force from the next start of the bot
  verify      walk every chain of the event log and the photo store; report the first
              break of each, or "intact" with the head hashes (--since HASH: prove that
              nothing before a recorded head changed)
"""

OUTBOX_STATES = ("pending", "sent", "failed", "blocked", "dropped")


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
    add_report_commands(sub)
    add_draw_command(sub)
    out = sub.add_parser("outbox", help="list outgoing messages, newest first")
    out.add_argument("--state", choices=OUTBOX_STATES, help="only messages in this state")
    out.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    err = sub.add_parser("errors", help="list failed updates, newest first")
    err.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    camp = sub.add_parser("campaign", help="campaigns")
    camp_sub = camp.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = camp_sub.add_parser("new", help="start a new campaign, in force from now on")
    new.add_argument("--name", required=True, help="the campaign's name (unique)")
    for phase in ("self-inspection", "rectification", "supervision"):
        new.add_argument(f"--{phase}-due", metavar="YYYY-MM-DD", help=f"{phase} due date")
    ver = sub.add_parser("verify", help="check the hash-chained event log and the photo store")
    ver.add_argument(
        "--since",
        metavar="HASH",
        help="a head printed on an export or recorded by the daily job: prove nothing"
        " before it changed",
    )
    return p


def add_report_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``export``, ``import`` and ``qr`` (the reports issue)."""
    exp = sub.add_parser("export", help="write the summary form, the ledger or the city report")
    what = exp.add_subparsers(dest="what", required=True, metavar="WHAT")
    form = what.add_parser("form", help="one school's summary form (汇总表)")
    form.add_argument("--school", type=int, required=True, metavar="ID", help="the school's id")
    ledger = what.add_parser("ledger", help="the ledger (台账) of one school, or the city")
    ledger.add_argument("--school", type=int, metavar="ID", help="one school (default: city)")
    what.add_parser("city", help="the city report for the task force")
    what.add_parser("visits", help="the supervision visits with their findings")
    for command in (form, ledger, what.choices["city"], what.choices["visits"]):
        command.add_argument("--out", type=Path, metavar="FILE", help="where to write it")
    imp = sub.add_parser("import", help="import schools or buildings from an .xlsx file")
    kind = imp.add_subparsers(dest="what", required=True, metavar="WHAT")
    schools = kind.add_parser("schools", help="a roster of schools; prints principals' invitations")
    schools.add_argument("file", type=Path, metavar="FILE.xlsx")
    buildings = kind.add_parser("buildings", help="a school's buildings")
    buildings.add_argument("--school", type=int, required=True, metavar="ID", help="the school")
    buildings.add_argument("file", type=Path, metavar="FILE.xlsx")
    template = kind.add_parser("template", help="write the two import templates")
    template.add_argument("--out", type=Path, default=Path(), metavar="DIR", help="folder (.)")
    qr = sub.add_parser("qr", help="a school's sheet of building QR codes (PDF)")
    qr.add_argument("--school", type=int, required=True, metavar="ID", help="the school's id")
    qr.add_argument("--out", type=Path, metavar="FILE", help="where to write it")


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
    from cases import invitations
    from storage import campus

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
            code = await invitations.invite(tx, None, role, args.school, args.days, args.uses)
    finally:
        await db.close()
    lines = [f"code: {code}", f"link: {deep_link(config.username or None, code)}"]
    if not config.token:  # `xiaoan run` will use the local chat: its page opens the code
        from bot.local import page_url

        lines.append(f"local chat: {page_url(config)}/?start={code}")
    return "\n".join(lines)


async def cmd_outbox(config: Config, state: str | None, limit: int) -> str:
    from storage import outbox

    if limit < 1:
        raise ConfigError("outbox: --limit must be at least 1")
    db = await _open(config)
    try:
        rows = await outbox.messages(db, state, limit)
    finally:
        await db.close()
    if not rows:
        return "no messages" + (f" in state {state}" if state else "")
    lines = ["id  state    attempts  not before                 to  kind  key  last error  note"]
    for r in rows:
        lines.append(
            f"{r['id']}  {r['state']:<7}  {r['attempts']:>8}  {r['not_before']}  "
            f"{r['name']}  {r['kind']}  {r['key']}  {r['last_error'] or ''}  {_crash_note(r)}"
        )
    return "\n".join(lines)


def _crash_note(row: sqlite3.Row) -> str:
    """What a crash did to a message: possibly sent twice, or being sent right now."""
    if row["possibly_twice"]:
        return "possibly sent twice"
    if row["in_flight_at"] is not None:
        return f"in flight since {row['in_flight_at']}"
    if row["interrupted"] and row["state"] == "sent":
        return "sent again after a stop; delivered once (idempotency key)"
    if row["interrupted"]:
        return f"the bot stopped {row['interrupted']}x while sending it"
    return ""


async def cmd_errors(config: Config, limit: int) -> str:
    """The updates whose handler failed, newest first: after its commit or before."""
    from storage import inbox

    if limit < 1:
        raise ConfigError("errors: --limit must be at least 1")
    db = await _open(config)
    try:
        rows = await inbox.errors(db, limit)
    finally:
        await db.close()
    if not rows:
        return "no errors"
    lines = ["update  at                         from  kind  applied  error"]
    for r in rows:
        applied = "yes" if r["after_commit"] else "no"
        lines.append(
            f"{r['update_id']}  {r['at']}  {r['tg_user_id'] or '-'}  {r['kind']}  {applied}"
            f"  {r['error']}"
        )
    return "\n".join(lines)


def _due(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"campaign new: {name} must be a date YYYY-MM-DD, not {value!r}"
        ) from None


async def cmd_campaign_new(config: Config, args: argparse.Namespace) -> str:
    from storage import schedule

    name = args.name.strip()
    if not name:
        raise ConfigError("campaign new: --name must not be empty")
    dates = (
        _due("--self-inspection-due", args.self_inspection_due),
        _due("--rectification-due", args.rectification_due),
        _due("--supervision-due", args.supervision_due),
    )
    db = await _open(config)
    try:
        async with db.write() as tx:
            campaign_id = await schedule.start_campaign(tx, name, *dates)
    except ValueError as exc:
        raise ConfigError(f"campaign new: {exc}") from None
    finally:
        await db.close()
    return (
        f"campaign {campaign_id} started and in force: {name}\n"
        "restart the bot (xiaoan run) for it to take effect"
    )


def cmd_checklist(config: Config, lang: str) -> str:
    checklist = load_checklist(config.checklist or DEFAULT_PATH)
    lines = [f"{checklist.name} (version {checklist.digest})"]
    for item in checklist.items:
        scope = ",".join(item.uses) or "all"
        if item.built_before:
            scope += f" <{item.built_before}"
        lines.append(f"{item.code}  [{item.category}; {scope}]  {item.text(lang)}")
    return "\n".join(lines)


async def _services(config: Config) -> Services:
    from bot.app import open_services

    load_checklist(config.checklist or DEFAULT_PATH)
    try:
        return await open_services(config, SystemClock(config.timezone))
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"storage.database {config.database}: {exc}") from None


async def _school_or_fail(services: Services, school_id: int) -> None:
    from storage import campus

    if await campus.school(services.db, school_id) is None:
        raise ConfigError(f"no school with id {school_id}")


async def cmd_export(config: Config, args: argparse.Namespace) -> tuple[str, bytes]:
    """One report: its file name and bytes (the ledger with a progress bar on a terminal)."""
    from reports import files
    from storage.workers import Workers

    services = await _services(config)
    # The command line is a process of its own: the work is done here, in a thread.
    workers = Workers(0)
    today = services.clock.now().date()
    try:
        if getattr(args, "school", None) is not None:
            await _school_or_fail(services, args.school)
        if args.what == "form":
            name, data = await files.form_file(
                services.db, workers, services.campaign_id, args.school, today
            )
        elif args.what == "city":
            name, data = await files.city_file(services.db, workers, services.campaign_id, today)
        elif args.what == "visits":
            name, data = await files.visits_file(services.db, services.campaign_id, today)
        else:
            with progress_bar("ledger") as on_progress:
                name, data = await files.ledger_file(
                    services.db, workers, services.photos, services.campaign_id,
                    args.school, today, on_progress=on_progress,
                )  # fmt: skip
    finally:
        await services.db.close()
    return name, data


def cmd_verify(config: Config, since: str | None) -> tuple[int, str]:
    """``xiaoan verify``: read-only; 0 when everything holds, 1 at any break."""
    from storage.chain import format_report, verify

    if not config.database.exists():
        raise ConfigError(f"storage.database {config.database}: no such file")
    try:
        report = verify(config.database, config.photos, since.strip().lower() if since else None)
    except sqlite3.Error as exc:
        raise ConfigError(
            f"storage.database {config.database}: {exc} (run xiaoan init to bring it up to date)"
        ) from None
    return (0 if report.intact else 1), format_report(report)


@contextmanager
def progress_bar(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on the terminal (stderr); nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    # Only when drawn: keeps `xiaoan --help` light.
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def write_out(args: argparse.Namespace, name: str, data: bytes) -> str:
    """Write a made file to ``--out`` or under its own name here; say where."""
    out: Path = args.out or Path(name)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    return f"written: {out}"


def _problem_lines(problems: Sequence[Problem]) -> str:
    from texts import t

    return "\n".join(
        t("en", "imports.problem_line", row=p.row, column=p.column,
          reason=t("en", f"imports.reason.{p.code}")).lstrip("• ")
        for p in problems
    )  # fmt: skip


def _refused(path: Path, problems: Sequence[Problem]) -> str:
    head = f"{path}: nothing imported; {len(problems)} problem(s):"
    return head + "\n" + _problem_lines(problems)


async def cmd_import(config: Config, args: argparse.Namespace) -> tuple[int, str]:
    """Import a file in one transaction, or nothing and the bad rows; (exit code, output)."""
    from cases import imports as importing
    from ledger.errors import XiaoanError
    from reports import files, imports
    from texts import t

    if args.what == "template":
        args.out.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in imports.Kind:
            name, data = files.template_file(kind)
            (args.out / name).write_bytes(data)
            written.append(f"written: {args.out / name}")
        return 0, "\n".join(written)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"import: cannot read {args.file}: {exc.strerror}") from None
    opened: list[Services] = []

    @asynccontextmanager
    async def write() -> AsyncIterator[Tx]:
        # The database is opened only for a sheet worth storing: a file refused
        # unread, or a bad row, leaves it untouched (not even created).
        if not opened:
            opened.append(await _services(config))
        async with opened[0].db.write() as tx:
            yield tx

    try:
        try:
            done = await importing.import_sheet(
                write,
                None,
                data,
                this_year=SystemClock(config.timezone).now().year,
                school_id=getattr(args, "school", None),
                expect=imports.Kind(args.what),
            )
        except XiaoanError as refused:
            reason = refused.params.get("reason")
            key = f"error.{refused.code}.{reason}" if reason else f"error.{refused.code}"
            raise ConfigError(f"import: {args.file}: {t('en', key, **refused.params)}") from None
        if isinstance(done, importing.Refused):
            return 1, _refused(args.file, done.problems)
        if isinstance(done, importing.SchoolsImported):
            lines = [
                f"school {m.school_id} {m.name}: principal {m.principal} {m.phone}: "
                f"{deep_link(config.username or None, m.code)}"
                for m in done.schools
            ]
            return 0, "\n".join([f"imported {len(done.schools)} new school(s)", *lines])
        listed = f": {', '.join(done.names)}" if done.names else ""
        return 0, f"imported {len(done.names)} new building(s){listed}"
    finally:
        for services in opened:
            await services.db.close()


async def cmd_qr(config: Config, args: argparse.Namespace) -> tuple[str, bytes, str]:
    """A school's QR sheet: its file name, its bytes and what its codes' links start with.

    Without a token the bot runs on the local chat, so the codes open its page;
    so they do when the bot is pointed at ``xiaoan local``.
    """
    from bot.local import local_page_of, page_url
    from reports import files, qr
    from storage.workers import Workers

    local = page_url(config) if not config.token else local_page_of(config)
    base = qr.link_base(config.username, local)
    if base is None:
        raise ConfigError("qr: bot.username is needed for the codes' links")
    services = await _services(config)
    try:
        await _school_or_fail(services, args.school)
        name, data = await files.qr_file(services.db, Workers(0), args.school, base)
    finally:
        await services.db.close()
    return name, data, base


def cmd_run(config: Config, demo: bool = False) -> None:
    from telegram.error import InvalidToken

    from bot.app import ALLOWED_UPDATES, build_application
    from bot.local import demo_links, local_page_of
    from bot.local_process import LocalChatProcess
    from bot.local_request import LocalChatRequest
    from bot.loop import new_loop

    load_checklist(config.checklist or DEFAULT_PATH)  # a wrong file: one line, before starting
    local = None
    if not config.token:  # no Telegram: the built-in local chat plays it, in its own process
        # Until polling has its own, a SIGTERM (the local chat's end, or anyone's) stops
        # the start-up quietly, the child included, instead of killing this process outright.
        signal.signal(signal.SIGTERM, _stop_starting)
        local = LocalChatProcess(config)
        redact(local.token)
        local.start()
        config = local.bot_config
        print(f"local chat: {local.people_url}  (no token: Telegram is not used)", flush=True)
    try:
        if demo:
            codes = asyncio.run(_demo(config))
            page = local.people_url if local else local_page_of(config)
            print(demo_links(codes, page, config.username), flush=True)
        app = build_application(
            config, SystemClock(config.timezone), request=LocalChatRequest() if local else None
        )
        asyncio.set_event_loop(new_loop())  # polling runs on the loop set here
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken:
        # PTB's own message repeats the token: say it in one line without it.
        raise ConfigError(f"run: the Bot API at {config.api_base_url} refused the token") from None
    except _Stopped:
        pass  # SIGTERM while starting: stopped as polling stops on it
    finally:
        if local is not None:
            local.stop()
    if local is not None and local.failure:
        raise ConfigError(local.failure)


class _Stopped(BaseException):
    """SIGTERM came before polling took the signal over."""


def _stop_starting(signum: int, frame: object) -> None:
    raise _Stopped


async def _demo(config: Config) -> list[tuple[Role, str]]:
    """The demo school. A SIGTERM meanwhile (the local chat's end, or anyone's) cancels
    it at an ``await``, so that the database is closed: ``_stop_starting`` raising at any
    line could leave its connections' threads open, and the process would never exit."""
    from bot.demo import create_demo

    loop = asyncio.get_running_loop()
    making = asyncio.current_task()
    assert making is not None
    loop.add_signal_handler(signal.SIGTERM, making.cancel)
    try:
        db = await _open(config)
        try:
            return await create_demo(db)
        finally:
            await db.close()
    except asyncio.CancelledError:
        raise _Stopped from None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)  # (which leaves SIGTERM's default)
        signal.signal(signal.SIGTERM, _stop_starting)


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
    # Every request and every job run (the outbox every few seconds) at INFO would
    # bury what matters: the bot's own lines, warnings and errors.
    for noisy in ("httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
        elif args.command == "export":
            print(write_out(args, *asyncio.run(cmd_export(config, args))))
        elif args.command == "qr":
            name, data, base = asyncio.run(cmd_qr(config, args))
            print(write_out(args, name, data))
            # Said aloud: a shell without the token makes local-chat codes, not Telegram's.
            print(f"each code opens {base}?start=w_<building id>")
            from reports.qr import only_this_machine

            if only_this_machine(base):
                print("note: only this machine can open that address; set local.public_url"
                      " to one that phones reach", file=sys.stderr)  # fmt: skip
        elif args.command == "import":
            code, output = asyncio.run(cmd_import(config, args))
            print(output, file=sys.stderr if code else sys.stdout)
            return code
        elif args.command == "outbox":
            print(asyncio.run(cmd_outbox(config, args.state, args.limit)))
        elif args.command == "draw":
            code, output = asyncio.run(cmd_draw(config, args))
            print(output, file=sys.stderr if code else sys.stdout)
            return code
        elif args.command == "errors":
            print(asyncio.run(cmd_errors(config, args.limit)))
        elif args.command == "campaign":
            print(asyncio.run(cmd_campaign_new(config, args)))
        elif args.command == "verify":
            code, output = cmd_verify(config, args.since)
            print(output)
            return code
        elif args.command == "local":
            from bot.local import cmd_local

            cmd_local(config)
    except ConfigError as error:
        print(f"xiaoan: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
