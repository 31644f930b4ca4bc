"""The files people ask for, built from the database: used by the chat and the command line.

Each returns a file name and the bytes. The workbooks are built by the
worker processes (``storage.workers``): spreadsheets are CPU work that would
otherwise take the interpreter from the bot's event loop. The ledger also
reads there, streaming, from a read-only connection of its own, and reports
its progress. A file is written under a temporary name and renamed when
whole, so a worker that dies leaves nothing half-written under the file's
name. Nothing here writes to the database.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import date
from pathlib import Path

from ledger.chain import school_chain
from ledger.errors import NotAllowed
from reports import city, form, imports, qr
from reports import supervision as supervision_report
from reports.ledger import write_ledger, write_prepared
from reports.ledger_feed import PARALLEL_FROM, core_to_spare, prepared_in_helper
from storage import chain, supervision
from storage.db import Database, Query, Reader
from storage.photos import PhotoStore
from storage.reporting import (
    campaign,
    city_data,
    ledger_buildings,
    ledger_count,
    ledger_rows,
    read_only,
    school_data,
    school_data_queries,
)
from storage.workers import Progress, Workers

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIME = "application/pdf"


def _safe_name(text: str) -> str:
    """A school's name fit for a file name."""
    return "".join(ch for ch in text if ch not in '\\/:*?"<>|\x00').strip() or "school"


async def form_file(
    db: Database,
    workers: Workers,
    campaign_id: int,
    school_id: int,
    today: date,
    reads: Reader | None = None,
) -> tuple[str, bytes]:
    """A school's summary form. ``reads``: where its rows are read (a tap's reads made
    ahead, ``storage.ahead``: ``form_queries``), the database otherwise."""
    source = reads if reads is not None else db
    school = await school_data(source, campaign_id, school_id)
    if school is None:
        raise NotAllowed()
    sealed = (await chain.school_seal(source, school_id, db.clock.now())).text()
    data = await workers.run(form.form_bytes, school, today, sealed)
    return f"汇总表-{_safe_name(school.name)}-{today.isoformat()}.xlsx", data


def form_queries(campaign_id: int, school_id: int) -> list[Query]:
    """What ``form_file`` reads, to read ahead with a tap."""
    return [
        *school_data_queries(campaign_id, school_id),
        chain.head_query(school_chain(school_id)),
    ]


async def city_file(
    db: Database, workers: Workers, campaign_id: int, today: date
) -> tuple[str, bytes]:
    row = await campaign(db, campaign_id)
    phases = city.Phases(
        date.fromisoformat(row["self_inspection_due"]) if row["self_inspection_due"] else None,
        date.fromisoformat(row["rectification_due"]) if row["rectification_due"] else None,
    )
    schools = await city_data(db, campaign_id)
    supervised = await supervision.school_summaries(db, campaign_id)
    findings = await supervision.finding_rows(db, campaign_id)
    sealed = (await chain.seal(db, None)).text()
    data = await workers.run(city.city_bytes, schools, today, phases, supervised, findings, sealed)
    return f"全市进度-{today.isoformat()}.xlsx", data


async def visits_file(db: Database, campaign_id: int, today: date) -> tuple[str, bytes]:
    """The supervision visits with their findings (``xiaoan export visits``)."""
    visits = await supervision.visit_export_rows(db, campaign_id)
    findings = await supervision.finding_rows(db, campaign_id)
    contradictions = await supervision.contradiction_rows(db, campaign_id)
    sealed = (await chain.seal(db, None)).text()
    data = await asyncio.to_thread(
        supervision_report.visits_bytes,
        visits,
        findings,
        today.isoformat(),
        contradictions,
        sealed,
    )
    return f"督查记录-{today.isoformat()}.xlsx", data


def write_ledger_file(
    db_path: Path,
    photos: PhotoStore,
    campaign_id: int,
    school_id: int | None,
    target: Path,
    seal: str | None = None,
    helper: bool = False,
    progress: Progress = lambda done, total: None,
) -> int:
    """Stream the ledger from a read-only connection of its own into the file ``target``.

    Written to ``<target>.part`` and renamed when whole. ``progress(done, total)``
    counts hazards. With ``helper``, a large ledger is read and prepared in a second
    process while this one writes, when a processor is free (``reports.ledger_feed``).
    """
    part = target.with_name(target.name + ".part")
    conn = read_only(db_path)
    try:
        total = ledger_count(conn, campaign_id, school_id)
        buildings = ledger_buildings(conn, campaign_id, school_id)
        if helper and total >= PARALLEL_FROM and core_to_spare():
            count = write_prepared(
                part,
                prepared_in_helper(db_path, photos, campaign_id, school_id),
                buildings,
                lambda done: progress(done, total),
                seal=seal,
            )
        else:
            count = write_ledger(
                part,
                ledger_rows(conn, campaign_id, school_id),
                buildings,
                photos.path_of,
                lambda done: progress(done, total),
                seal=seal,
            )
        os.replace(part, target)
        return count
    finally:
        conn.close()
        part.unlink(missing_ok=True)


def ledger_name(school_name: str | None, today: date) -> str:
    """The ledger's file name: a school's, or the city's (``school_name`` None)."""
    if school_name is None:
        return f"全市台账-{today.isoformat()}.xlsx"
    return f"台账-{_safe_name(school_name)}-{today.isoformat()}.xlsx"


async def ledger_file(
    db: Database,
    workers: Workers,
    photos: PhotoStore,
    campaign_id: int,
    school_id: int | None,
    today: date,
    on_progress: Progress | None = None,
) -> tuple[str, bytes]:
    """The ledger of a school or of the city (``school_id`` None), written by a worker."""
    school_name = None
    if school_id is not None:
        school = await db.one("SELECT name FROM schools WHERE id = ?", (school_id,))
        if school is None:
            raise NotAllowed()
        school_name = school["name"]
    sealed = (await chain.seal(db, school_id)).text()
    with tempfile.TemporaryDirectory(prefix="xiaoan-export-") as folder:
        target = Path(folder) / "ledger.xlsx"
        await workers.run(
            write_ledger_file,
            db.path,
            photos,
            campaign_id,
            school_id,
            target,
            sealed,
            workers.processes >= 2,  # a second process reads while the first writes
            on_progress=on_progress,
        )
        data = await asyncio.to_thread(target.read_bytes)
    return ledger_name(school_name, today), data


async def qr_file(db: Database, workers: Workers, school_id: int, base: str) -> tuple[str, bytes]:
    """The school's QR sheet; ``base`` from ``qr.link_base``."""
    school = await db.one("SELECT name FROM schools WHERE id = ?", (school_id,))
    if school is None:
        raise NotAllowed()
    # The summary form's order (storage.reporting), so sheet and form list buildings alike.
    rows = await db.all(
        "SELECT id, name FROM buildings WHERE school_id = ? ORDER BY id", (school_id,)
    )
    labels = [qr.Label(r["id"], r["name"], school["name"]) for r in rows]
    data = await workers.run(qr.sheet_pdf, labels, base)
    return f"二维码-{_safe_name(school['name'])}.pdf", data


def template_file(kind: imports.Kind) -> tuple[str, bytes]:
    name = "学校导入模板.xlsx" if kind is imports.Kind.SCHOOLS else "建筑物导入模板.xlsx"
    return name, imports.template(kind)
