"""Telling people of a new hazard at once: the person named responsible for it, and
the principal when it is major; and warning a school's only manager that a fix
they report will be verified by the task force.

Written to the outbox in the transaction that opens the hazard (or changes its
responsible person), so a notice is never lost nor sent twice; the handler
wakes the sender after the commit. Nobody is told what they did themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from cases import notify
from cases.rectify import day, title, warn_sole_manager
from handlers.base import Ctx, Keyboard
from handlers.buttons import Tap, button
from handlers.i18n import Html, t
from ledger.hazards import Hazard
from ledger.rectify import sole_manager
from ledger.roles import Role
from storage import people
from storage import rectify as store
from storage.db import Tx


@button("card", legacy="hc")
@dataclass(frozen=True)
class Card(Tap):
    """A hazard's card, from a list or a notice."""

    reads_only = True
    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        # Deferred: the card's module imports the rectify buttons, which make cards.
        from handlers.tasks import show_card

        await show_card(ctx, self.hazard_id)


def _render(hazard: Hazard, reporter: str, key: str, warn: bool) -> notify.Render:
    """The notice ``key`` about the hazard, with the warning for an only manager if ``warn``."""

    def render(lang: str) -> tuple[str, Keyboard]:
        lines = [
            t(
                lang,
                key,
                title=Html(title(lang, hazard)),
                school=hazard.school_name,
                reporter=reporter,
                responsible=hazard.responsible_name or "-",
                deadline=day(hazard.deadline),
            )
        ]
        if hazard.major and key == "named.to_responsible":
            lines.append(t(lang, "named.major_line"))
        if hazard.takes_out_of_use:
            lines.append(t(lang, "named.out_of_use_line"))
        if warn:
            lines.append(t(lang, "verify_by_taskforce.warning"))
        return "\n".join(lines), [[(t(lang, "card.open"), Card(hazard.id).pack())]]

    return render


async def tell_new_hazard(tx: Tx, hazard: Hazard, reporter_id: int, reporter: str) -> None:
    """A hazard just opened: its responsible person (unless the reporter) and, when it
    is major, the school's principal are told, each in their own language."""
    hid = hazard.id
    managers = await store.managers(tx, hazard.school_id)
    responsible = hazard.responsible_id
    if responsible is not None and responsible != reporter_id:
        await notify.tell(
            tx,
            await people.by_ids(tx, responsible),
            key=f"named:{hid}",
            kind="hazard_named",
            render=_render(
                hazard, reporter, "named.to_responsible", sole_manager(responsible, managers)
            ),
        )
    elif responsible is not None:
        await warn_sole_manager(tx, hazard, responsible, Card(hid).pack(), managers)
    if hazard.major:
        principals = await store.people_with_role(tx, Role.PRINCIPAL, hazard.school_id)
        await notify.tell(
            tx,
            # The responsible person's own notice says it is major already.
            [p for p in principals if p.id != responsible],
            key=f"major:{hid}",
            kind="hazard_major",
            render=_render(hazard, reporter, "named.major_to_principal", False),
            skip=reporter_id,
        )
