"""Heavy work off the event loop: exports in worker processes, their progress in chat,
a second request joining the first, a worker that dies, and the command line's bar."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from handlers import exports
from ledger.clock import FakeClock
from ledger.errors import PhotoRejected
from ledger.roles import Role
from reports import files, ledger
from storage.photos import PhotoLimits, PhotoStore
from storage.workers import WorkerCrashed, Workers
from tests.conftest import cli_invitation, join, jpeg
from tests.simulator import Simulator
from tests.test_export_chat import school_with_hazards, workbook

# --- run in a worker process (module-level: a spawned worker imports them by name) ------


def count_to(n: int, *, progress: Any) -> int:
    for done in range(1, n + 1):
        progress(done, n)
    return n


def die(*args: Any, **kwargs: Any) -> None:
    """A worker killed in the middle of a job (out of memory, a kill -9)."""
    os.kill(os.getpid(), signal.SIGKILL)


def half_a_file_then_die(*args: Any, progress: Any) -> None:
    """Begin writing the ledger's file, then die as a worker can."""
    target: Path = args[4]
    target.with_name(target.name + ".part").write_bytes(b"PK\x03\x04 half")
    progress(1, 2)
    os.kill(os.getpid(), signal.SIGKILL)


# --- the pool ------------------------------------------------------------------------------


async def test_a_worker_process_runs_a_job_and_reports_its_progress() -> None:
    workers = Workers(1)
    seen: list[tuple[int, int]] = []
    try:
        assert await workers.run(count_to, 3, on_progress=lambda d, t: seen.append((d, t))) == 3
        await asyncio.sleep(0.2)  # the last report crosses from the worker
        assert seen[-1] == (3, 3)  # the last report always arrives, others are paced
    finally:
        workers.close()


async def test_a_refusal_in_a_worker_arrives_whole(tmp_path: Path) -> None:
    """A photo refused in a worker is refused with its reason and values, as in-process."""
    workers = Workers(1)
    store = PhotoStore(tmp_path, PhotoLimits(max_bytes=100))
    try:
        with pytest.raises(PhotoRejected) as refused:
            await workers.run(store.save, jpeg())
        assert refused.value.params == {"reason": "too_large", "limit_mb": 0}
        stored = await workers.run(PhotoStore(tmp_path, PhotoLimits()).save, jpeg())
        assert store.path_of(stored.sha256).exists()
    finally:
        workers.close()


async def test_a_dead_worker_fails_its_job_and_the_next_job_runs() -> None:
    workers = Workers(1)
    try:
        with pytest.raises(WorkerCrashed):
            await workers.run(die)
        assert await workers.run(count_to, 2, on_progress=lambda d, t: None) == 2
    finally:
        workers.close()


# --- in chat -------------------------------------------------------------------------------


def calls(sim: Simulator, method: str) -> list[dict[str, Any]]:
    return [params for name, params in sim.api.calls if name == method]


async def test_the_ledger_says_so_at_once_shows_progress_and_is_replaced_by_the_file(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "EDIT_EVERY_SECONDS", 0)
    monkeypatch.setattr(ledger, "PROGRESS_ROWS", 1)
    school = await school_with_hazards(sim)
    await school.principal.send("/export")
    said = await school.principal.tap("台账")

    started = calls(sim, "sendMessage")[-1]
    assert started["text"] == "正在生成实验小学台账……"
    progress_id = next(
        p["message_id"]
        for p in calls(sim, "deleteMessage")
        if p["chat_id"] == school.principal.user_id
    )
    shown = [p["text"] for p in calls(sim, "editMessageText") if p["message_id"] == progress_id]
    assert "正在生成实验小学台账…… 50%（1/2 条）" in shown
    # The progress message has gone; the file stands in its place.
    assert all(m.message_id != progress_id for m in school.principal.messages)
    assert [m.kind for m in said] == ["document"]
    assert workbook(said[0])["台账"].max_row == 3
    assert "2 条" in said[0].caption


async def test_a_second_request_joins_the_first(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await school_with_hazards(sim)
    code = await cli_invitation(sim, Role.TASKFORCE)
    other = await join(sim, code, "Li", "13900000009", language="en")
    made = 0
    go = asyncio.Event()
    real = files.ledger_file

    async def slow(*args: Any, **kwargs: Any) -> tuple[str, bytes]:
        nonlocal made
        made += 1
        await go.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(files, "ledger_file", slow)
    first = asyncio.ensure_future(school.taskforce.tap_data("e:L:0"))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(other.tap_data("e:L:0"))
    await asyncio.sleep(0.05)
    assert "The city ledger is already being prepared" in other.last.text
    go.set()
    mine, theirs = await asyncio.gather(first, second)

    assert made == 1  # one worker wrote it
    for said in (mine, theirs):
        document = next(m for m in said if m.kind == "document")
        assert document.file_name.startswith("全市台账-")
        assert workbook(document)["台账"].max_row == 3
    assert "hazard ledger" in next(m for m in theirs if m.kind == "document").caption
    assert sim.services.exports == {}  # nothing left running


async def test_a_worker_dying_during_an_export_is_said_and_leaves_nothing(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temporary folders of this test's own: other processes' exports do not count.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    sim = await Simulator(tmp_path, clock, settings="[workers]\nprocesses = 1\n").start()
    try:
        school = await school_with_hazards(sim)
        monkeypatch.setattr(files, "write_ledger_file", half_a_file_then_die)
        folders_before = export_folders()
        await school.principal.send("/export")
        said = await school.principal.tap("台账")
        assert all(m.kind != "document" for m in said)
        assert "进程意外退出，文件没有生成" in school.principal.last.text
        assert export_folders() == folders_before  # the half-written file went with its folder

        # The pool is started afresh: the next export works.
        monkeypatch.undo()
        said = await school.principal.tap("台账")
        assert workbook(next(m for m in said if m.kind == "document"))["台账"].max_row == 3
    finally:
        await sim.stop()


def export_folders() -> set[Path]:
    """The exports' temporary folders that exist now."""
    return set(Path(tempfile.gettempdir()).glob("xiaoan-export-*"))


# --- the command line ----------------------------------------------------------------------


def export_ledger(config: Path, tty: bool) -> str:
    """``xiaoan export ledger`` with stderr a terminal or a pipe; what it wrote there."""
    argv = [sys.executable, "-m", "bot.cli", "--config", str(config), "export", "ledger"]
    argv += ["--out", str(config.parent / "ledger.xlsx")]
    if not tty:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603
        return done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this project's own command
        argv, stdout=subprocess.DEVNULL, stderr=follower, env={**os.environ, "COLUMNS": "80"}
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    return out.decode(errors="replace")


async def test_the_command_line_draws_a_bar_on_a_terminal_only(sim: Simulator) -> None:
    await school_with_hazards(sim)
    config = sim.config_path
    on_terminal = await asyncio.to_thread(export_ledger, config, True)
    assert "ledger" in on_terminal
    assert "\x1b[" in on_terminal  # drawn with terminal control sequences
    in_a_pipe = await asyncio.to_thread(export_ledger, config, False)
    assert in_a_pipe == ""
    assert (config.parent / "ledger.xlsx").stat().st_size > 0


def own_niceness(*, progress: Any) -> int:
    return os.nice(0)


async def test_a_worker_yields_the_processor_to_the_bot() -> None:
    workers = Workers(1)
    try:
        assert await workers.run(own_niceness, on_progress=lambda d, t: None) >= os.nice(0) + 10
    finally:
        workers.close()
