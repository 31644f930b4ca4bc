"""A getUpdates answer sorted before python-telegram-bot reads it: a bad update skipped alone.

python-telegram-bot parses a whole batch at once (``Update.de_list``); one
update it cannot parse fails the batch, and polling retries the same batch
with a growing back-off, forever. Here each update is tried alone:

- a sound update passes;
- one with an ``update_id`` but a body that does not parse is replaced by
  the bare ``{"update_id": n}``, so polling confirms it and moves on (its
  raw form is kept in the inbox, marked done with the reason);
- one without a usable ``update_id`` cannot be confirmed: it is left out
  (Telegram never sends one; the local chat once could, half-written, and
  the next poll then brought it whole).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

log = logging.getLogger(__name__)


@dataclass
class Sorted:
    """A batch after sorting: what polling sees, and what was wrong."""

    passed: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (raw, why)
    unconfirmable: int = 0

    @property
    def for_polling(self) -> list[dict[str, Any]]:
        """Sound updates, and a bare stand-in for each malformed one (so it is confirmed)."""
        bare = [{"update_id": raw["update_id"]} for raw, _ in self.malformed]
        return sorted(self.passed + bare, key=lambda u: int(u["update_id"]))


def sort_batch(result: Any) -> Sorted:
    """Try each update of a getUpdates result alone."""
    batch = Sorted()
    for raw in result if isinstance(result, list) else []:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            batch.unconfirmable += 1
            continue
        try:
            Update.de_json(raw, None)
        except Exception as error:  # any parse failure: this update's alone
            batch.malformed.append((raw, f"malformed update skipped: {type(error).__name__}"))
            continue
        batch.passed.append(raw)
    return batch


def rewrite(body: dict[str, Any], batch: Sorted) -> bytes:
    """The getUpdates answer as polling should read it."""
    return json.dumps({**body, "result": batch.for_polling}, ensure_ascii=False).encode()
