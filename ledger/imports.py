"""Rows of an import spreadsheet once checked, what is wrong with a bad row, who imports.

The task force imports the city's schools; a school's principal or leaders
import its buildings (in chat: into the first school they run). The command
line's operator, who holds the database, imports either.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.roles import Person, can_manage_school, managed_schools


@dataclass(frozen=True)
class Problem:
    """What is wrong with one row: ``code`` names the text, ``column`` the header."""

    row: int
    code: str
    column: str = ""


@dataclass(frozen=True)
class SchoolRow:
    row: int
    name: str
    kind: str
    ownership: str
    district: str
    principal: str
    phone: str


@dataclass(frozen=True)
class BuildingRow:
    row: int
    name: str
    use: str
    floors: int
    year_built: int


def may_import(person: Person) -> bool:
    """Whether a spreadsheet from this person is worth reading at all."""
    return person.is_taskforce or bool(managed_schools(person))


def may_import_schools(person: Person) -> bool:
    return person.is_taskforce


def may_import_buildings(person: Person, school_id: int) -> bool:
    return can_manage_school(person, school_id)


def buildings_school(person: Person) -> int | None:
    """The school a roster of buildings sent in chat goes to: the first they run."""
    managed = managed_schools(person)
    return managed[0] if managed else None
