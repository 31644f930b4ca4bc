"""Invitations as use cases (``cases.invitations``): who may make and revoke which one."""

from __future__ import annotations

import pytest

from cases import invitations as case
from ledger.errors import NotAllowed, Stale
from ledger.roles import Person, Role
from storage import people
from storage.db import Database
from tests.conftest import seed_person, seed_school


async def person(db: Database, person_id: int) -> Person:
    found = await people.person_by_id(db, person_id)
    assert found is not None
    return found


async def test_who_invites_whom(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", [])
    other = await seed_school(fresh_db, "二中", [])
    principal = await person(fresh_db, s.person_id)
    leader = await person(fresh_db, await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER))
    staff = await person(fresh_db, await seed_person(fresh_db, "王老师", s.school_id, Role.STAFF))
    refused = [
        (staff, Role.STAFF, s.school_id),  # staff invite nobody
        (leader, Role.LEADER, s.school_id),  # a leader invites staff only
        (principal, Role.STAFF, other.school_id),  # not their school
        (principal, Role.TASKFORCE, None),  # the task force invites its own
        (None, Role.STAFF, None),  # a school's role needs a school
        (None, Role.SUPERVISOR, s.school_id),  # a city role has none
        (None, Role.STAFF, 999),  # no such school
    ]
    for who, role, school_id in refused:
        async with fresh_db.write() as tx:
            with pytest.raises(NotAllowed):
                await case.invite(tx, who, role, school_id, 7, 10)
    async with fresh_db.write() as tx:
        with pytest.raises(NotAllowed):
            await case.invite(tx, principal, Role.STAFF, s.school_id, 0, 10)
    assert await fresh_db.value("SELECT COUNT(*) FROM invitations") == 0
    async with fresh_db.write() as tx:
        code = await case.invite(tx, leader, Role.STAFF, s.school_id, 7, 10)
        city = await case.invite(tx, None, Role.SUPERVISOR, None, 1, 1)
    rows = await fresh_db.all("SELECT code, role, school_id, created_by, max_uses FROM invitations")
    assert [tuple(r) for r in rows] == [
        (code, "staff", s.school_id, leader.id, 10),
        (city, "supervisor", None, None, 1),
    ]


async def test_revoking(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", [])
    principal = await person(fresh_db, s.person_id)
    leader = await person(fresh_db, await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER))
    async with fresh_db.write() as tx:
        code = await case.invite(tx, principal, Role.LEADER, s.school_id, 7, 1)
    invitation_id = int(await fresh_db.value("SELECT id FROM invitations"))
    with pytest.raises(NotAllowed):  # a leader may not hand out a leader's invitation
        await case.revoke(fresh_db.write, leader, invitation_id)
    with pytest.raises(NotAllowed):
        await case.revoke(fresh_db.write, principal, invitation_id + 1)
    assert await fresh_db.value("SELECT revoked_at FROM invitations") is None
    assert await case.revoke(fresh_db.write, principal, invitation_id) == code
    assert await fresh_db.value("SELECT revoked_by FROM invitations") == principal.id
    with pytest.raises(Stale):
        await case.revoke(fresh_db.write, principal, invitation_id)
