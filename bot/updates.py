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

Each update is parsed once. The check above is python-telegram-bot's own
parse, made with the bot: polling then reads bare stand-ins (only the
``update_id``) and ``PollingBot`` swaps in the updates parsed here
(``Arrivals``). Parsing an update with its question message and keyboard was
a fifth of the bot's work under load, half of it spent parsing twice
(bench_load's profile).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


@dataclass
class Sorted:
    """A batch after sorting: what polling sees, and what was wrong."""

    passed: list[dict[str, Any]] = field(default_factory=list)
    parsed: list[Update] = field(default_factory=list)  # the passed ones, parsed
    malformed: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (raw, why)
    unconfirmable: int = 0

    @property
    def for_polling(self) -> list[dict[str, Any]]:
        """A bare stand-in for every update with an ``update_id``, in order: so that each is
        confirmed, and polling parses nothing but the ids (``Arrivals`` holds the rest)."""
        ids = [raw["update_id"] for raw in self.passed]
        ids += [raw["update_id"] for raw, _ in self.malformed]
        return [{"update_id": update_id} for update_id in sorted(ids)]


def sort_batch(result: Any, bot: Bot | None) -> Sorted:
    """Try each update of a getUpdates result alone, parsing it for ``bot``."""
    batch = Sorted()
    for raw in result if isinstance(result, list) else []:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            batch.unconfirmable += 1
            continue
        try:
            update = Update.de_json(raw, bot)
        except Exception as error:  # any parse failure: this update's alone
            batch.malformed.append((raw, f"malformed update skipped: {type(error).__name__}"))
            continue
        batch.passed.append(raw)
        batch.parsed.append(update)
    return batch


def rewrite(body: dict[str, Any], batch: Sorted) -> bytes:
    """The getUpdates answer as polling should read it: the stand-ins."""
    return json.dumps({**body, "result": batch.for_polling}, ensure_ascii=False).encode()


class Arrivals:
    """The updates of the last getUpdates answer, parsed by its check, until polling takes
    them. A batch polling never took (its call failed after the answer came) is replaced
    by the next answer, which brings those updates again: they were not confirmed."""

    def __init__(self) -> None:
        self._parsed: dict[int, Update] = {}

    def hand(self, parsed: list[Update]) -> None:
        """Keep a new answer's parsed updates (and drop what an earlier one left)."""
        self._parsed = {update.update_id: update for update in parsed}

    def take(self, bare: Update) -> Update:
        """The update parsed for this stand-in; a malformed one's stand-in stays bare."""
        return self._parsed.pop(bare.update_id, bare)


class PollingBot(ExtBot[Any]):
    """python-telegram-bot's bot, whose polling takes the updates the inbox parsed
    (``Arrivals``) in place of the stand-ins it read."""

    def __init__(self, *args: Any, arrivals: Arrivals | None = None, **kwargs: Any) -> None:
        self._arrivals = arrivals  # before the bot freezes its attributes
        super().__init__(*args, **kwargs)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """The updates of one poll, each parsed once."""
        updates = await super().get_updates(*args, **kwargs)
        if self._arrivals is None:
            return updates
        return tuple(self._arrivals.take(update) for update in updates)
