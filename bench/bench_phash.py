"""Benchmark: catching reused photos, on generated photos of similar scenes and their edits.

Three measures, each printed with what it is compared to in the same run:

1. Accuracy at the settings' defaults (evidence.match_distance and
   evidence.match_similarity_percent): every photo edited the ways a reused
   photo is (same, resized to half, recompressed at quality 60, 5 % cropped
   from a corner, 5 % cropped from one side) must be caught (>= 99 %); two
   different photos of the same kind of place (two stairwells, two rooms,
   drawn with the same structure and different content: tests/scenes.py)
   must not be (<= 1 % of all such pairs flagged).
2. Cost per photo: the fingerprint (perceptual hash and EXIF) against the
   whole ingest of a 12-megapixel phone photo (PhotoStore.save): <= 10 %.
3. Rank: a pixel check reads files, so only the 16 nearest by hash are checked;
   among hundreds of look-alike stairwells, a cropped copy's original must
   still be among them (each photo keeps the hashes of a few crops of it).
4. Look-up among 50,000 photos on record: the numpy index against a plain
   Python loop over the same hashes.

    .venv/bin/python bench/bench_phash.py            # 40 scenes of each kind
    .venv/bin/python bench/bench_phash.py --scenes 15  # quicker
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from ledger.evidence import EvidenceRules
from storage import fingerprint
from storage.evidence import MAX_CANDIDATES, PhashIndex
from storage.photos import PhotoLimits, PhotoStore
from tests import scenes

RULES = EvidenceRules()


Kept = tuple[list[int], Image.Image]


def stored(store: PhotoStore, image: Image.Image) -> Kept:
    """What the bot keeps of a photo: its hashes (whole picture first, then crops), and
    the detail the pixel check reads."""
    photo = store.save(scenes.jpeg_bytes(image))
    detail = fingerprint.open_detail(str(store.path_of(photo.sha256)))
    assert detail is not None and photo.phash is not None
    return [photo.phash, *photo.crop_hashes], detail


def hash_distance(new: Kept, on_record: Kept) -> int:
    """As the index measures it: the new photo's hash against each of the kept ones."""
    return min(fingerprint.distance(new[0][0], h) for h in on_record[0])


def flagged(new: Kept, on_record: Kept) -> bool:
    """The bot's decision for two photos: a candidate by hash, the same by detail."""
    if hash_distance(new, on_record) > RULES.match_distance:
        return False
    return fingerprint.similarity(new[1], on_record[1]) >= RULES.match_similarity_percent / 100


def accuracy(count: int, folder: Path) -> None:
    store = PhotoStore(folder, PhotoLimits())
    originals = {
        kind: [stored(store, draw(seed)) for seed in range(count)]
        for kind, draw in (("stairwell", scenes.stairwell), ("room", scenes.room))
    }
    print(f"photos: {count} stairwells and {count} rooms, 1600x1200, with sensor noise")
    caught_all, edits_all = 0, 0
    for edit, change in scenes.EDITS.items():
        caught = 0
        for kind, draw in (("stairwell", scenes.stairwell), ("room", scenes.room)):
            for seed in range(count):
                copy = stored(store, change(draw(seed)))
                caught += flagged(copy, originals[kind][seed])
        caught_all += caught
        edits_all += 2 * count
        print(
            f"  near-copies caught, {edit:>18}: {caught}/{2 * count}"
            f" = {100 * caught / (2 * count):.1f} %"
        )
    print(f"near-copies caught: {100 * caught_all / edits_all:.2f} % (target >= 99 %)")
    started = time.perf_counter()
    checks = 0
    for a, b in combinations(originals["stairwell"][:10], 2):
        fingerprint.similarity(a[1], b[1])
        checks += 1
    per_check = (time.perf_counter() - started) / checks
    print(
        f"pixel check: {1000 * per_check:.0f} ms per candidate; at most"
        f" {MAX_CANDIDATES * per_check * 1000:.0f} ms per photo"
    )
    flags, pairs, candidates = 0, 0, 0
    for photos in originals.values():
        for a, b in combinations(photos, 2):
            pairs += 1
            candidates += hash_distance(a, b) <= RULES.match_distance
            flags += flagged(a, b)
    print(
        f"different photos of similar scenes flagged: {flags}/{pairs} = {100 * flags / pairs:.2f} %"
        f" (target <= 1 %); within the hash distance alone: {100 * candidates / pairs:.1f} %"
    )


def crowd(count: int, extra: int) -> None:
    """The cropped copy's original among many look-alike stairwells: its rank by hash."""
    started = time.perf_counter()
    kept = []
    for seed in range(count + extra):
        image = scenes.stairwell(seed, 800, 600)
        whole = fingerprint.perceptual_hash(image)
        assert whole is not None
        kept.append([whole, *fingerprint.crop_hashes(image)])
    worst = 0
    for seed in range(count):
        for edit in ("cropped_5pct", "cropped_5pct_side"):
            probe = fingerprint.perceptual_hash(
                scenes.EDITS[edit](scenes.stairwell(seed, 800, 600))
            )
            assert probe is not None
            distances = [min(fingerprint.distance(probe, h) for h in hashes) for hashes in kept]
            worst = max(worst, sum(1 for d in distances if d < distances[seed]) + 1)
    print(
        f"worst hash rank of a cropped copy's original among {len(kept)} look-alike"
        f" stairwells: {worst} (pixels are checked for the nearest {MAX_CANDIDATES};"
        f" {time.perf_counter() - started:.0f} s)"
    )


def phone_photo(seed: int) -> bytes:
    """A 12-megapixel JPEG as a phone sends it (4000x3000, quality 92)."""
    return scenes.jpeg_bytes(scenes.stairwell(seed, 4000, 3000), quality=92)


def cost(folder: Path, rounds: int) -> None:
    store = PhotoStore(folder, PhotoLimits())
    photos = [phone_photo(100 + n) for n in range(rounds)]
    started = time.perf_counter()
    for data in photos:
        store.save(data)
    ingest = (time.perf_counter() - started) / rounds
    fingerprinting = 0.0
    for data in photos:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            small = image.convert("RGB")
            small.thumbnail((2048, 2048))  # what normalise hands to the hash
            started = time.perf_counter()
            fingerprint.read_exif(image)
            fingerprint.perceptual_hash(small)
            fingerprint.crop_hashes(small)
            fingerprinting += time.perf_counter() - started
    per = fingerprinting / rounds
    print(
        f"ingest of a 12-MP photo (anchor): {1000 * ingest:.0f} ms;"
        f" fingerprint: {1000 * per:.1f} ms"
        f" = {100 * per / ingest:.1f} % of it (target <= 10 %)"
    )


def lookup(size: int, queries: int) -> None:
    rng = random.Random(7)
    per_photo = 1 + len(fingerprint.CROP_VARIANTS)
    hashes = [rng.getrandbits(64) - (1 << 63) for _ in range(size * per_photo)]
    index = PhashIndex()
    index.add([1 + n // per_photo for n in range(len(hashes))], hashes)
    probes = [rng.choice(hashes) for _ in range(queries)]
    started = time.perf_counter()
    for probe in probes:
        index.near(probe, RULES.match_distance)
    numpy_time = (time.perf_counter() - started) / queries
    started = time.perf_counter()
    for probe in probes:
        sorted(
            (d, i)
            for i, h in enumerate(hashes)
            if (d := fingerprint.distance(probe, h)) <= RULES.match_distance
        )
    python_time = (time.perf_counter() - started) / queries
    print(
        f"look-up among {size:,} photos ({per_photo} hashes each): python loop (anchor)"
        f" {1000 * python_time:.1f} ms,"
        f" numpy index {1000 * numpy_time:.2f} ms = {python_time / numpy_time:.0f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=40, help="scenes of each kind (40)")
    parser.add_argument("--photos", type=int, default=50_000, help="photos on record (50,000)")
    parser.add_argument("--crowd", type=int, default=500, help="look-alikes for the rank (500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        accuracy(args.scenes, Path(folder) / "accuracy")
        cost(Path(folder) / "cost", 5)
    crowd(args.scenes, args.crowd)
    lookup(args.photos, 50)


if __name__ == "__main__":
    main()
