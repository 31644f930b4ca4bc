"""The ledger's thumbnails (reports.thumbs): made once per photo, kept, never stale, and
the picture in the sheet is the very thumbnail of the photo on record."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from reports import thumbs
from reports.ledger import BEFORE_COLUMN
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from tests.conftest import jpeg, seed_hazard, seed_photo, seed_school
from tests.test_ledger_export import export


def pictures(db: Database, campaign_id: int, store: PhotoStore) -> list[bytes]:
    """The bytes of every picture embedded in the ledger, in the order of their names."""
    from reports.ledger import write_ledger
    from storage.reporting import ledger_buildings, ledger_rows, read_only

    conn = read_only(db.path)
    try:
        buffer = io.BytesIO()
        write_ledger(
            buffer, ledger_rows(conn, campaign_id), ledger_buildings(conn, campaign_id),
            store.path_of,
        )  # fmt: skip
    finally:
        conn.close()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as z:
        return [z.read(n) for n in sorted(z.namelist()) if n.startswith("xl/media/")]


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every photo a thumbnail is made of (rather than found kept)."""
    calls: list[Path] = []
    real = thumbs.make_thumbnail

    def counting(photo: Path) -> bytes | None:
        calls.append(photo)
        return real(photo)

    monkeypatch.setattr(thumbs, "make_thumbnail", counting)
    return calls


async def test_a_thumbnail_is_made_once_and_the_sheet_shows_its_very_bytes(
    fresh_db: Database, tmp_path: Path, made: list[Path]
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    sha = await seed_photo(fresh_db, store, hazard, s.person_id)
    photo = store.path_of(sha)

    first = pictures(fresh_db, s.campaign_id, store)
    assert made == [photo]
    kept = thumbs.cache_path(photo)
    assert kept.is_file()
    assert first == [kept.read_bytes()] == [thumbs.make_thumbnail(photo)]
    with Image.open(io.BytesIO(first[0])) as picture:
        assert max(picture.size) == thumbs.THUMB_SIDE

    second = pictures(fresh_db, s.campaign_id, store)
    assert made == [photo, photo]  # the direct call above; none by the second export
    assert second == first


async def test_a_photo_file_put_back_newer_gets_a_new_thumbnail(
    fresh_db: Database, tmp_path: Path, made: list[Path]
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    photo = store.path_of(await seed_photo(fresh_db, store, hazard, s.person_id, color="red"))
    red = pictures(fresh_db, s.campaign_id, store)
    kept = thumbs.cache_path(photo)
    # The file under the same name is replaced (restored from elsewhere), and is newer.
    photo.write_bytes(jpeg(color="blue"))
    later = kept.stat().st_mtime_ns + 1_000_000_000
    os.utime(photo, ns=(later, later))

    blue = pictures(fresh_db, s.campaign_id, store)
    assert blue != red
    assert blue == [thumbs.make_thumbnail(photo)] == [kept.read_bytes()]


async def test_a_gone_photo_shows_no_thumbnail_and_its_kept_one_goes(
    fresh_db: Database, tmp_path: Path
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    photo = store.path_of(await seed_photo(fresh_db, store, hazard, s.person_id))
    assert len(pictures(fresh_db, s.campaign_id, store)) == 1
    photo.unlink()

    _, wb = export(fresh_db, s.campaign_id, store)
    assert wb["台账"]._images == []
    assert wb["台账"].cell(row=2, column=BEFORE_COLUMN).value == "1张"  # still counted
    assert not thumbs.cache_path(photo).exists()


@pytest.mark.parametrize("kept_bytes", [b"", b"\xff\xd8\xff\xe0 cut short"])
async def test_a_kept_thumbnail_cut_short_is_made_again(
    fresh_db: Database, tmp_path: Path, made: list[Path], kept_bytes: bytes
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    photo = store.path_of(await seed_photo(fresh_db, store, hazard, s.person_id))
    good = pictures(fresh_db, s.campaign_id, store)
    kept = thumbs.cache_path(photo)
    kept.write_bytes(kept_bytes)  # as a disk that filled up might have left it

    assert pictures(fresh_db, s.campaign_id, store) == good
    assert made == [photo, photo]
    assert kept.read_bytes() == good[0]


async def test_an_unreadable_photo_shows_no_thumbnail_and_keeps_none(
    fresh_db: Database, tmp_path: Path
) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    photo = store.path_of(await seed_photo(fresh_db, store, hazard, s.person_id))
    photo.write_bytes(b"not a picture")

    assert pictures(fresh_db, s.campaign_id, store) == []
    assert not thumbs.cache_path(photo).exists()
