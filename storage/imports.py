"""Applying an import: every row in one transaction; rows already stored are skipped.

The rows are checked before (``reports.imports``); a school or building whose
name is already stored is left as it is, so importing a file twice changes
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.imports import BuildingRow, SchoolRow
from ledger.roles import Role
from storage import campus, people
from storage.db import Tx

PRINCIPAL_INVITATION_DAYS = 30  # as when the task force adds a school in chat


@dataclass(frozen=True)
class NewSchool:
    school_id: int
    name: str
    principal: str
    phone: str
    code: str


async def import_schools(tx: Tx, rows: list[SchoolRow], actor_id: int | None) -> list[NewSchool]:
    """Create the schools not stored yet, each with a principal's invitation."""
    made = []
    for row in rows:
        if await tx.value("SELECT 1 FROM schools WHERE name = ?", (row.name,)):
            continue
        school_id = await campus.create_school(
            tx,
            name=row.name,
            kind=row.kind,
            ownership=row.ownership,
            district=row.district,
            actor_id=actor_id,
        )
        code = await people.create_invitation(
            tx,
            role=Role.PRINCIPAL,
            school_id=school_id,
            created_by=actor_id,
            days=PRINCIPAL_INVITATION_DAYS,
            max_uses=1,
        )
        # Who the invitation is meant for: kept in the event log (no column holds it).
        await tx.event(
            actor_id,
            "school.imported",
            "school",
            school_id,
            after={"row": row.row, "principal": row.principal, "phone": row.phone},
        )
        made.append(NewSchool(school_id, row.name, row.principal, row.phone, code))
    return made


async def import_buildings(
    tx: Tx, school_id: int, rows: list[BuildingRow], actor_id: int | None
) -> list[str]:
    """Create the school's buildings not stored yet; return the names created."""
    made = []
    for row in rows:
        if await tx.value(
            "SELECT 1 FROM buildings WHERE school_id = ? AND name = ?", (school_id, row.name)
        ):
            continue
        await campus.create_building(
            tx,
            school_id=school_id,
            name=row.name,
            use=row.use,
            floors=row.floors,
            year_built=row.year_built,
            actor_id=actor_id,
        )
        made.append(row.name)
    return made
