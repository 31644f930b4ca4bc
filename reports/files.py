"""The files people ask for, built from the database: used by the chat and the command line.

Each returns a file name and the bytes. The workbooks are built in a worker
thread (openpyxl is CPU-bound); the ledger also reads there, streaming.
Nothing here writes to the database.
"""

from __future__ import annotations

import asyncio
import io
from datetime import date
from pathlib import Path
from typing import IO

from ledger.errors import NotAllowed
from reports import city, form, imports, qr
from reports.ledger import write_ledger
from storage import chain
from storage.db import Database
from storage.photos import PhotoStore
from storage.reporting import (
    campaign,
    city_data,
    ledger_buildings,
    ledger_rows,
    read_only,
    school_data,
)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIME = "application/pdf"


def _safe_name(text: str) -> str:
    """A school's name fit for a file name."""
    return "".join(ch for ch in text if ch not in '\\/:*?"<>|\x00').strip() or "school"


async def form_file(
    db: Database, campaign_id: int, school_id: int, today: date
) -> tuple[str, bytes]:
    school = await school_data(db, campaign_id, school_id)
    if school is None:
        raise NotAllowed()
    sealed = (await chain.seal(db, school_id)).text()
    data = await asyncio.to_thread(form.form_bytes, school, today, sealed)
    return f"汇总表-{_safe_name(school.name)}-{today.isoformat()}.xlsx", data


async def city_file(db: Database, campaign_id: int, today: date) -> tuple[str, bytes]:
    row = await campaign(db, campaign_id)
    phases = city.Phases(
        date.fromisoformat(row["self_inspection_due"]) if row["self_inspection_due"] else None,
        date.fromisoformat(row["rectification_due"]) if row["rectification_due"] else None,
    )
    schools = await city_data(db, campaign_id)
    sealed = (await chain.seal(db, None)).text()
    data = await asyncio.to_thread(city.city_bytes, schools, today, phases, sealed)
    return f"全市进度-{today.isoformat()}.xlsx", data


def write_ledger_file(
    db: Database,
    photos: PhotoStore,
    campaign_id: int,
    school_id: int | None,
    target: Path | IO[bytes],
    seal: str | None = None,
) -> int:
    """Stream the ledger from its own read-only connection into ``target`` (a path or file)."""
    conn = read_only(db.path)
    try:
        return write_ledger(
            target,
            ledger_rows(conn, campaign_id, school_id),
            ledger_buildings(conn, campaign_id, school_id),
            photos.path_of,
            seal,
        )
    finally:
        conn.close()


async def ledger_file(
    db: Database, photos: PhotoStore, campaign_id: int, school_id: int | None, today: date
) -> tuple[str, bytes]:
    if school_id is None:
        name = f"全市台账-{today.isoformat()}.xlsx"
    else:
        school = await db.one("SELECT name FROM schools WHERE id = ?", (school_id,))
        if school is None:
            raise NotAllowed()
        name = f"台账-{_safe_name(school['name'])}-{today.isoformat()}.xlsx"
    buffer = io.BytesIO()
    sealed = (await chain.seal(db, school_id)).text()
    await asyncio.to_thread(write_ledger_file, db, photos, campaign_id, school_id, buffer, sealed)
    return name, buffer.getvalue()


async def qr_file(db: Database, school_id: int, base: str) -> tuple[str, bytes]:
    """The school's QR sheet; ``base`` from ``qr.link_base``."""
    school = await db.one("SELECT name FROM schools WHERE id = ?", (school_id,))
    if school is None:
        raise NotAllowed()
    # The summary form's order (storage.reporting), so sheet and form list buildings alike.
    rows = await db.all(
        "SELECT id, name FROM buildings WHERE school_id = ? ORDER BY id", (school_id,)
    )
    labels = [qr.Label(r["id"], r["name"], school["name"]) for r in rows]
    data = await asyncio.to_thread(qr.sheet_pdf, labels, base)
    return f"二维码-{_safe_name(school['name'])}.pdf", data


def template_file(kind: imports.Kind) -> tuple[str, bytes]:
    name = "学校导入模板.xlsx" if kind is imports.Kind.SCHOOLS else "建筑物导入模板.xlsx"
    return name, imports.template(kind)
