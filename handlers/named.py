"""A hazard's card button, which the notices about a hazard carry (who is told of a new
hazard is ``cases.hazards``; of a change of responsible person, ``cases.rectify``)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.base import Ctx
from handlers.buttons import Tap, button
from storage.db import Query
from storage.rectify import card_queries


@button("card", legacy="hc")
@dataclass(frozen=True)
class Card(Tap):
    """A hazard's card, from a list or a notice."""

    reads_only = True
    hazard_id: int

    def first_reads(self) -> list[Query]:
        return card_queries(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        # Deferred: the card's module imports the rectify buttons, which make cards.
        from handlers.tasks import show_card

        await show_card(ctx, self.hazard_id)
