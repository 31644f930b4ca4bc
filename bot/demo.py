"""``xiaoan run --demo``: a demo school with buildings and an invitation for every role.

A newcomer opens the principal's or the staff's link and walks a building at
once; running it again reuses the school and makes fresh invitations.
"""

from __future__ import annotations

from ledger.roles import CITY_ROLES, Role
from storage import campus, people
from storage.db import Database

DEMO_SCHOOL = "演示小学"
DEMO_BUILDINGS = (
    ("教学楼A", "teaching", 4, 2005),
    ("学生宿舍", "dormitory", 5, 1995),
    ("食堂", "canteen", 2, 2012),
)
# Demo invitations last a month and admit a whole class of testers.
DEMO_DAYS = 30
DEMO_USES = 50
ROLE_ORDER = (Role.PRINCIPAL, Role.LEADER, Role.STAFF, Role.TASKFORCE, Role.SUPERVISOR)


async def create_demo(db: Database) -> list[tuple[Role, str]]:
    """The demo school (made once) and a new invitation code for each role."""
    async with db.write() as tx:
        school_id = await tx.value("SELECT id FROM schools WHERE name = ?", (DEMO_SCHOOL,))
        if school_id is None:
            school_id = await campus.create_school(
                tx,
                name=DEMO_SCHOOL,
                kind="primary",
                ownership="public",
                district="演示区",
                actor_id=None,
            )
        for name, use, floors, year in DEMO_BUILDINGS:
            if not await tx.value(
                "SELECT 1 FROM buildings WHERE school_id = ? AND name = ?", (school_id, name)
            ):
                await campus.create_building(
                    tx,
                    school_id=school_id,
                    name=name,
                    use=use,
                    floors=floors,
                    year_built=year,
                    actor_id=None,
                )
        codes = []
        for role in ROLE_ORDER:
            code = await people.create_invitation(
                tx,
                role=role,
                school_id=None if role in CITY_ROLES else school_id,
                created_by=None,
                days=DEMO_DAYS,
                max_uses=DEMO_USES,
            )
            codes.append((role, code))
    return codes
