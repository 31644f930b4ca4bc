"""Registering schools and buildings: the task force's ``/addschool``, a manager's
``/addbuilding``, and each new row of an imported roster (``cases.imports``), the same way.

A new school comes with its principal's invitation (one use, 30 days), whoever
registers it. ``person`` None is the command line's operator. A name already
taken is refused (``ledger.errors.Duplicate``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import NotAllowed
from ledger.roles import Person, Role, can_manage_school
from storage import campus, people
from storage.db import Tx

PRINCIPAL_INVITATION_DAYS = 30


@dataclass(frozen=True)
class NewSchool:
    school_id: int
    code: str  # the principal's invitation


async def add_school(
    tx: Tx, person: Person | None, *, name: str, kind: str, ownership: str, district: str
) -> NewSchool:
    """A school and its principal's invitation: the task force's (or the operator's)."""
    if person is not None and not person.is_taskforce:
        raise NotAllowed()
    actor_id = person.id if person else None
    school_id = await campus.create_school(
        tx, name=name, kind=kind, ownership=ownership, district=district, actor_id=actor_id
    )
    code = await people.create_invitation(
        tx,
        role=Role.PRINCIPAL,
        school_id=school_id,
        created_by=actor_id,
        days=PRINCIPAL_INVITATION_DAYS,
        max_uses=1,
    )
    return NewSchool(school_id, code)


async def add_building(
    tx: Tx,
    person: Person | None,
    school_id: int,
    *,
    name: str,
    use: str,
    floors: int,
    year_built: int | None,
) -> int:
    """A building of the school: its principal's or a leader's (or the operator's)."""
    if person is not None and not can_manage_school(person, school_id):
        raise NotAllowed()
    return await campus.create_building(
        tx,
        school_id=school_id,
        name=name,
        use=use,
        floors=floors,
        year_built=year_built,
        actor_id=person.id if person else None,
    )
