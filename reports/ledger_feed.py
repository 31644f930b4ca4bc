"""A city ledger read and prepared in a second process while the first one writes.

Half of a city export is reading: the ledger query, a ``LedgerRow`` per
hazard, its cells made safe, its thumbnails looked up (``reports.ledger.
prepare``); the other half is writing the sheet. With two processes the two
halves overlap (``bench/bench_export.py``): a helper process reads and
prepares, and sends the hazards over a pipe in batches, in order, while the
worker writes them. Below ``PARALLEL_FROM`` hazards starting a process costs
more than it saves, and on a machine with no processor to spare the two would
only take turns: then the worker does both.

The helper is the worker's child and stops with it: it is killed when the
writing stops for any reason, and it stops by itself when the worker dies
(its next send finds the pipe closed). If the helper dies, the export fails
with ``WorkerCrashed`` and, as for any failed export, leaves no file.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from reports.ledger import Prepared, prepare
from reports.thumbs import Thumbnails
from storage.photos import PhotoStore
from storage.reporting import ledger_rows, read_only
from storage.workers import WorkerCrashed

PARALLEL_FROM = 50_000  # hazards; below, starting a process and pickling cost more (bench)
BATCH_ROWS = 500  # hazards a send: few enough sends, and little held at once
_DONE = "done"
_FAILED = "failed"


def core_to_spare() -> bool:
    """Whether a processor is idle enough for the helper: on a machine already busy (the
    load average at or above the processors less one) two processes only take turns,
    and the pickling between them is work added (bench/bench_export.py measured it)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return False
    return load < (os.cpu_count() or 1) - 1


def _feed(
    out: Connection,
    db_path: Path,
    photos: PhotoStore,
    campaign_id: int,
    school_id: int | None,
    batch_rows: int,
) -> None:
    """In the helper: every hazard of the ledger, prepared, in batches down ``out``."""
    try:
        conn = read_only(db_path)
        try:
            thumbnails = Thumbnails(photos.path_of)
            batch: list[Prepared] = []
            for row in ledger_rows(conn, campaign_id, school_id):
                batch.append(prepare(row, thumbnails))
                if len(batch) == batch_rows:
                    out.send(batch)
                    batch = []
            out.send(batch)
            out.send(_DONE)
        finally:
            conn.close()
    except (BrokenPipeError, EOFError):
        return  # the writer is gone: nobody to tell
    except Exception:
        out.send((_FAILED, traceback.format_exc()))
    finally:
        out.close()


def prepared_in_helper(
    db_path: Path,
    photos: PhotoStore,
    campaign_id: int,
    school_id: int | None,
    batch_rows: int = BATCH_ROWS,
    started: Callable[[BaseProcess], None] = lambda helper: None,
) -> Iterator[Prepared]:
    """The ledger's hazards, read and prepared by a helper process, in the ledger's order.

    ``started`` is shown the helper once it runs (the tests kill it there)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    receiving, sending = context.Pipe(duplex=False)
    helper = context.Process(
        target=_feed,
        args=(sending, db_path, photos, campaign_id, school_id, batch_rows),
        name="ledger-reader",
        daemon=True,
    )
    helper.start()
    sending.close()  # the helper holds the sending end: when it dies, receiving sees EOF
    started(helper)
    try:
        while True:
            try:
                message = receiving.recv()
            except (EOFError, OSError) as exc:
                raise WorkerCrashed() from exc
            if message == _DONE:
                return
            if isinstance(message, tuple):
                raise RuntimeError(f"the ledger reader failed:\n{message[1]}")
            yield from message
    finally:
        receiving.close()
        if helper.is_alive():
            helper.kill()
        helper.join(timeout=5)
        with contextlib.suppress(ValueError):
            helper.close()
