"""Who may export which paper: the city's papers are the task force's; a school's papers
are its principal's and leaders', and the task force's.

A paper's code travels in an export button's callback data, so the codes stay as
they are.
"""

from __future__ import annotations

from enum import StrEnum

from ledger.roles import Person, can_manage_school


class Paper(StrEnum):
    FORM = "f"  # the school's summary form
    SCHOOL_LEDGER = "l"
    QR = "q"  # the school's QR sheet
    BUILDINGS_TEMPLATE = "b"
    SCHOOL_MENU = "p"  # the menu of a school's papers
    CITY_REPORT = "c"
    CITY_LEDGER = "L"
    SCHOOLS_TEMPLATE = "s"


CITY_PAPERS = frozenset({Paper.CITY_REPORT, Paper.CITY_LEDGER, Paper.SCHOOLS_TEMPLATE})


def may_export_school(person: Person, school_id: int) -> bool:
    """A school's papers: its principal or a leader, or the task force."""
    return person.is_taskforce or can_manage_school(person, school_id)


def may_export(person: Person, paper: Paper, school_id: int | None) -> bool:
    """Whether this person may have this paper (of this school, for a school's paper)."""
    if paper in CITY_PAPERS:
        return person.is_taskforce
    return school_id is not None and may_export_school(person, school_id)


def paper_of(code: str) -> Paper | None:
    """The paper a button's code names; None for a code no paper has."""
    try:
        return Paper(code)
    except ValueError:
        return None
