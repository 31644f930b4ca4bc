"""Benchmark: the city ledger for 300 schools, 6,000 buildings and 100,000 hazards,
written by each candidate spreadsheet writer side by side, in one run.

1,000 of the hazards have a before photo (a thumbnail is embedded for each).
The data is written first (not timed); each writer then runs in a fresh
process, so its peak memory is its own (the product's adds its helper
process's peak). For each: seconds, peak resident memory, file size, and the
time as a ratio to the anchor (reading the same rows and making their cells
and every thumbnail anew, with no writer) measured in the same run, since the
machines are shared and noisy. The candidates (``bench/ledger_candidates.py``)
include the product's writer as it was before issue 13, so that before and
after are measured in the same run too. The product keeps its thumbnails
(``reports/thumbs.py``): from the second run on they are found, not made;
``--cold`` deletes them before each of its runs.

    .venv/bin/python bench/bench_export.py              # full size
    .venv/bin/python bench/bench_export.py --scale 0.1  # a tenth, to try it
    .venv/bin/python bench/bench_export.py --rounds 3   # each writer 3 times, best kept
    .venv/bin/python bench/bench_export.py --data /tmp/city  # seed once, reuse next time
    .venv/bin/python bench/bench_export.py --only product,before  # some writers (+ anchor)
Target (issue 13): the product's writer under 10 s and under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.clock import FakeClock
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STAMP = NOW.isoformat(timespec="seconds")
WORDS = ["灭火器过期", "疏散通道堵塞", "应急照明损坏", "电线老化", "墙体开裂", "安全出口上锁"]


async def migrate(path: Path) -> None:
    async with Database(path, FakeClock(NOW)):
        pass


def photo(n: int) -> bytes:
    """A distinct 1280×960 picture (as a phone would send, before normalising)."""
    rng = random.Random(n)
    image = Image.new("RGB", (1280, 960), (rng.randrange(256), rng.randrange(256), 90))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(1200), rng.randrange(900)
        draw.rectangle([x, y, x + 80, y + 60], fill=(rng.randrange(256), 40, rng.randrange(256)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def seed(folder: Path, schools: int, buildings: int, hazards: int, photos: int) -> None:
    path = folder / "bench.sqlite3"
    asyncio.run(migrate(path))
    store = PhotoStore(folder / "photos", PhotoLimits())
    rng = random.Random(6)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.execute(
            "INSERT INTO campaigns (id, name, self_inspection_due, rectification_due,"
            " supervision_due, created_at) VALUES (1, 'bench', '2027-03-30', '2027-05-31',"
            " '2027-06-15', ?)",
            (STAMP,),
        )
        conn.execute(
            "INSERT INTO checklist_versions (id, digest, name, loaded_at) VALUES (1, 'b', 'b', ?)",
            (STAMP,),
        )
        conn.executemany(
            "INSERT INTO checklist_items (id, version_id, position, code, category, uses,"
            " text_zh, text_en) VALUES (?, 1, ?, ?, 'fire', '', ?, ?)",
            [(i, i, f"F{i:02d}", f"检查项{i}：消防设施是否完好有效", "item") for i in range(1, 21)],
        )
        conn.executemany(
            "INSERT INTO schools (id, name, kind, ownership, district, created_at)"
            " VALUES (?, ?, 'primary', 'public', '城关镇', ?)",
            [(s, f"乳山市第{s}学校", STAMP) for s in range(1, schools + 1)],
        )
        conn.executemany(
            "INSERT INTO people (id, tg_user_id, chat_id, name, phone, joined_at)"
            " VALUES (?, ?, ?, ?, '13800000000', ?)",
            [(s, 1000 + s, 1000 + s, f"校长{s}", STAMP) for s in range(1, schools + 1)],
        )
        per_school = buildings // schools
        conn.executemany(
            "INSERT INTO buildings (id, school_id, name, use, floors, year_built, created_at)"
            " VALUES (?, ?, ?, 'teaching', 4, 2000, ?)",
            [(b, (b - 1) // per_school + 1, f"教学楼{b}", STAMP) for b in range(1, buildings + 1)],
        )
        conn.executemany(
            "INSERT INTO inspections (campaign_id, building_id, checklist_version_id, walker_id,"
            " started_by, started_at, last_activity_at, closed_at) VALUES (1, ?, 1, ?, ?, ?, ?, ?)",
            [
                (
                    b,
                    (b - 1) // per_school + 1,
                    (b - 1) // per_school + 1,
                    STAMP,
                    STAMP,
                    STAMP if b % 3 else None,
                )
                for b in range(1, buildings + 1)
            ],
        )
        rows = []
        for h in range(1, hazards + 1):
            b = rng.randrange(1, buildings + 1)
            school = (b - 1) // per_school + 1
            fixable = rng.random() < 0.7
            state = rng.choice(["open", "open", "submitted", "closed", "closed", "unfixable"])
            rows.append(
                (
                    h,
                    school,
                    b,
                    rng.randrange(1, 21),
                    school,
                    STAMP,
                    f"{rng.choice(WORDS)}（{h}）",
                    int(fixable),
                    "2027-01-15",
                    school,
                    None if fixable else "加固",
                    int(state == "unfixable"),
                    state,
                    STAMP if state == "closed" else None,
                )
            )
        conn.executemany(
            "INSERT INTO hazards (id, school_id, building_id, campaign_id, item_id, source,"
            " reported_by, reported_at, photos_done, description, fixable_now, deadline,"
            " responsible_id, measures, takes_out_of_use, state, completed_at, closed_at)"
            " VALUES (?, ?, ?, 1, ?, 'walk', ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r[:13], STAMP, r[13]) for r in rows],
        )
        conn.executemany(
            "INSERT INTO fix_reports (hazard_id, reported_by, started_at, state, submitted_at,"
            " decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r[0],
                    r[1],
                    STAMP,
                    "accepted" if r[12] == "closed" else "submitted",
                    STAMP,
                    r[1] if r[12] == "closed" else None,
                    STAMP if r[12] == "closed" else None,
                )
                for r in rows
                if r[12] in ("closed", "submitted")
            ],
        )
        conn.executemany(
            "INSERT INTO deadline_changes (hazard_id, old_deadline, new_deadline, reason,"
            " asked_by, asked_at, state, decided_by, decided_at)"
            " VALUES (?, '2027-01-15', '2027-02-15', '材料未到', ?, ?, 'approved', ?, ?)",
            [(r[0], r[1], STAMP, r[1], STAMP) for r in rows[::20]],
        )
        with_photo = rng.sample(range(1, hazards + 1), photos)
        for n, hazard_id in enumerate(with_photo):
            stored = store.save(photo(n))
            conn.execute(
                "INSERT INTO photos (hazard_id, kind, sha256, width, height, bytes, uploaded_by,"
                " uploaded_at) VALUES (?, 'before', ?, ?, ?, ?, 1, ?)",
                (hazard_id, stored.sha256, stored.width, stored.height, stored.size, STAMP),
            )


PRODUCT = "xlsxwriter constant-memory (the product's)"
ONE_PROCESS = "xlsxwriter, the product's in one process"
SELF, CHILDREN = resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN


def export(folder: Path, writer: str) -> None:
    """The measured part: the city ledger, written as ``reports.files`` writes it."""
    from reports import files

    if writer not in (PRODUCT, ONE_PROCESS):
        from bench.ledger_candidates import WRITERS

        files.write_ledger = WRITERS[writer]  # type: ignore[assignment]
    store = PhotoStore(folder / "photos", PhotoLimits())
    target = folder / "city-ledger.xlsx"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    # As the bot's default pool of two workers runs it: a helper process reads.
    count = files.write_ledger_file(
        folder / "bench.sqlite3", store, 1, None, target, helper=writer == PRODUCT
    )
    seconds = time.perf_counter() - started
    size = target.stat().st_size if target.exists() else 0
    # The writer's peak plus its helper's (a child), if it had one.
    peak = sum(resource.getrusage(who).ru_maxrss for who in (SELF, CHILDREN)) / 1024
    print(f"{seconds} {peak} {size} {count}")


def measure(folder: Path, writer: str) -> tuple[float, float, int, int]:
    """One writer in a fresh process: seconds, peak MB, file bytes, rows."""
    out = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, __file__, "--export-only", str(folder), "--writer", writer],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), int(out[3])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1.0)")
    p.add_argument("--export-only", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=1, help="rounds of every writer; best kept (1)")
    p.add_argument("--writer", default=PRODUCT, help=argparse.SUPPRESS)
    p.add_argument("--cold", action="store_true", help="no kept thumbnails: made in each run")
    p.add_argument(
        "--only", default="", help="measure the writers whose names contain one of these (a,b)"
    )
    p.add_argument(
        "--data", type=Path, metavar="DIR", help="seed into DIR once and reuse it (a temp dir)"
    )
    args = p.parse_args()
    if args.export_only:
        export(args.export_only, args.writer)
        return
    schools = max(1, round(300 * args.scale))
    sizes = (schools, schools * 20, max(1, round(100_000 * args.scale)), round(1_000 * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        # One folder per size under --data: seeding 100,000 hazards takes a minute.
        folder = args.data / "-".join(map(str, sizes)) if args.data else Path(tmp)
        marker = folder / "seeded"
        if not marker.exists():
            started = time.perf_counter()
            if args.data:
                shutil.rmtree(folder, ignore_errors=True)  # a seeding cut short
            folder.mkdir(parents=True, exist_ok=True)
            seed(folder, *sizes)
            marker.touch()
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        print(f"{sizes[0]} schools, {sizes[1]} buildings, {sizes[2]} hazards, {sizes[3]} photos")
        from bench.ledger_candidates import WRITERS

        names = [PRODUCT, ONE_PROCESS, *WRITERS]
        wanted = [w for w in args.only.split(",") if w]
        names = [
            n for n in names if not wanted or n.startswith("anchor") or any(w in n for w in wanted)
        ]
        # Round after round, each writer once a round, the best of the rounds kept: the
        # machines are shared, and a burst of someone else's work lands on one run.
        results: dict[str, tuple[float, float, int, int]] = {}
        for _ in range(args.rounds):
            for name in names:
                if args.cold:
                    shutil.rmtree(folder / "photos" / "thumbs", ignore_errors=True)
                run = measure(folder, name)
                print(f"  {name}: {run[0]:.1f} s, {run[1]:.0f} MB", file=sys.stderr, flush=True)
                if name not in results or run[0] < results[name][0]:
                    results[name] = run
        anchor = results["anchor: read rows, no writer"][0]
        print(f"{'writer':<40} {'seconds':>8} {'x anchor':>9} {'peak MB':>8} {'file MB':>8}")
        for name, (seconds, peak, size, rows) in results.items():
            print(
                f"{name:<40} {seconds:8.1f} {seconds / anchor:9.2f} {peak:8.0f}"
                f" {size / 1e6:8.1f}   ({rows} rows)"
            )
        print("target: the product's writer under 10 s and under 200 MB")


if __name__ == "__main__":
    main()
