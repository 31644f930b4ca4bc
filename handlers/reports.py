"""Reports in chat: ``/export`` sends files, ``/progress`` shows figures, spreadsheets import.

Taps are ``Export(what, school)`` buttons (school ``0`` for city files). Who may have what:
a school's principal or leader its own school's files; the task force any
school's and the city's. Nothing here changes the ledger except an import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from telegram import Document
from telegram.constants import ParseMode

from cases import imports as importing
from handlers import exports
from handlers.base import Button, Ctx, Services, reading
from handlers.buttons import Tap, button
from handlers.download import download
from handlers.pages import page_line, page_of
from ledger.errors import NotAllowed
from ledger.ids import parse_id
from ledger.imports import Problem
from ledger.invitations import deep_link
from ledger.papers import CITY_PAPERS, may_export, paper_of
from ledger.roles import CITY_ROLES, managed_schools, require
from ledger.supervision import FindingKind, VisitState
from ledger.text import shown
from ledger.totals import SchoolProgress, add_up, phase_missed, school_progress
from ledger.walk import progress_bar
from reports import files, imports, qr
from storage import campus, supervision
from storage.db import Query
from storage.reporting import (
    SchoolData,
    city_data,
    hazard_count,
    phase_dues,
    school_data,
)
from storage.workers import Progress
from telegram_rules import MAX_TEXT
from telegram_rules.fit import clip, html_units, pages, room_for
from texts import Html, t

MAX_IMPORT_BYTES = 2 * 1024 * 1024
PROBLEMS_SHOWN = 20


def _bot_username(ctx: Ctx) -> str | None:
    return ctx.services.bot_username or ctx.context.bot.username


async def _send(ctx: Ctx, name: str, data: bytes, caption: str) -> None:
    """A file with its caption (our HTML: a name in it is escaped, so it is sent as HTML;
    a caption holds a template and a name or two, far below Telegram's 1024)."""
    await ctx.context.bot.send_document(
        ctx.chat_id, document=data, filename=name, caption=caption, parse_mode=ParseMode.HTML
    )


def _school_buttons(ctx: Ctx, school_id: int) -> list[list[Button]]:
    return [
        [
            Export("f", school_id).labelled(ctx.t("reports.button.form")),
            Export("l", school_id).labelled(ctx.t("reports.button.ledger")),
        ],
        [
            Export("q", school_id).labelled(ctx.t("reports.button.qr")),
            Export("b", school_id).labelled(ctx.t("reports.button.buildings_template")),
        ],
    ]


async def _send_form(ctx: Ctx, school_id: int) -> None:
    name, data = await files.form_file(
        ctx.db, ctx.services.workers, ctx.services.campaign_id, school_id, ctx.today(), ctx.reads
    )
    school = await school_data(ctx.reads, ctx.services.campaign_id, school_id)
    assert school is not None
    caption = ctx.t("reports.form_caption", school=school.name, date=ctx.today())
    left = sum(b.walk != "closed" for b in school.buildings)
    if left:  # said with the file too: the form may be sent on without being opened
        caption += "\n" + ctx.t("papers.form_not_inspected", count=left)
    await _send(ctx, name, data, caption)


@reading
async def export_command(ctx: Ctx) -> None:
    """``/export``: a manager gets the school's form and a menu; the task force a menu."""
    person = ctx.member()
    args = ctx.context.args or []
    if person.is_taskforce:
        if args:
            school_id = parse_id(args[0])
            if school_id is None:
                await ctx.reply("visible.bad_school_id", value=clip(shown(args[0], 64), 24))
                return
            if await campus.school_by_id(ctx.db, school_id) is None:
                await ctx.reply("reports.no_school", id=school_id)
                return
            await _send_form(ctx, school_id)
            await _school_menu(ctx, school_id)
            return
        await _city_menu(ctx)
        return
    managed = managed_schools(person)
    if not managed:
        raise NotAllowed()
    for school_id in managed:
        await _send_form(ctx, school_id)
        await _school_menu(ctx, school_id)


async def _school_menu(ctx: Ctx, school_id: int) -> None:
    school = await campus.school_by_id(ctx.reads, school_id)
    assert school is not None
    await ctx.reply("reports.school_menu", _school_buttons(ctx, school_id), school=school.name)


async def _city_menu(ctx: Ctx, number: int = 1, edit: bool = False) -> None:
    """The city's files, and a page of the schools, each opening its own menu."""
    schools = await campus.schools_by_name(ctx.reads)
    buttons: list[list[Button]] = [
        [
            Export("c", 0).labelled(ctx.t("reports.button.city")),
            Export("L", 0).labelled(ctx.t("reports.button.city_ledger")),
        ],
        [Export("s", 0).labelled(ctx.t("reports.button.schools_template"))],
    ]
    page = page_of(
        ctx,
        [Export("p", s.id).labelled(s.name) for s in schools],
        number,
        SchoolsPage,
        above=sum(map(len, buttons)),
    )
    text = "\n".join(filter(None, [ctx.t("reports.pick_school"), page_line(ctx, page)]))
    if edit:
        await ctx.edit(text, buttons + page.rows)
    else:
        await ctx.say(text, buttons + page.rows)


@button("schools_page")
@dataclass(frozen=True)
class SchoolsPage(Tap):
    """Another page of the city's schools in the ``/export`` menu, in place."""

    reads_only = in_place = True
    page: int

    def first_reads(self) -> list[Query]:
        return [campus.schools_by_name_query()]

    async def tap(self, ctx: Ctx) -> None:
        require(ctx.member().is_taskforce)  # whose menu it is
        await _city_menu(ctx, self.page, edit=True)


@button("export", legacy="e")
@dataclass(frozen=True)
class Export(Tap):
    """One file, or a school's menu. ``what``: ``f`` the form, ``l`` the school's ledger,
    ``q`` the QR sheet, ``b`` the buildings template, ``p`` the school's menu; city-wide
    (school 0): ``c`` the report, ``L`` the ledger, ``s`` the schools template."""

    reads_only = True
    what: str
    school_id: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        """The school, and what its form and the form's caption read."""
        if self.school_id == 0:
            return []
        school = [campus.school_query(self.school_id)]
        if self.what == "f":
            return [*school, *files.form_queries(services.campaign_id, self.school_id)]
        return school

    async def tap(self, ctx: Ctx) -> None:
        await on_export_tap(ctx, self.what, self.school_id)


async def on_export_tap(ctx: Ctx, what: str, school_id: int) -> None:
    person = ctx.member()
    paper = paper_of(what)
    if paper is None:
        raise NotAllowed()
    require(may_export(person, paper, school_id))
    if paper not in CITY_PAPERS and await campus.school_by_id(ctx.reads, school_id) is None:
        raise NotAllowed()
    query = ctx.update.callback_query
    if query is not None:
        await ctx.answer_tap()  # the menu keeps its buttons: one may want several files
    today = ctx.today()
    if what == "p":
        await _school_menu(ctx, school_id)
    elif what == "f":
        await _send_form(ctx, school_id)
    elif what in ("l", "L"):
        await _send_ledger(ctx, None if what == "L" else school_id)
    elif what == "c":
        name, data = await files.city_file(
            ctx.db, ctx.services.workers, ctx.services.campaign_id, today
        )
        await _send(ctx, name, data, ctx.t("reports.city_caption", date=today))
    elif what == "q":
        await _send_qr(ctx, school_id)
    else:
        kind = imports.Kind.SCHOOLS if what == "s" else imports.Kind.BUILDINGS
        name, data = files.template_file(kind)
        await _send(ctx, name, data, ctx.t("reports.template_caption"))


async def _send_ledger(ctx: Ctx, school_id: int | None) -> None:
    """A school's or the city's ledger, with its progress shown while it is written."""
    today = ctx.today()
    school = "" if school_id is None else await _school_name(ctx, school_id)
    count = await hazard_count(ctx.db, ctx.services.campaign_id, school_id)

    def title(lang: str) -> str:
        if school_id is None:
            return t(lang, "exports.city_ledger")
        return t(lang, "exports.school_ledger", school=school)

    def caption(lang: str) -> str:
        where = t(lang, "reports.city") if school_id is None else school
        return t(lang, "reports.ledger_caption", where=where, count=count, date=today)

    services = ctx.services

    def make(progress: Progress) -> Awaitable[tuple[str, bytes]]:
        return files.ledger_file(
            services.db,
            services.workers,
            services.photos,
            services.campaign_id,
            school_id,
            today,
            on_progress=progress,
        )

    key = f"ledger:{school_id or 'city'}:{today}"
    await exports.deliver(ctx, key, title(ctx.lang), make, caption)


async def _school_name(ctx: Ctx, school_id: int) -> str:
    school = await campus.school_by_id(ctx.db, school_id)
    return school.name if school else ""


async def _send_qr(ctx: Ctx, school_id: int) -> None:
    school = await _school_name(ctx, school_id)
    base = qr.link_base(_bot_username(ctx), ctx.services.local_page)
    if base is None:
        await ctx.reply("reports.qr_no_username")
        return
    if not await campus.buildings_of(ctx.db, [school_id]):
        await ctx.reply("reports.qr_no_buildings", school=school)
        return
    name, data = await files.qr_file(ctx.db, ctx.services.workers, school_id, base)
    caption = ctx.t("reports.qr_caption", school=school)
    if qr.only_this_machine(base):
        caption += "\n" + ctx.t("papers.qr_loopback", page=base)
    await _send(ctx, name, data, caption)


# --- /progress -----------------------------------------------------------------------


def progress_text(ctx: Ctx, key: str, p: SchoolProgress, **extra: object) -> str:
    settled = p.closed + p.unfixable
    return ctx.t(
        key,
        bar=progress_bar(p.inspected, p.buildings),
        fix_bar=progress_bar(settled, p.hazards),
        inspected=p.inspected,
        buildings=p.buildings,
        in_progress=p.in_progress,
        hazards=p.hazards,
        closed=p.closed,
        unfixable=p.unfixable,
        overdue=p.overdue,
        settled=settled,
        out_of_use=p.out_of_use,
        percent=p.percent_done,
        **extra,
    )


@reading
async def progress_command(ctx: Ctx) -> None:
    """``/progress``: the city's figures for city roles, else each of one's schools'."""
    person = ctx.member()
    today = ctx.today()
    if any(m.role in CITY_ROLES for m in person.memberships):
        schools = await city_data(ctx.db, ctx.services.campaign_id)
        due = await phase_dues(ctx.db, ctx.services.campaign_id)
        all_progress = [school_progress(s.facts(), today) for s in schools]
        city = add_up(all_progress)
        await ctx.say(
            progress_text(
                ctx,
                "progress.city",
                city,
                schools=len(schools),
                not_started=sum(not p.started for p in all_progress),
                late=sum(phase_missed(p, today, *due) for p in all_progress if p.started),
            )
            + await supervision_line(ctx)
        )
        return
    lines = []
    for school_id in person.school_ids:
        school: SchoolData | None = await school_data(ctx.db, ctx.services.campaign_id, school_id)
        if school is not None:
            p = school_progress(school.facts(), today)
            lines.append(progress_text(ctx, "progress.school", p, school=school.name))
    if not lines:
        raise NotAllowed()
    await ctx.say("\n\n".join(lines))


async def supervision_line(ctx: Ctx) -> str:
    """The city's supervision so far, under its figures (city roles only)."""
    summaries = (await supervision.school_summaries(ctx.db, ctx.services.campaign_id)).values()
    if not summaries:
        return ""
    states = [s.visit_state for s in summaries]
    found = {k: sum(s.findings.get(k, 0) for s in summaries) for k in FindingKind}
    return "\n" + ctx.t(
        "progress.supervision",
        ended=states.count(VisitState.ENDED),
        started=states.count(VisitState.STARTED),
        planned=states.count(VisitState.PLANNED),
        **{k.value: n for k, n in found.items()},
    )


# --- imports by spreadsheet --------------------------------------------------------------


def is_spreadsheet(document: Document | None) -> bool:
    if document is None:
        return False
    name = (document.file_name or "").lower()
    return name.endswith(".xlsx") or document.mime_type == files.XLSX_MIME


def _problems_text(ctx: Ctx, problems: Sequence[Problem]) -> str:
    lines = [
        ctx.t(
            "imports.problem_line",
            row=p.row,
            column=p.column,
            reason=ctx.t(f"imports.reason.{p.code}"),
        )
        for p in problems[:PROBLEMS_SHOWN]
    ]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(ctx.t("imports.more", count=len(problems) - PROBLEMS_SHOWN))
    return ctx.t("imports.problems", count=len(problems), lines=Html("\n".join(lines)))


async def on_spreadsheet(ctx: Ctx, document: Document) -> None:
    """An .xlsx sent to the bot: a roster of schools (task force) or of buildings (managers).

    Who may import is asked before the file is even downloaded; the import itself is
    ``cases.imports.import_sheet``, as for ``xiaoan import``, its reading done off the
    event loop (a worker process; a thread with workers.processes = 0).
    """
    person = ctx.member()
    importing.check_may_import(person)
    data = await download(document, MAX_IMPORT_BYTES)
    if data is None:
        await ctx.reply("imports.too_large", limit_mb=MAX_IMPORT_BYTES // (1024 * 1024))
        return
    workers = ctx.services.workers
    done = await importing.import_sheet(
        ctx.write, person, data, this_year=ctx.today().year, parse=workers.run
    )
    if isinstance(done, importing.Refused):
        await ctx.say(_problems_text(ctx, done.problems))
    elif isinstance(done, importing.SchoolsImported):
        await _schools_imported(ctx, done.schools)
    else:
        await _buildings_imported(ctx, done)


async def _schools_imported(ctx: Ctx, made: Sequence[importing.ImportedSchool]) -> None:
    """The schools of the roster, and each principal's invitation link."""
    if not made:
        await ctx.reply("imports.nothing_new")
        return
    username = _bot_username(ctx)
    lines = [
        ctx.t(
            "imports.school_line",
            school=m.name,
            principal=m.principal,
            phone=m.phone,
            link=deep_link(username, m.code),
        )
        for m in made
    ]
    await _say_in_parts(ctx, ctx.t("imports.schools_done", count=len(made), lines=""), lines)


async def _buildings_imported(ctx: Ctx, done: importing.BuildingsImported) -> None:
    """The buildings of the roster, stored in the school this person runs."""
    if not done.names:
        await ctx.reply("imports.nothing_new")
        return
    school = await _school_name(ctx, done.school_id)
    count = len(done.names)
    room = room_for(ctx.t("imports.buildings_done", school=school, count=count, names=""))
    await ctx.reply(
        "imports.buildings_done",
        school=school,
        count=count,
        names=clip("、".join(done.names), room),
    )


async def _say_in_parts(ctx: Ctx, head: str, lines: list[str]) -> None:
    """A list that must reach the reader whole (one invitation per school): the head and
    as many lines as one message holds, then the rest in numbered messages that follow."""
    part_head = ctx.t("visible.imports_part", part=len(lines), parts=len(lines)) + "\n"
    room = MAX_TEXT - max(html_units(head), html_units(part_head))
    parts = pages(lines, room, len(lines) or 1)
    for number_, part in enumerate(parts, start=1):
        top = (
            head
            if number_ == 1
            else ctx.t("visible.imports_part", part=number_, parts=len(parts)) + "\n"
        )
        await ctx.say(top + "\n".join(lines[i] for i in part))
