"""Spreadsheet imports against a zip bomb, and what reading a file costs the others.

    .venv/bin/python bench/bench_import.py [--bomb-mb 200] [--rows 5000]

Prints, each as a ratio to an anchor measured in the same run:

- the refusal of a zip bomb (``check_archive``: a workbook whose sheet inflates to
  ``--bomb-mb`` MB from a few hundred KB) against openpyxl reading the same file
  without the check (what the bot did before);
- the longest stall of the event loop (a 1 ms ticker) while the largest roster an
  import takes (``--rows`` rows) is read in a worker thread, against the same read
  done on the event loop itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
import zipfile
from collections.abc import Callable

from openpyxl import Workbook, load_workbook

from reports.imports import HEADERS, BadSpreadsheet, Kind, check_archive, read_rows

SHEET = "xl/worksheets/sheet1.xml"


def workbook(kind: Kind, rows: list[tuple[object, ...]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(HEADERS[kind]))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def bomb(megabytes: int) -> bytes:
    """A real buildings workbook whose sheet is replaced by ``megabytes`` MB of blanks."""
    template = workbook(Kind.BUILDINGS, [("教学楼B", "教学楼", 4, 2005)])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            if part.filename != SHEET:
                target.writestr(part, source.read(part))
                continue
            with target.open(SHEET, "w", force_zip64=True) as stream:
                stream.write(
                    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
                    b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                )
                blank = b" " * (1 << 20)
                for _ in range(megabytes):
                    stream.write(blank)
                stream.write(b"</sheetData></worksheet>")
    return out.getvalue()


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def refuse(data: bytes) -> None:
    try:
        check_archive(data)
    except BadSpreadsheet:
        return
    raise AssertionError("the bomb was not refused")


def read_unchecked(data: bytes) -> None:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in wb.worksheets[0].iter_rows(values_only=True):
        pass
    wb.close()


async def stall(read: Callable[[], object], in_thread: bool) -> float:
    """The longest the event loop went without running, while ``read`` ran."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    if in_thread:
        await asyncio.to_thread(read)
    else:
        read()
    done = True
    await task
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mb", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()

    data = bomb(args.bomb_mb)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inflated = sum(p.file_size for p in archive.infolist())
    print(f"bomb: {len(data) / 1e6:.2f} MB inflating to {inflated / 1e6:.0f} MB")
    anchor = timed(lambda: read_unchecked(data))
    refused = timed(lambda: refuse(data))
    print(f"  openpyxl reading it unchecked (anchor): {anchor:.2f} s")
    print(f"  check_archive refusing it: {refused * 1000:.2f} ms = {refused / anchor:.5f} x anchor")

    row = ("实验小学", "小学", "公办", "城关镇", "张校长", "13800138000")
    roster = workbook(Kind.SCHOOLS, [(f"{row[0]}{i}", *row[1:]) for i in range(args.rows)])
    on_loop = asyncio.run(stall(lambda: read_rows(roster), in_thread=False))
    threaded = asyncio.run(stall(lambda: read_rows(roster), in_thread=True))
    print(f"roster of {args.rows} rows ({len(roster) / 1e3:.0f} KB):")
    print(f"  event loop stalled, read on the loop (anchor): {on_loop * 1000:.0f} ms")
    print(
        f"  event loop stalled, read in a thread: {threaded * 1000:.0f} ms"
        f" = {threaded / on_loop:.2f} x anchor"
    )


if __name__ == "__main__":
    main()
