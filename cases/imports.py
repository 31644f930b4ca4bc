"""Importing a roster, written once for ``xiaoan import`` and a spreadsheet sent in chat.

The caller reads the file and checks its rows (``reports.imports``); the case
checks who may import it (``ledger.imports``), refuses the whole file when a
row is bad, and stores every new school or building in one transaction
(``storage.imports``): a name already stored is skipped, so importing the same
file twice changes nothing. ``person`` None is the command line's operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from ledger.errors import NotAllowed
from ledger.imports import (
    BuildingRow,
    Problem,
    SchoolRow,
    may_import_buildings,
    may_import_schools,
)
from ledger.roles import Person
from storage import imports as importing
from storage.db import Tx
from storage.imports import NewSchool

Write = Callable[[], AbstractAsyncContextManager[Tx]]


@dataclass(frozen=True)
class Refused:
    """Bad rows: nothing of the file is imported."""

    problems: Sequence[Problem]


async def import_schools(
    write: Write, person: Person | None, rows: Sequence[SchoolRow], problems: Sequence[Problem]
) -> list[NewSchool] | Refused:
    """The schools not stored yet, each with its principal's invitation."""
    if person is not None and not may_import_schools(person):
        raise NotAllowed()
    if problems:
        return Refused(problems)
    async with write() as tx:
        return await importing.import_schools(tx, list(rows), person.id if person else None)


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
    async with write() as tx:
        return await importing.import_buildings(
            tx, school_id, list(rows), person.id if person else None
        )
