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
