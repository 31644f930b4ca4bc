"""The fuzz test (issue 11): thousands of generated updates through the real
Application and the simulator's fake Telegram.

Messages with random text, commands (with and without ``@bot`` and
arguments), entities, photos (real and broken, with odd sizes), documents,
contacts and stickers; taps on the buttons people really have (some too old
for Telegram to take an answer) and on crafted callback data; from members
of two schools, people joining, and strangers; in private chats and in
groups; half the batches with each sender's pace on. After every update: no
handler failed, and the bot sent Telegram nothing it would refuse (the fake
records violations).

About 3,000 updates a run (``FUZZ_BATCHES`` batches of 12 to 25; the
environment variable XIAOAN_FUZZ_BATCHES sets another number).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ledger.clock import FakeClock
from ledger.roles import Role
from ledger.throttle import Lane, Throttle
from tests.conftest import cli_invitation, jpeg, make_school
from tests.simulator import BOT_USERNAME, Chat, Group, Simulator

FUZZ_BATCHES = int(os.environ.get("XIAOAN_FUZZ_BATCHES", "200"))

COMMANDS = [
    "start",
    "inspect",
    "tasks",
    "progress",
    "export",
    "cancel",
    "whoami",
    "help",
    "addbuilding",
    "invite",
    "invitations",
    "addschool",
    "reminders",
    "hazard",
    "hazard_1",
    "hazard_2",
    "nosuch",
]
PREFIXES = ["a", "p", "x", "c", "b", "t", "s", "h", "f", "rv", "r", "hc", "tk", "e", "rh", "rr"]
# Typed answers a journey may be waiting for: names, numbers, dates, phones.
ANSWERS = [
    "教学楼B",
    "4",
    "0",
    "201",
    "1999",
    "2005",
    "2031",
    "2027-05-20",
    "5月20日",
    "2020-01-01",
    "13800138000",
    "+86 138-0013-8000",
    "王老师",
    "更换线路",
    "学校专项经费",
    "",
    " ",
    "\u200b",
    "\u202e反转",
    "a" * 300,
    "x" * 4097,
]

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=80
)


def _command() -> st.SearchStrategy[str]:
    arg = st.one_of(st.just(""), _text.map(lambda t: " " + t), st.integers(-5, 99).map(str))
    return st.builds(
        lambda name, at, a: (
            f"/{name}{f'@{BOT_USERNAME}' if at else ''}{' ' if a and a[0] != ' ' else ''}{a}"
        ),
        st.sampled_from(COMMANDS),
        st.booleans(),
        arg,
    )


def _callback_data() -> st.SearchStrategy[str]:
    field = st.one_of(
        st.integers(-2, 40).map(str), st.sampled_from(["y", "n", "ok", "hz", "na", "F01", "", "x"])
    )
    crafted = st.builds(
        lambda prefix, fields: ":".join([prefix, *fields]),
        st.sampled_from(PREFIXES),
        st.lists(field, max_size=4),
    )
    raw = st.text(min_size=1, max_size=30).filter(lambda d: len(d.encode()) <= 64)
    return st.one_of(crafted, raw)


def _picture_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(st.just(b"JPEG"), st.binary(max_size=64), st.just(b"\xff\xd8\xff\xe0broken"))


ACTION = st.one_of(
    st.tuples(st.just("text"), st.one_of(_text, st.sampled_from(ANSWERS))),
    st.tuples(st.just("text"), _command()),
    st.tuples(st.just("entities"), _text, st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.just("button"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("tap"), _callback_data()),
    st.tuples(st.just("photo"), _picture_bytes(), st.sampled_from([None, 0, 10, 25_000_000])),
    st.tuples(
        st.just("document"),
        st.sampled_from(["a.xlsx", "a.pdf", "照片.jpg", "x", "a.zip"]),
        st.sampled_from(["application/pdf", "image/jpeg", "application/zip", "text/plain"]),
        st.binary(max_size=64),
    ),
    st.tuples(st.just("contact"), st.sampled_from([*ANSWERS[9:12], "abc", ""]), st.booleans()),
    st.tuples(st.just("sticker")),
)
STEP = st.tuples(st.integers(0, 9), st.booleans(), ACTION)  # who, in a group?, what


class World:
    """Two schools' people, someone joining, strangers, a group."""

    def __init__(self, sim: Simulator, people: list[Chat], group: Group) -> None:
        self.sim = sim
        self.people = people
        self.group = group
        self.count = 0


async def _world(sim: Simulator) -> World:
    first = await make_school(sim)
    second = await make_school(sim, "第二中学", taskforce=first.taskforce)
    joining = sim.chat("新来的")
    await joining.send(f"/start {await cli_invitation(sim, Role.STAFF, first.school_id, uses=50)}")
    people = [
        first.taskforce,
        first.principal,
        first.staff,
        first.staff,  # the walker, more often
        second.principal,
        second.staff,
        joining,
        sim.chat("路人"),
        sim.chat("Stranger", "en"),
        sim.chat("路人乙"),
    ]
    group = Group(sim, -100777)
    return World(sim, people, group)


def _real_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, "JPEG")
    return buffer.getvalue()


async def _act(world: World, who: int, in_group: bool, action: tuple[Any, ...]) -> None:
    chat = world.people[who]
    group = world.group if in_group else None
    kind = action[0]
    if kind == "text":
        await chat.send(action[1], group=group)
    elif kind == "entities":
        text = action[1] or "x"
        offset = min(action[2], len(text) - 1)
        length = max(1, min(action[3], len(text) - offset))
        raw = chat.text_update(text, group)
        raw["message"]["entities"] = [{"type": "bold", "offset": offset, "length": length}]
        await world.sim.deliver(raw)
    elif kind == "button":
        buttons = [
            (message, data)
            for message in chat.messages[-3:]
            for row in message.buttons
            for _, data in row
        ]
        if buttons:
            message, data = buttons[action[1] % len(buttons)]
            raw = chat.tap_update(data, message)
            if action[2]:  # the tap waited in Telegram too long: its answer is refused
                world.sim.api.expire(raw["callback_query"]["id"])
            await world.sim.deliver(raw)
        else:
            await chat.send("/inspect")
    elif kind == "tap":
        if chat.messages:
            await chat.tap_data(action[1])
    elif kind == "photo":
        data = _real_jpeg() if action[1] == b"JPEG" else action[1]
        await chat.photo(data, file_size=action[2])
    elif kind == "document":
        data = jpeg(60, 40) if action[2] == "image/jpeg" and not action[3] else action[3]
        await chat.document(data, action[1], action[2])
    elif kind == "contact":
        await chat.contact(action[1], own=action[2])
    else:
        raw = chat._message(group, sticker={"file_id": "s1", "file_unique_id": "us1"})
        raw["message"]["sticker"].update(width=1, height=1, is_animated=False, is_video=False)
        raw["message"]["sticker"]["type"] = "regular"
        await world.sim.deliver(raw)
    world.count += 1


def test_generated_updates_never_break_the_bot(tmp_path: Path, clock: FakeClock) -> None:
    # In memory where the machine has it: thousands of commits, each synced to disk,
    # would time the disk, not the bot.
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    loop = asyncio.new_event_loop()
    sim = Simulator(folder, clock)
    loop.run_until_complete(sim.start())
    world = loop.run_until_complete(_world(sim))

    @settings(
        max_examples=FUZZ_BATCHES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(STEP, min_size=12, max_size=25), st.booleans())
    def batch(steps: list[tuple[int, bool, tuple[Any, ...]]], paced: bool) -> None:
        # Half the batches with each sender paced (a few updates a second), so that
        # the guard's warnings and silences are fuzzed too.
        sim.guard.throttle = Throttle() if paced else Throttle(dict.fromkeys(Lane))

        async def run() -> None:
            for who, in_group, action in steps:
                sim.seconds += 0.2
                await _act(world, who, in_group, action)

        loop.run_until_complete(run())

    try:
        batch()
        stats = loop.run_until_complete(_stats(sim))
    finally:
        loop.run_until_complete(sim.stop())
        loop.close()
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)
    assert world.count >= FUZZ_BATCHES * 10
    print(f"fuzz: {world.count} updates; {stats}")
    # The journeys were reached, not only refusals.
    assert stats["answers"] > 0 and stats["sent"] > world.count / 2


async def _stats(sim: Simulator) -> dict[str, int]:
    return {
        "sent": len(sim.api.messages),
        "answers": await sim.db.value("SELECT COUNT(*) FROM answers"),
        "hazards": await sim.db.value("SELECT COUNT(*) FROM hazards"),
        "people": await sim.db.value("SELECT COUNT(*) FROM people"),
        "alerts": len(sim.api.alerts),
        "refused by time": len(sim.api.refusals),
    }
