"""A hazard reported in full (its last question answered, in a walk or a quick report).

It opens, its building goes out of use when the hazard takes it out, and who
must know is told in the same transaction: the person named responsible for
it (unless they reported it; a school's only manager is warned that the task
force will verify their fix instead) and, when it is major, the principal.
Nobody is told what they did themselves.
"""

from __future__ import annotations

from cases import notify
from cases.rectify import about, day, warn_sole_manager
from ledger.hazards import Hazard
from ledger.rectify import sole_manager
from ledger.roles import Person, Role
from storage import campus, hazards, people
from storage import rectify as store
from storage.db import Tx
from texts import t


async def open_hazard(tx: Tx, hazard: Hazard, person: Person, card: str) -> None:
    """The draft ``hazard`` (as just filled in) opens; ``card`` is the callback data of its
    card's button, which the notices carry."""
    await hazards.complete_hazard(tx, hazard.id, person.id)
    await tell_new_hazard(tx, hazard, person.id, person.name, card)
    if hazard.takes_out_of_use and hazard.building_id is not None:
        await campus.set_out_of_use(tx, hazard.building_id, person.id, hazard.id)


def _render(hazard: Hazard, reporter: str, key: str, warn: bool, card: str) -> notify.Render:
    """The notice ``key`` about the hazard, with the warning for an only manager if ``warn``
    (made to fit one message whatever people typed: ``cases.rectify.about``)."""

    def tail(lang: str) -> list[str]:
        lines = []
        if hazard.major and key == "named.to_responsible":
            lines.append(t(lang, "named.major_line"))
        if hazard.takes_out_of_use:
            lines.append(t(lang, "named.out_of_use_line"))
        if warn:
            lines.append(t(lang, "verify_by_taskforce.warning"))
        return lines

    return about(
        hazard,
        key,
        [[("card.open", card)]],
        tail=tail,
        school=hazard.school_name,
        reporter=reporter,
        responsible=hazard.responsible_name or "-",
        deadline=day(hazard.deadline),
    )


async def tell_new_hazard(
    tx: Tx, hazard: Hazard, reporter_id: int, reporter: str, card: str
) -> None:
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
                hazard,
                reporter,
                "named.to_responsible",
                sole_manager(responsible, managers),
                card,
            ),
        )
    elif responsible is not None:
        await warn_sole_manager(tx, hazard, responsible, card, managers)
    if hazard.major:
        principals = await store.people_with_role(tx, Role.PRINCIPAL, hazard.school_id)
        await notify.tell(
            tx,
            # The responsible person's own notice says it is major already.
            [p for p in principals if p.id != responsible],
            key=f"major:{hid}",
            kind="hazard_major",
            render=_render(hazard, reporter, "named.major_to_principal", False, card),
            skip=reporter_id,
        )
