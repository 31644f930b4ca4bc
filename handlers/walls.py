"""On the walls: a building's QR code, scanned, opens that building's walk.

The code is a deep link ``/start w_<building>``; only a member of the
building's school gets anything: to anyone else the code is unknown. When the
building's walk is already closed, the next photo is a quick report for that
building (the scan is recorded: the person stood there).
"""

from __future__ import annotations

from handlers import inspect, supervise
from handlers.base import Ctx
from handlers.hazard import Camera, camera_row
from handlers.journeys import begin
from handlers.quick import Scanned
from ledger.errors import AlreadyClosed
from ledger.roles import can_walk
from ledger.supervision import is_supervisor
from reports.qr import PAYLOAD_PREFIX, parse_payload
from storage import campus


def is_building_code(payload: str) -> bool:
    """A ``w_`` payload is a building's code (invitation codes never hold ``_``)."""
    return payload.startswith(PAYLOAD_PREFIX)


async def scanned(ctx: Ctx, payload: str) -> None:
    """Open the building's walk (or say it is closed and a photo reports a hazard)."""
    person = ctx.member()
    building_id = parse_payload(payload)
    building = None if building_id is None else await campus.building_by_id(ctx.db, building_id)
    supervising = building is not None and not can_walk(person, building.school_id)
    if supervising and is_supervisor(person):  # on site for a visit: its supervision walk
        assert building is not None
        await supervise.scanned(ctx, building.id)
        return
    if building is None or not can_walk(person, building.school_id):
        # Another school's building is answered as an unknown one: a stranger must not
        # learn which ids exist.
        await ctx.reply("walls.unknown")
        return
    try:
        await inspect.open_walk(ctx, building.id)
    except AlreadyClosed:
        # The next photo is a quick report for this very building: no need to ask which.
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, Scanned(building.id))
            await tx.event(person.id, "building.scanned", "building", building.id)
        await ctx.reply(
            "walls.closed",
            [camera_row(ctx, Camera("w", building.id))],
            building=building.name,
        )
