"""Reads made ahead: a tap's reads known before it runs, read with the person in the
guard's one trip, then served to the code that asks for them as if it read them itself.

``AheadReader`` wraps a reader: a query read ahead (the same statement, the same values) is
answered from what was read; any other goes to the database. What was read ahead holds
until the update's first write: the caller empties ``rows`` then (``handlers.base.Ctx``),
and from there on every query is read afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from storage.db import Query, Reader, Row


class AheadReader(Reader):
    """A reader that answers the queries read ahead from ``rows`` (query → its rows)."""

    def __init__(self, db: Reader, rows: dict[Query, list[Row]]) -> None:
        self.db = db
        self.conn = db.conn
        self.rows = rows

    def _known(self, sql: str, params: Iterable[Any]) -> list[Row] | None:
        return self.rows.get((sql, tuple(params)))

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        params = tuple(params)
        known = self._known(sql, params)
        if known is None:
            return await self.db.one(sql, params)
        return known[0] if known else None

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        params = tuple(params)
        known = self._known(sql, params)
        return list(known) if known is not None else await self.db.all(sql, params)

    async def read_many(self, queries: Sequence[Query]) -> list[list[Row]]:
        """Those read ahead from what was read; the others in one trip."""
        missing = [q for q in queries if self._known(*q) is None]
        fresh = iter(await self.db.read_many(missing) if missing else [])
        return [list(known) if (known := self._known(*q)) is not None else next(fresh)
                for q in queries]  # fmt: skip


def ahead_of(queries: Sequence[Query], found: Sequence[list[Row]]) -> dict[Query, list[Row]]:
    """Queries and the rows read for them, in the same order, as ``AheadReader`` keeps them."""
    return {(sql, tuple(params)): rows for (sql, params), rows in zip(queries, found, strict=True)}
