"""Who takes an action, and how its one transaction is opened.

The chat opens it through the update being handled (the commit marks the update
done in the inbox, ``handlers.base.Ctx.write``); the command line opens a plain
one. Either way a case reads through ``db`` and writes everything, notices
included, inside one ``write()`` (or, a write whose statements need no ``await``
in between, one ``write_at_once``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, TypeVar

from ledger.clock import Clock
from ledger.roles import Person
from storage.db import Database, Reader, Tx, Writes

T = TypeVar("T")


class AtOnce(Protocol):
    """Runs a whole write (a plain function) as one transaction, in one trip to the
    writer's thread (``Database.write_at_once``): the chat's also marks the update done."""

    def __call__(self, work: Callable[[Writes], T]) -> Awaitable[T]: ...


@dataclass(frozen=True)
class Actor:
    db: Database
    person: Person
    clock: Clock
    write: Callable[[], AbstractAsyncContextManager[Tx]]
    # Their Telegram id when acting in chat: what they were typing for ends with the
    # action (``storage.people.clear_pending``); None on the command line.
    user_id: int | None = None
    # How ``write_at_once`` opens the transaction; None: a plain one (the command line).
    at_once: AtOnce | None = None
    # What the case reads through: the database, or the tap's reads made ahead in the
    # guard's trip (``storage.ahead.AheadReader``), served until the update first writes.
    reads: Reader | None = None

    @property
    def reader(self) -> Reader:
        """Where a case reads before it writes."""
        return self.reads if self.reads is not None else self.db

    async def write_at_once(self, work: Callable[[Writes], T]) -> T:
        """The same transaction as ``write``, for a write known whole before it runs (a
        plain function): one trip to the writer's thread, not one per statement."""
        run: AtOnce = self.at_once or self.db.write_at_once
        return await run(work)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().date()


def operator(db: Database, person: Person, clock: Clock) -> Actor:
    """Someone acting from the command line: a plain transaction, no chat to tidy up."""
    return Actor(db=db, person=person, clock=clock, write=db.write)
