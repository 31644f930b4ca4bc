"""A large ledger read by a helper process while the worker writes (reports.ledger_feed):
the same workbook as written by one process, and a helper that dies fails the export
cleanly."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from reports import files, ledger_feed
from reports.ledger import Prepared
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from storage.workers import WorkerCrashed
from tests.conftest import seed_hazard, seed_photo, seed_school


async def seeded(db: Database, store: PhotoStore) -> int:
    s = await seed_school(db, "实验小学", ["教学楼A", "宿舍楼"])
    other = await seed_school(db, "第二中学", ["主楼"], campaign_id=s.campaign_id)
    for n in range(12):
        hazard = await seed_hazard(db, s, s.building_ids[n % 2], f"=隐患{n}" if n % 5 else "灭火器")
        if n % 4 == 0:
            await seed_photo(db, store, hazard, s.person_id, color=("red", "blue", "green")[n % 3])
    await seed_hazard(db, other, other.building_ids[0], "别校的隐患")
    return s.campaign_id


def parts(path: Path) -> dict[str, bytes]:
    """The workbook's parts, but its creation time (docProps/core.xml)."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


async def test_a_ledger_read_by_a_helper_is_the_same_workbook(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    campaign_id = await seeded(fresh_db, store)
    monkeypatch.setattr(files, "PARALLEL_FROM", 1)
    monkeypatch.setattr(files, "core_to_spare", lambda: True)
    started: list[int] = []
    real = ledger_feed.prepared_in_helper

    def watched(
        db_path: Path, photos: PhotoStore, campaign_id: int, school_id: int | None
    ) -> Iterator[Prepared]:
        def seen(helper: BaseProcess) -> None:
            assert helper.pid is not None
            started.append(helper.pid)

        return real(db_path, photos, campaign_id, school_id, batch_rows=5, started=seen)

    monkeypatch.setattr(files, "prepared_in_helper", watched)
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    n1 = files.write_ledger_file(fresh_db.path, store, campaign_id, None, one, "seal", False)
    assert started == []
    n2 = files.write_ledger_file(fresh_db.path, store, campaign_id, None, two, "seal", True)
    assert len(started) == 1  # read by a helper, which is gone now
    with pytest.raises(ProcessLookupError):
        os.kill(started[0], 0)
    assert n1 == n2 == 13
    assert parts(one) == parts(two)
    assert sum(1 for name in parts(two) if name.startswith("xl/media/")) == 3


async def test_a_helper_that_dies_fails_the_export_and_leaves_no_file(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    campaign_id = await seeded(fresh_db, store)
    monkeypatch.setattr(files, "PARALLEL_FROM", 1)
    monkeypatch.setattr(files, "core_to_spare", lambda: True)
    real = ledger_feed.prepared_in_helper

    def killed(
        db_path: Path, photos: PhotoStore, campaign_id: int, school_id: int | None
    ) -> Iterator[Prepared]:
        return real(db_path, photos, campaign_id, school_id, started=lambda h: h.kill())

    monkeypatch.setattr(files, "prepared_in_helper", killed)
    target = tmp_path / "out" / "ledger.xlsx"
    target.parent.mkdir()
    with pytest.raises(WorkerCrashed):
        files.write_ledger_file(fresh_db.path, store, campaign_id, None, target, "seal", True)
    assert list(target.parent.iterdir()) == []  # neither the file nor a part of it


async def test_a_busy_machine_reads_and_writes_in_one_process(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    campaign_id = await seeded(fresh_db, store)
    monkeypatch.setattr(files, "PARALLEL_FROM", 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (4.5, 4.0, 4.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    def no_helper(*args: object, **kwargs: object) -> Iterator[Prepared]:
        raise AssertionError("no helper on a busy machine")

    monkeypatch.setattr(files, "prepared_in_helper", no_helper)
    target = tmp_path / "ledger.xlsx"
    assert files.write_ledger_file(fresh_db.path, store, campaign_id, None, target, None, True)
    assert target.is_file()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.3, 0.3))
    assert ledger_feed.core_to_spare()
