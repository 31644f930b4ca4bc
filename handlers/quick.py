"""Quick report (随手拍): a photo sent outside a walk becomes a hazard.

The bot asks which building (unless the person just scanned its QR code),
then the same hazard questions as in a walk.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Document, PhotoSize

from cases import quick
from handlers import evidence, inspect
from handlers import hazard as hazard_questions
from handlers.base import Ctx
from handlers.journeys import Journey, begin, journey
from storage import campus, hazards
from storage.db import Row, Tx


async def start(ctx: Ctx, photo: PhotoSize | Document, building: Row | None = None) -> None:
    """Keep the photo on a new draft hazard and ask which building (unless scanned there)."""
    if not await quick.anything_to_report_in(ctx.db, ctx.member(), building):
        await ctx.reply("quick.no_buildings")
        return
    stored = await hazard_questions.fetch_photo(ctx, photo)

    async def waiting(tx: Tx, hazard_id: int) -> None:
        await begin(tx, ctx.user_id, QuickReport(hazard_id))

    hazard = await quick.open_quick_report(ctx.actor(), ctx.services.campaign_id, building, waiting)
    await ctx.reply("quick.started")
    # A photo matching another school's waits for its sender's choice (handlers.evidence).
    if await evidence.screen(ctx, hazard, stored, photo.file_unique_id, "before"):
        await hazard_questions.store_before(ctx, hazard, stored, photo.file_unique_id, None)
    fresh = await hazards.hazard(ctx.db, hazard.id)
    assert fresh is not None
    await hazard_questions.ask(ctx, fresh)


async def start_scanned(ctx: Ctx, photo: PhotoSize | Document, building_id: int) -> None:
    """A photo after scanning a closed building's code: a quick report for it."""
    await start(ctx, photo, await campus.building(ctx.db, building_id))


@journey("quick")
@dataclass(frozen=True)
class QuickReport(Journey):
    """A quick report under way: its hazard's questions, typed or sent as photos.
    ``/cancel`` withdraws the draft hazard."""

    cancelled = "cancel.quick"
    hazard_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        draft = await hazards.hazard(ctx.db, self.hazard_id)
        if not await inspect.draft_text(ctx, draft, text, None):
            await super().text(ctx, text)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        draft = await hazards.hazard(ctx.db, self.hazard_id)
        if not await inspect.draft_photo(ctx, draft, picture):
            await super().photo(ctx, picture)

    async def again(self, ctx: Ctx) -> None:
        draft = await hazards.hazard(ctx.db, self.hazard_id)
        if draft is not None and draft.state == "draft":
            await hazard_questions.ask(ctx, draft)

    async def cancel(self, ctx: Ctx, tx: Tx) -> None:
        await hazards.withdraw_hazard(tx, self.hazard_id, ctx.member().id)


@journey("scanned")
@dataclass(frozen=True)
class Scanned(Journey):
    """A closed building's QR code scanned: its photo starts a quick report there."""

    checks_shown = False  # no question: whatever is typed, the camera is offered again
    building_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        await self.again(ctx)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        await start_scanned(ctx, picture, self.building_id)

    async def again(self, ctx: Ctx) -> None:
        camera = hazard_questions.Camera("w", self.building_id)
        await ctx.reply("walls.send_photo", [hazard_questions.camera_row(ctx, camera)])
