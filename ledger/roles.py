"""People, their roles and who may do what.

Every handler asks these functions before it reads or changes anything, with
the memberships loaded from the database, whatever a button's data says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.errors import NotAllowed, NotMember


class Role(StrEnum):
    TASKFORCE = "taskforce"
    SUPERVISOR = "supervisor"
    PRINCIPAL = "principal"
    LEADER = "leader"
    STAFF = "staff"


# Roles that belong to the city rather than to one school.
CITY_ROLES = frozenset({Role.TASKFORCE, Role.SUPERVISOR})
# Roles that run a school: add buildings, invite staff.
SCHOOL_MANAGERS = frozenset({Role.PRINCIPAL, Role.LEADER})


@dataclass(frozen=True)
class Membership:
    role: Role
    school_id: int | None  # None for city roles
    school_name: str | None = None


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    phone: str
    memberships: tuple[Membership, ...]

    @property
    def is_taskforce(self) -> bool:
        return any(m.role is Role.TASKFORCE for m in self.memberships)

    def roles_in(self, school_id: int) -> set[Role]:
        return {m.role for m in self.memberships if m.school_id == school_id}

    @property
    def school_ids(self) -> list[int]:
        """The schools this person belongs to, in the order they joined."""
        seen: list[int] = []
        for m in self.memberships:
            if m.school_id is not None and m.school_id not in seen:
                seen.append(m.school_id)
        return seen


@dataclass(frozen=True)
class Contact:
    """Someone the bot tells something: who, their name, the language they read."""

    id: int
    name: str
    language: str


def require_member(person: Person | None) -> Person:
    """Nobody without a membership sees anything."""
    if person is None or not person.memberships:
        raise NotMember()
    return person


def can_read_school(person: Person, school_id: int) -> bool:
    return bool(person.roles_in(school_id)) or any(m.role in CITY_ROLES for m in person.memberships)


def can_walk(person: Person, school_id: int) -> bool:
    """Inspect buildings and report hazards: any member of the school."""
    return bool(person.roles_in(school_id))


def can_manage_school(person: Person, school_id: int) -> bool:
    """Add buildings and invite staff: the school's principal or a leader."""
    return bool(person.roles_in(school_id) & SCHOOL_MANAGERS)


def managed_schools(person: Person) -> list[int]:
    """The schools this person runs (principal or leader), in the order they joined."""
    return [s for s in person.school_ids if can_manage_school(person, s)]


def require(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed()


def invitable_roles(person: Person, school_id: int | None) -> list[Role]:
    """Which roles this person may hand out in an invitation.

    The task force invites its own colleagues and supervisors (no school), and
    a school's principal, leaders and staff; a principal invites the school's
    leaders and staff; a leader invites staff only (with a second account a
    leader could otherwise verify their own fixes).
    """
    if school_id is None:
        return [Role.TASKFORCE, Role.SUPERVISOR] if person.is_taskforce else []
    if person.is_taskforce:
        return [Role.PRINCIPAL, Role.LEADER, Role.STAFF]
    roles = person.roles_in(school_id)
    if Role.PRINCIPAL in roles:
        return [Role.LEADER, Role.STAFF]
    if Role.LEADER in roles:
        return [Role.STAFF]
    return []


def may_revoke(person: Person, role: Role, school_id: int | None) -> bool:
    """An invitation may be revoked by whoever may hand out its role there."""
    return role in invitable_roles(person, school_id)
