"""Fixtures: a fake clock, a fresh database, the simulator, a ready school."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from ledger.clock import FakeClock
from ledger.roles import Role
from storage import people
from storage.db import Database
from storage.photos import PhotoStore
from tests.simulator import Chat, Simulator

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
async def fresh_db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    async with Database(tmp_path / "test.sqlite3", clock) as db:
        yield db


@pytest.fixture
async def sim(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Simulator]:
    simulator = await Simulator(tmp_path, clock).start()
    yield simulator
    await simulator.stop()


def jpeg(width: int = 640, height: int = 480, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


async def cli_invitation(
    sim: Simulator, role: Role, school_id: int | None = None, days: int = 7, uses: int = 1
) -> str:
    """What ``xiaoan invite`` does."""
    async with sim.db.write() as tx:
        return await people.create_invitation(
            tx, role=role, school_id=school_id, created_by=None, days=days, max_uses=uses
        )


async def join(
    sim: Simulator, code: str, name: str, phone: str = "13800138000", language: str = "zh-hans"
) -> Chat:
    chat = sim.chat(name, language)
    await chat.send(f"/start {code}")
    await chat.send(name)
    await chat.contact(phone)
    return chat


def link_code(text: str) -> str:
    return text.split("start=")[1].split()[0]


@dataclass
class School:
    taskforce: Chat
    principal: Chat
    staff: Chat
    school_id: int


async def add_building(chat: Chat, name: str, use_label: str, floors: str, year: str) -> None:
    await chat.send("/addbuilding")
    await chat.send(name)
    await chat.tap(use_label)
    await chat.send(floors)
    await chat.send(year)


async def make_school(
    sim: Simulator,
    name: str = "实验小学",
    buildings: tuple[tuple[str, str, str, str], ...] = (("教学楼A", "教学楼", "4", "2005"),),
    taskforce: Chat | None = None,
) -> School:
    """A school made through the chat: registered, principal, buildings, one staff."""
    if taskforce is None:
        taskforce = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "市专班李")
    await taskforce.send("/addschool")
    await taskforce.send(name)
    await taskforce.tap("小学")
    await taskforce.tap("公办")
    done = await taskforce.send("城关镇")
    principal = await join(sim, link_code(done[-1].text), f"{name}张校长")
    for building in buildings:
        await add_building(principal, *building)
    await principal.send("/invite")
    await principal.tap("教职工")
    await principal.tap("7 天")
    made = await principal.tap("10 人")
    staff = await join(sim, link_code(made[-1].text), f"{name}王老师")
    school_id = await sim.db.value("SELECT id FROM schools WHERE name = ?", (name,))
    return School(taskforce, principal, staff, school_id)


# --- reports: ledger states written directly (rectification has its own issue) -------
# These write rows the way the walk and rectification journeys leave them, so the
# reports can be tested on every state without driving each journey through the chat.


@dataclass
class Seeded:
    """A school written straight into the database."""

    campaign_id: int
    school_id: int
    building_ids: list[int]
    person_id: int  # the principal


async def seed_campaign(db: Database, name: str = "回头看", **dates: str | None) -> int:
    async with db.write() as tx:
        existing = await tx.value("SELECT id FROM campaigns WHERE name = ?", (name,))
        if existing:
            return int(existing)
        return await tx.run(
            "INSERT INTO campaigns (name, self_inspection_due, rectification_due,"
            " supervision_due, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                name,
                dates.get("self_inspection_due", "2027-03-30"),
                dates.get("rectification_due", "2027-05-31"),
                dates.get("supervision_due", "2027-06-15"),
                tx.now(),
            ),
        )


_tg_ids = iter(range(900_000, 10_000_000))


async def seed_person(db: Database, name: str, school_id: int | None, role: Role) -> int:
    async with db.write() as tx:
        tg = next(_tg_ids)
        person_id = await people.create_person(
            tx, tg_user_id=tg, chat_id=tg, name=name, phone="13800000000", language="zh"
        )
        await people.add_membership(
            tx, person_id=person_id, school_id=school_id, role=role, invitation_id=None
        )
        return person_id


async def seed_school(
    db: Database,
    name: str,
    buildings: list[str],
    campaign_id: int | None = None,
    district: str = "城关镇",
) -> Seeded:
    """A school with buildings (teaching, 3 floors, 2005) and a principal."""
    from storage import campus

    campaign_id = campaign_id or await seed_campaign(db)
    async with db.write() as tx:
        school_id = await campus.create_school(
            tx, name=name, kind="primary", ownership="public", district=district, actor_id=None
        )
    principal = await seed_person(db, f"{name}校长", school_id, Role.PRINCIPAL)
    ids = []
    async with db.write() as tx:
        for building in buildings:
            ids.append(
                await campus.create_building(
                    tx,
                    school_id=school_id,
                    name=building,
                    use="teaching",
                    floors=3,
                    year_built=2005,
                    actor_id=principal,
                )
            )
    return Seeded(campaign_id, school_id, ids, principal)


async def seed_walk(db: Database, s: Seeded, building_id: int, closed: bool) -> int:
    """A walk of the building: in progress, or closed (销号)."""
    async with db.write() as tx:
        version = await tx.value("SELECT id FROM checklist_versions LIMIT 1")
        if version is None:
            version = await tx.run(
                "INSERT INTO checklist_versions (digest, name, loaded_at) VALUES (?, ?, ?)",
                ("test", "test", tx.now()),
            )
        return await tx.run(
            "INSERT INTO inspections (campaign_id, building_id, checklist_version_id,"
            " walker_id, started_by, started_at, last_activity_at, extra_done, closed_at,"
            " closed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.campaign_id,
                building_id,
                version,
                s.person_id,
                s.person_id,
                tx.now(),
                tx.now(),
                int(closed),
                tx.now() if closed else None,
                s.person_id if closed else None,
            ),
        )


async def seed_hazard(
    db: Database,
    s: Seeded,
    building_id: int,
    description: str,
    *,
    fixable_now: bool = True,
    deadline: str = "2026-12-05",
    responsible: str | None = None,
    out_of_use: bool = False,
    state: str = "open",
    major: bool = False,
) -> int:
    """A hazard reported in full (state open unless said otherwise)."""
    async with db.write() as tx:
        hazard_id = await tx.run(
            "INSERT INTO hazards (school_id, building_id, campaign_id, source, reported_by,"
            " reported_at, photos_done, description, fixable_now, deadline, responsible_id,"
            " responsible_name, measures, takes_out_of_use, major, state, completed_at)"
            " VALUES (?, ?, ?, 'walk', ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.school_id,
                building_id,
                s.campaign_id,
                s.person_id,
                tx.now(),
                description,
                int(fixable_now),
                deadline,
                s.person_id if responsible is None else None,
                responsible,
                None if fixable_now else "整改措施",
                int(out_of_use),
                int(major),
                state,
                tx.now(),
            ),
        )
        if out_of_use:
            await tx.run("UPDATE buildings SET out_of_use = 1 WHERE id = ?", (building_id,))
        return hazard_id


async def seed_fix(db: Database, hazard_id: int, fixer: int, verifier: int | None) -> int:
    """A fix confirmed by the responsible person; accepted by ``verifier`` (closed) if given."""
    async with db.write() as tx:
        fix_id = await tx.run(
            "INSERT INTO fix_reports (hazard_id, reported_by, started_at, note, state,"
            " submitted_at, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hazard_id,
                fixer,
                tx.now(),
                "已整改",
                "accepted" if verifier else "submitted",
                tx.now(),
                verifier,
                tx.now() if verifier else None,
            ),
        )
        await tx.run(
            "UPDATE hazards SET state = ?, closed_at = ? WHERE id = ?",
            ("closed" if verifier else "submitted", tx.now() if verifier else None, hazard_id),
        )
        return fix_id


async def seed_deadline_change(
    db: Database, hazard_id: int, asked_by: int, new: str, decided_by: int | None
) -> None:
    """A deadline moved (approved by ``decided_by``) or asked for."""
    async with db.write() as tx:
        old = await tx.value("SELECT deadline FROM hazards WHERE id = ?", (hazard_id,))
        await tx.run(
            "INSERT INTO deadline_changes (hazard_id, old_deadline, new_deadline, reason,"
            " asked_by, asked_at, state, decided_by, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hazard_id,
                old,
                new,
                "材料未到",
                asked_by,
                tx.now(),
                "approved" if decided_by else "asked",
                decided_by,
                tx.now() if decided_by else None,
            ),
        )
        if decided_by:
            await tx.run("UPDATE hazards SET deadline = ? WHERE id = ?", (new, hazard_id))


async def seed_photo(
    db: Database,
    store: PhotoStore,
    hazard_id: int,
    person_id: int,
    kind: str = "before",
    color: str = "red",
    fix_id: int | None = None,
) -> str:
    """A photo stored on disk and attached to the hazard (or its fix)."""
    stored = store.save(jpeg(color=color))
    async with db.write() as tx:
        await tx.run(
            "INSERT INTO photos (hazard_id, kind, sha256, width, height, bytes, uploaded_by,"
            " uploaded_at, fix_report_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hazard_id,
                kind,
                stored.sha256,
                stored.width,
                stored.height,
                stored.size,
                person_id,
                tx.now(),
                fix_id,
            ),
        )
    return stored.sha256
