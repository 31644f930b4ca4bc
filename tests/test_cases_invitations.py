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


async def test_joining_with_a_code_makes_a_member_and_uses_the_code_once(
    fresh_db: Database,
) -> None:
    from ledger.errors import InvitationInvalid

    s = await seed_school(fresh_db, "实验小学", [])
    principal = await person(fresh_db, s.person_id)
    async with fresh_db.write() as tx:
        code = await case.invite(tx, principal, Role.STAFF, s.school_id, 7, 1)
        await people.set_pending(tx, 4242, "journey", {"kind": "join"})
    used = await case.join(
        fresh_db.write,
        tg_user_id=4242,
        chat_id=4242,
        language="en",
        code=code,
        name="Wang",
        phone="13800138000",
    )
    assert (used.role, used.school_name) == (Role.STAFF, "实验小学")
    joined = await people.person_by_tg(fresh_db, 4242)
    assert joined is not None and [m.role for m in joined.memberships] == [Role.STAFF]
    assert await people.pending(fresh_db, 4242) is None
    assert await fresh_db.value("SELECT uses FROM invitations") == 1
    with pytest.raises(InvitationInvalid):  # used up: the second person is not stored
        await case.join(
            fresh_db.write,
            tg_user_id=4343,
            chat_id=4343,
            language="zh",
            code=code,
            name="李",
            phone="13800138001",
        )
    assert await people.person_by_tg(fresh_db, 4343) is None


async def test_a_member_takes_a_new_role_once(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", [])
    principal = await person(fresh_db, s.person_id)
    staff_id = await seed_person(fresh_db, "王老师", s.school_id, Role.STAFF)
    async with fresh_db.write() as tx:
        again = await case.invite(tx, principal, Role.STAFF, s.school_id, 7, 5)
        leader = await case.invite(tx, principal, Role.LEADER, s.school_id, 7, 5)
    staff = await person(fresh_db, staff_id)
    now = fresh_db.clock.now()
    same = await people.usable_invitation(fresh_db, again, now)
    assert not await case.take_role(fresh_db.write, staff, same)  # staff already
    assert await fresh_db.value("SELECT SUM(uses) FROM invitations") == 0
    new = await people.usable_invitation(fresh_db, leader, now)
    assert await case.take_role(fresh_db.write, staff, new)
    after = await person(fresh_db, staff_id)
    assert {m.role for m in after.memberships} == {Role.STAFF, Role.LEADER}
