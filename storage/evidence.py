"""Photos on record: finding the one a new photo copies, and photos waiting on their sender.

Tens of thousands of photos at city scale: their perceptual hashes are kept
in memory as a numpy array and compared all at once (``PhashIndex``); the
array catches up with rows added since (by any process) before each look-up.
Only the nearest few candidates are then compared on their pixels
(``storage.fingerprint.similarity``), reading the two stored files.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ledger.evidence import EvidenceRules
from ledger.hazards import Photo
from storage import fingerprint
from storage.db import Query, Reader, Row, Tx
from storage.hazards import photo_record
from storage.photos import PhotoStore, StoredPhoto
from storage.workers import PHOTOS, Workers

# Candidates compared on their pixels, nearest hash first: a near-copy is among the
# nearest; a city of similar stairwells must not make a look-up read hundreds of files.
MAX_CANDIDATES = 8


class PhashIndex:
    """Every stored photo's perceptual hashes (of the whole and of a few crops), as one
    array (per process); a photo's distance is the least of its hashes'."""

    def __init__(self) -> None:
        self.ids: Any = np.empty(0, dtype=np.int64)
        self.hashes: Any = np.empty(0, dtype=np.uint64)
        self.last_id = 0

    async def refresh(self, db: Reader) -> None:
        """Take in the photos stored since the last look-up."""
        rows = await db.all(
            "SELECT id, phash, crop_hashes FROM photos WHERE id > ? AND phash IS NOT NULL"
            " ORDER BY id",
            (self.last_id,),
        )
        ids, hashes = [], []
        for r in rows:
            for value in [r["phash"], *json.loads(r["crop_hashes"] or "[]")]:
                ids.append(r["id"])
                hashes.append(value)
        if rows:
            self.add(ids, hashes)

    def add(self, ids: list[int], hashes: list[int]) -> None:
        """Hashes and the photo each belongs to (a photo may have several)."""
        self.ids = np.concatenate([self.ids, np.array(ids, dtype=np.int64)])
        as_unsigned = np.array(hashes, dtype=np.int64).view(np.uint64)
        self.hashes = np.concatenate([self.hashes, as_unsigned])
        self.last_id = max(self.last_id, *ids)

    def near(self, phash: int, max_distance: int) -> list[tuple[int, int]]:
        """(photo id, distance) of the photos within ``max_distance`` bits, nearest first."""
        if not len(self.ids):
            return []
        query = np.array([phash], dtype=np.int64).view(np.uint64)[0]
        distances = np.bitwise_count(self.hashes ^ query)
        hits = np.nonzero(distances <= max_distance)[0]
        order = hits[np.argsort(distances[hits], kind="stable")]
        # A photo's first appearance in distance order is its least distance.
        _, first = np.unique(self.ids[order], return_index=True)
        kept = order[np.sort(first)]
        return [(int(self.ids[i]), int(distances[i])) for i in kept]


@dataclass(frozen=True)
class Match:
    photo_id: int
    hazard_id: int
    kind: str
    sha256: str
    school_id: int
    building: str | None
    similarity: float


async def find_matches(
    db: Reader,
    index: PhashIndex,
    photos: PhotoStore,
    new: StoredPhoto,
    rules: EvidenceRules,
    *,
    skip_fix_id: int | None = None,
    only_other_than_school: int | None = None,
    workers: Workers | None = None,
) -> list[Match]:
    """Photos on record that ``new`` is the same picture as (best first).

    ``skip_fix_id``: the fix report being made (its own photos are no match);
    ``only_other_than_school``: before-photos are checked against other schools only.
    The pixels are compared in ``workers``' photo process (decoding a few photos is
    CPU work the event loop must not wait behind); without, in a thread.
    """
    if new.phash is None:
        return []
    await index.refresh(db)
    near = index.near(new.phash, rules.match_distance)
    if not near:
        return []
    ids = [photo_id for photo_id, _ in near]
    marks = ",".join("?" * len(ids))
    rows = await db.all(
        "SELECT p.id, p.hazard_id, p.kind, p.sha256, p.fix_report_id, h.school_id,"  # noqa: S608
        " b.name AS building FROM photos p JOIN hazards h ON h.id = p.hazard_id"
        f" LEFT JOIN buildings b ON b.id = h.building_id WHERE p.id IN ({marks})",
        ids,
    )
    by_id = {r["id"]: r for r in rows}
    candidates: list[Row] = []
    for photo_id in ids:
        row = by_id.get(photo_id)
        if row is None or (skip_fix_id is not None and row["fix_report_id"] == skip_fix_id):
            continue
        if only_other_than_school is not None and row["school_id"] == only_other_than_school:
            continue
        candidates.append(row)
        if len(candidates) == MAX_CANDIDATES:
            break
    if not candidates:
        return []
    others = [r["sha256"] for r in candidates]
    if workers is None:
        scores = await asyncio.to_thread(_similarities, photos, new.sha256, others)
    else:
        scores = await workers.run(_similarities, photos, new.sha256, others, lane=PHOTOS)
    threshold = rules.match_similarity_percent / 100
    found = [
        Match(r["id"], r["hazard_id"], r["kind"], r["sha256"], r["school_id"], r["building"], s)
        for r, s in zip(candidates, scores, strict=True)
        if s >= threshold
    ]
    return sorted(found, key=lambda m: -m.similarity)


def _similarities(photos: PhotoStore, sha: str, others: list[str]) -> list[float]:
    """Pixel similarity of a stored photo to each of ``others`` (0 when a file is gone)."""
    mine = fingerprint.open_detail(str(photos.path_of(sha)))
    if mine is None:
        return [0.0] * len(others)
    cache: dict[str, float] = {}
    for other in others:
        if other not in cache:
            theirs = fingerprint.open_detail(str(photos.path_of(other)))
            cache[other] = 0.0 if theirs is None else fingerprint.similarity(mine, theirs)
    return [cache[o] for o in others]


# --- a photo waiting for its sender's choice -------------------------------------


@dataclass(frozen=True)
class Suspect:
    hazard_id: int
    fix_report_id: int | None
    kind: str
    photo: StoredPhoto
    file_unique_id: str | None
    matches: int


async def hold(
    tx: Tx,
    tg_user_id: int,
    hazard_id: int,
    fix_report_id: int | None,
    kind: str,
    photo: StoredPhoto,
    file_unique_id: str | None,
    matches: int,
) -> None:
    """Keep a matching photo aside until its sender keeps it or sends another."""
    await tx.run(
        "INSERT INTO suspect_photos (tg_user_id, hazard_id, fix_report_id, kind, photo,"
        " file_unique_id, matches, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tg_user_id) DO UPDATE SET hazard_id = excluded.hazard_id,"
        " fix_report_id = excluded.fix_report_id, kind = excluded.kind,"
        " photo = excluded.photo, file_unique_id = excluded.file_unique_id,"
        " matches = excluded.matches, created_at = excluded.created_at",
        (
            tg_user_id,
            hazard_id,
            fix_report_id,
            kind,
            json.dumps(asdict(photo)),
            file_unique_id,
            matches,
            tx.now(),
        ),
    )


def held_query(tg_user_id: int) -> Query:
    """The statement ``held`` reads (to read ahead with the person)."""
    return ("SELECT * FROM suspect_photos WHERE tg_user_id = ?", (tg_user_id,))


async def held(db: Reader, tg_user_id: int) -> Suspect | None:
    row = await db.one(*held_query(tg_user_id))
    if row is None:
        return None
    return Suspect(
        row["hazard_id"],
        row["fix_report_id"],
        row["kind"],
        StoredPhoto(**json.loads(row["photo"])),
        row["file_unique_id"],
        row["matches"],
    )


async def release(tx: Tx, tg_user_id: int) -> None:
    await tx.run("DELETE FROM suspect_photos WHERE tg_user_id = ?", (tg_user_id,))


@dataclass(frozen=True)
class OnRecord:
    """A photo on record with where it was taken for (what a flag names)."""

    photo: Photo
    school_id: int
    building: str | None


async def photo(db: Reader, photo_id: int) -> OnRecord | None:
    """A photo with its hazard's school and building."""
    row = await db.one(
        "SELECT p.*, h.school_id, b.name AS building FROM photos p"
        " JOIN hazards h ON h.id = p.hazard_id LEFT JOIN buildings b ON b.id = h.building_id"
        " WHERE p.id = ?",
        (photo_id,),
    )
    if row is None:
        return None
    return OnRecord(photo_record(row), row["school_id"], row["building"])


# --- photos stored before fingerprints existed -------------------------------------


async def backfill(db: Reader, write: Any, photos: PhotoStore) -> int:
    """Fingerprint the photos stored before this existed, where their files are present."""
    rows = await db.all("SELECT DISTINCT sha256 FROM photos WHERE phash IS NULL")
    found = await asyncio.to_thread(_fingerprints, photos, [r["sha256"] for r in rows])
    if found:
        async with write() as tx:
            for sha, (phash, crops) in found.items():
                await tx.run(
                    "UPDATE photos SET phash = ?, crop_hashes = ? WHERE sha256 = ?"
                    " AND phash IS NULL",
                    (phash, json.dumps(list(crops)), sha),
                )
    return len(found)


def _fingerprints(photos: PhotoStore, hashes: list[str]) -> dict[str, tuple[int, tuple[int, ...]]]:
    from PIL import Image

    found: dict[str, tuple[int, tuple[int, ...]]] = {}
    for sha in hashes:
        try:
            with Image.open(photos.path_of(sha)) as image:
                rgb = image.convert("RGB")
        except OSError:
            continue  # the file is gone: xiaoan verify reports it
        phash = fingerprint.perceptual_hash(rgb)
        if phash is not None:
            found[sha] = (phash, fingerprint.crop_hashes(rgb))
    return found
