"""Evidence in chat: a photo that copies one on record is held back, flags are shown.

An after-photo that is the same picture as any photo on record (this
hazard's before-photo, another hazard's, another school's), or a before-photo
of a new hazard that matches another school's, is not stored as it is: the
sender is told which hazard it matches and may send another, or tap
"keep it" (``KeepPhoto``) to keep it; then it is stored flagged, and the verifier
sees the flag with both pictures side by side. Another school's hazard is
never named (a school sees only its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.base import Ctx, Services
from handlers.buttons import Tap, button
from ledger.errors import Stale
from ledger.hazards import Hazard, Photo
from storage import evidence, people
from storage.db import Query, Reader
from storage.photos import StoredPhoto
from storage.rectify import facts_queries
from texts import t


async def screen(
    ctx: Ctx,
    hazard: Hazard,
    stored: StoredPhoto,
    file_unique_id: str | None,
    kind: str,
    fix_report_id: int | None = None,
) -> bool:
    """True when the photo may be stored as it is; else it is held and the sender told."""
    matches = await evidence.find_matches(
        ctx.db,
        ctx.services.fingerprints,
        ctx.services.photos,
        stored,
        ctx.services.evidence,
        skip_fix_id=fix_report_id,
        only_other_than_school=hazard.school_id if kind == "before" else None,
        workers=ctx.services.workers,
    )
    if not matches:
        return True
    best = matches[0]
    async with ctx.write() as tx:
        await evidence.hold(
            tx,
            ctx.user_id,
            hazard.id,
            fix_report_id,
            kind,
            stored,
            file_unique_id,
            best.photo_id,
        )
    keep = [[KeepPhoto(hazard.id).labelled(ctx.t("evidence.keep"))]]
    if best.school_id == hazard.school_id:
        text = ctx.t(
            "evidence.matches",
            id=best.hazard_id,
            building=best.building or "?",
            kind=ctx.t(f"evidence.kind.{best.kind}"),
        )
    else:
        text = ctx.t("evidence.matches_other_school")
    await ctx.say(text, keep)
    return False


@button("keep_photo", legacy="ev:k")
@dataclass(frozen=True)
class KeepPhoto(Tap):
    """Keep the photo held back for this hazard anyway, flagged."""

    hazard_id: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        """The photo held, what the person is sending it for, and the hazard's facts."""
        return [
            evidence.held_query(tg_user_id),
            people.pending_query(tg_user_id),
            *facts_queries(self.hazard_id),
        ]

    async def tap(self, ctx: Ctx) -> None:
        held = await evidence.held(ctx.reads, ctx.user_id)
        if held is None or held.hazard_id != self.hazard_id:
            raise Stale()
        if held.kind == "after":
            from handlers import rectify

            await rectify.keep_flagged(ctx, held)
        else:
            from handlers import hazard as questions

            await questions.keep_flagged(ctx, held)


# --- what the verifier and the card show ------------------------------------------


def time_of(moment: str | datetime | None) -> str:
    """A capture time as people read it: date and minutes, as the camera wrote it (its
    own clock, whatever its zone); a moment of ours in the offset it was stored with."""
    if moment is None:
        return "?"
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment[:16].replace("T", " ")


async def flag_lines(
    db: Reader, lang: str, hazard: Hazard, photos: list[Photo], stale_days: int
) -> list[str]:
    """One line per flag on these photos, numbered as the card numbers them."""
    lines: list[str] = []
    counters = {"before": 0, "after": 0}
    no_metadata = 0
    for p in photos:
        counters[p.kind] += 1
        n = counters[p.kind]
        kind = t(lang, f"evidence.kind.{p.kind}")
        if p.reused_of:
            other = await evidence.photo(db, p.reused_of)
            if other is not None and other.school_id == hazard.school_id:
                lines.append(
                    t(
                        lang,
                        "evidence.flag.reused",
                        kind=kind,
                        n=n,
                        id=other.photo.hazard_id,
                        building=other.building or "?",
                        other=t(lang, f"evidence.kind.{other.photo.kind}"),
                    )
                )
            else:
                lines.append(t(lang, "evidence.flag.reused_other_school", kind=kind, n=n))
        if p.time_flag == "before_hazard":
            lines.append(
                t(
                    lang,
                    "evidence.flag.before_hazard",
                    kind=kind,
                    n=n,
                    taken=time_of(p.taken_at),
                    reported=time_of(hazard.reported_at),
                )
            )
        elif p.time_flag == "stale":
            lines.append(
                t(
                    lang,
                    "evidence.flag.stale",
                    kind=kind,
                    n=n,
                    taken=time_of(p.taken_at),
                    days=stale_days,
                )
            )
        if p.kind == "after" and not p.taken_at:
            no_metadata += 1
    if no_metadata:
        lines.append(t(lang, "evidence.flag.no_metadata", count=no_metadata))
    return lines


async def side_by_side(db: Reader, photos: list[Photo]) -> list[str]:
    """The SHA-256 of each flagged photo followed by the photo on record it matches."""
    pairs: list[str] = []
    for p in photos:
        if p.reused_of:
            other = await evidence.photo(db, p.reused_of)
            if other is not None:
                pairs += [p.sha256, other.photo.sha256]
    return pairs


def card_lines(lang: str, photos: list[Photo]) -> list[str]:
    """Each photo's capture time and place, or the "no metadata" mark."""
    lines = [t(lang, "evidence.card.head")]
    counters = {"before": 0, "after": 0}
    for p in photos:
        counters[p.kind] += 1
        kind = t(lang, f"evidence.kind.{p.kind}")
        n = counters[p.kind]
        if p.taken_at:
            gps = (
                t(lang, "evidence.card.gps", lat=p.latitude, lon=p.longitude)
                if p.latitude is not None
                else ""
            )
            lines.append(
                t(
                    lang,
                    "evidence.card.photo",
                    kind=kind,
                    n=n,
                    taken=time_of(p.taken_at),
                    gps=gps,
                )
            )
        else:
            lines.append(
                t(
                    lang,
                    "evidence.card.no_metadata",
                    kind=kind,
                    n=n,
                    mark=t(lang, "evidence.no_metadata_mark"),
                )
            )
    return lines
