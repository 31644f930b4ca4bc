"""Importing a roster, written once for ``xiaoan import`` and a spreadsheet sent in chat.

The caller reads the file and checks its rows (``reports.imports``); the case
checks who may import it (``ledger.imports``), refuses the whole file when a
row is bad, and stores every new school or building in one transaction, as
``/addschool`` and ``/addbuilding`` do (``cases.campus``): a name already
stored is skipped, so importing the same file twice changes nothing.
``person`` None is the command line's operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from cases.campus import add_building, add_school
from ledger.errors import NotAllowed
from ledger.imports import (
    BuildingRow,
    Problem,
    SchoolRow,
    may_import_buildings,
    may_import_schools,
)
from ledger.roles import Person
from storage import campus
from storage.db import Tx

Write = Callable[[], AbstractAsyncContextManager[Tx]]


@dataclass(frozen=True)
class Refused:
    """Bad rows: nothing of the file is imported."""

    problems: Sequence[Problem]


@dataclass(frozen=True)
class ImportedSchool:
    school_id: int
    name: str
    principal: str
    phone: str
    code: str  # the principal's invitation


async def import_schools(
    write: Write, person: Person | None, rows: Sequence[SchoolRow], problems: Sequence[Problem]
) -> list[ImportedSchool] | Refused:
    """The schools not stored yet, each with its principal's invitation."""
    if person is not None and not may_import_schools(person):
        raise NotAllowed()
    if problems:
        return Refused(problems)
    actor_id = person.id if person else None
    made = []
    async with write() as tx:
        for row in rows:
            if await campus.school_named(tx, row.name) is not None:
                continue
            new = await add_school(
                tx,
                person,
                name=row.name,
                kind=row.kind,
                ownership=row.ownership,
                district=row.district,
            )
            # Who the invitation is meant for: kept in the event log (no column holds it).
            await tx.event(
                actor_id,
                "school.imported",
                "school",
                new.school_id,
                after={"row": row.row, "principal": row.principal, "phone": row.phone},
            )
            made.append(ImportedSchool(new.school_id, row.name, row.principal, row.phone, new.code))
    return made


async def import_buildings(
    write: Write,
    person: Person | None,
    school_id: int,
    rows: Sequence[BuildingRow],
    problems: Sequence[Problem],
) -> list[str] | Refused:
    """The school's buildings not stored yet; their names."""
    if person is not None and not may_import_buildings(person, school_id):
        raise NotAllowed()
    if problems:
        return Refused(problems)
    made = []
    async with write() as tx:
        for row in rows:
            if await campus.building_named(tx, school_id, row.name) is not None:
                continue
            await add_building(
                tx,
                person,
                school_id,
                name=row.name,
                use=row.use,
                floors=row.floors,
                year_built=row.year_built,
            )
            made.append(row.name)
    return made
