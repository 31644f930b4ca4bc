"""Importing a roster, written once for ``xiaoan import`` and a spreadsheet sent in chat.

``import_sheet`` takes the file's bytes: it checks who may import at all, reads
and checks the sheet (``reports.imports.read_sheet``, through ``parse``: the chat
runs it in a worker process, the command line in place), checks who may import
this kind of sheet and where (``ledger.imports``), refuses the whole file when a
row is bad, and stores every new school or building in one transaction, as
``/addschool`` and ``/addbuilding`` do (``cases.campus``): a name already stored
is skipped, so importing the same file twice changes nothing. ``person`` None is
the command line's operator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from cases.campus import add_building, add_school
from ledger.errors import NotAllowed, XiaoanError
from ledger.imports import (
    BuildingRow,
    Problem,
    SchoolRow,
    buildings_school,
    may_import,
    may_import_buildings,
    may_import_schools,
)
from ledger.roles import Person
from reports.imports import Kind, Sheet, read_sheet
from storage import campus
from storage.db import Tx

Write = Callable[[], AbstractAsyncContextManager[Tx]]
# How the sheet is read: ``parse(read_sheet, data, this_year)``; in place by default.
Parse = Callable[[Callable[[bytes, int], Sheet], bytes, int], Awaitable[Sheet]]


async def in_place(read: Callable[[bytes, int], Sheet], data: bytes, this_year: int) -> Sheet:
    """Read the sheet right here (the command line has no event loop to keep free)."""
    return read(data, this_year)


class ImportRefused(XiaoanError):
    """A sheet this person may not import (``reason``), or not the kind asked for."""

    code = "import"


@dataclass(frozen=True)
class Refused:
    """Bad rows: nothing of the file is imported."""

    problems: Sequence[Problem]


@dataclass(frozen=True)
class SchoolsImported:
    """The schools of a roster not stored before (none: the roster was imported already)."""

    schools: list[ImportedSchool]


@dataclass(frozen=True)
class BuildingsImported:
    """The buildings of a list not stored before, by name, and the school they went to."""

    school_id: int
    names: list[str]


def check_may_import(person: Person | None) -> None:
    """Whether a sheet from this person is worth reading (or even downloading) at all."""
    if person is not None and not may_import(person):
        raise ImportRefused(reason="need_role")


async def import_sheet(
    write: Write,
    person: Person | None,
    data: bytes,
    *,
    this_year: int,
    school_id: int | None = None,
    expect: Kind | None = None,
    parse: Parse = in_place,
) -> SchoolsImported | BuildingsImported | Refused:
    """Import a sheet's bytes: a roster of schools (the task force, or the operator) or a
    school's buildings (``school_id``; in chat the first school the person runs).

    ``expect``: the kind the caller asked for (the command line names it). Refusals
    are raised: ``BadSpreadsheet`` for a file that is no import sheet, ``ImportRefused``
    for a person who may not import it; bad rows are answered with ``Refused``.
    """
    check_may_import(person)
    sheet = await parse(read_sheet, data, this_year)
    if expect is not None and sheet.kind is not expect:
        raise ImportRefused(reason="wrong_kind", kind=sheet.kind.value, expected=expect.value)
    if sheet.kind is Kind.SCHOOLS:
        if person is not None and not may_import_schools(person):
            raise ImportRefused(reason="schools_need_taskforce")
        made = await import_schools(write, person, sheet.schools, sheet.problems)
        return made if isinstance(made, Refused) else SchoolsImported(made)
    if school_id is None and person is not None:
        school_id = buildings_school(person)
    if school_id is None:
        raise ImportRefused(reason="buildings_need_manager")
    names = await import_buildings(write, person, school_id, sheet.buildings, sheet.problems)
    return names if isinstance(names, Refused) else BuildingsImported(school_id, names)


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
        if await campus.school_by_id(tx, school_id) is None:  # the operator's typed id
            raise ImportRefused(reason="no_school", id=school_id)
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
