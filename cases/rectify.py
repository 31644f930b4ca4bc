"""Rectifying (整改) as actions: report a fix, verify or return it, ask for a later deadline
and decide it, mark a hazard as unfixable, give it to another colleague.

Each action checks ``ledger.rectify``'s rules, then writes the change, its
events and the notices it causes in one transaction (the sender is woken by
the commit). The rules are checked again when the second half of an action
arrives (the note after the photos, the reason after the date), since the
hazard may have moved on meanwhile. Refusals are ``ledger.errors``.

The notices' words are here; their buttons are the chat's, packed by the
handlers and handed in as ``Links``. What the chat waits for next (a journey
state) is written by the caller's ``waiting`` inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from cases import notify
from cases.actor import Actor
from ledger.buildings import NAME_MAX, TEXT_MAX, clean_text
from ledger.dates import parse_date
from ledger.errors import NeedPhoto, NotAllowed, Stale
from ledger.evidence import EvidenceRules, after_photo_flag
from ledger.hazards import Hazard, Photo
from ledger.rectify import (
    Action,
    DeadlineChange,
    Facts,
    FixState,
    check_extension,
    entitled,
    may_see,
    sole_manager,
    taskforce_verifies,
    transition,
    verifiers,
)
from ledger.roles import Contact, Person, Role
from storage import evidence as evidence_store
from storage import hazards, people
from storage import rectify as store
from storage.db import Reader, Tx
from storage.photos import StoredPhoto
from telegram_rules.fit import clip
from texts import DEFAULT, Html, t

ALBUM_MAX = 10  # Telegram's limit for the pictures of one album
# UTF-16 units of a name, and of a description, where a message names a hazard: twice
# the characters a typed one holds (an emoji is two units), so never less than typed.
HEAD_NAME = 2 * NAME_MAX
HEAD_DESCRIPTION = 2 * TEXT_MAX
Waiting = Callable[[Tx], Awaitable[None]]


class Links(Protocol):
    """The buttons a notice carries, as the chat packs them (``handlers.rectify``)."""

    def card(self, hazard_id: int) -> str: ...
    def report_fix(self, hazard_id: int) -> str: ...
    def verify(self, hazard_id: int, fix_id: int) -> str: ...
    def return_fix(self, hazard_id: int, fix_id: int) -> str: ...
    def decide(self, hazard_id: int, change_id: int, approve: bool) -> str: ...


# The flags a verifier sees on after-photos, by language, and the pictures paired with
# the ones on record they copy (``handlers.evidence``): read for a fix being submitted.
Evidence = Callable[[Hazard, list[Photo]], Awaitable[tuple[list[str], dict[str, list[str]]]]]


def day(value: date | None) -> str:
    """A deadline in a notice: ISO, or a dash without one."""
    return value.isoformat() if value is not None else "-"


def heading(lang: str, hazard_id: int, building: str | None, description: str | None) -> str:
    """``#12【教学楼A】`` and the description, as every message names a hazard: whatever
    is stored, at most ``HEAD_NAME`` and ``HEAD_DESCRIPTION`` units of them (more than
    a typed name or description can hold), so a question naming it fits a message."""
    return t(
        lang,
        "rectify.title",
        id=hazard_id,
        building=clip(building or "?", HEAD_NAME),
        description=clip(description or "", HEAD_DESCRIPTION),
    )


def title(lang: str, hazard: Hazard) -> str:
    """The hazard as every message names it (``heading``)."""
    return heading(lang, hazard.id, hazard.building_name, hazard.description)


def about(
    hazard: Hazard,
    key: str,
    buttons: notify.Keyboard = (),
    *,
    head: Callable[[str], str] | None = None,
    tail: Callable[[str], list[str]] | None = None,
    **values: Any,
) -> notify.Render:
    """A notice about a hazard: the text ``key`` with the hazard's title, and buttons
    given as (text key, callback data), all in the recipient's language. ``head``: a
    line above it, ``tail``: lines under it. What people typed (the description, the
    building's name, the names and reasons in ``values``) is cut to fit one message."""

    def render(lang: str) -> tuple[str, notify.Keyboard]:
        def compose(typed: dict[str, str]) -> str:
            named = heading(lang, hazard.id, typed.pop("@building"), typed.pop("@description"))
            text = t(lang, key, title=Html(named), **{**values, **typed})
            lines = [head(lang)] if head else []
            return "\n".join([*lines, text, *(tail(lang) if tail else [])])

        typed = notify.typed_values(values)
        typed["@building"] = hazard.building_name or "?"
        typed["@description"] = hazard.description or ""
        text = notify.fitted(compose, typed)
        return text, [[(t(lang, label), data) for label, data in row] for row in buttons]

    return render


# --- whose hazard, whose action ---------------------------------------------------


async def load(db: Reader, person: Person, hazard_id: int) -> tuple[Hazard, Facts]:
    """The hazard and its facts; refused when it does not exist or is not theirs to see."""
    found = await store.facts(db, hazard_id)
    if found is None or not may_see(person, found[1]):
        raise NotAllowed()
    return found


async def entitled_to(
    db: Reader, person: Person, hazard_id: int, action: Action
) -> tuple[Hazard, Facts]:
    """The hazard a button names; someone else's action is refused as such, before any
    "already answered"."""
    hazard, facts = await load(db, person, hazard_id)
    if not entitled(person, action, facts):
        raise NotAllowed()
    return hazard, facts


async def acting(
    db: Reader, person: Person, hazard_id: int, action: Action
) -> tuple[Hazard, Facts]:
    """The hazard, with this person allowed to take this action on it now."""
    hazard, facts = await entitled_to(db, person, hazard_id, action)
    transition(person, action, facts)
    return hazard, facts


async def _end_waiting(tx: Tx, actor: Actor) -> None:
    """What the person was typing for ends with the action."""
    if actor.user_id is not None:
        await people.clear_pending(tx, actor.user_id)


async def second_signers(tx: Tx, author_id: int, facts: Facts) -> list[Contact]:
    """Who verifies a fix, or decides a request, by ``author_id``: the school's principal
    and leaders but the author (``ledger.rectify.verifiers``); the task force when none."""
    if taskforce_verifies(author_id, facts.managers):
        return await store.people_with_role(tx, Role.TASKFORCE)
    return await people.by_ids(tx, *sorted(verifiers(author_id, facts.managers)))


def _to_taskforce(hazard: Hazard, why_key: str) -> Callable[[str], str]:
    """The line heading a notice for the verifiers when it goes to the task force: why."""
    return lambda lang: t(lang, why_key, school=clip(hazard.school_name, HEAD_NAME))


# --- reporting a fix ----------------------------------------------------------------


@dataclass(frozen=True)
class FixStarted:
    hazard: Hazard
    fix_id: int
    replaced: str | None  # whose unfinished report this one replaced (their name)


async def start_fix(
    actor: Actor, hazard_id: int, links: Links, waiting: Callable[[Tx, int], Awaitable[None]]
) -> FixStarted:
    """The responsible person (or a manager) starts a fix report: after-photos first.
    Somebody else's unfinished report is dropped, and they are told."""
    person = actor.person
    hazard, facts = await entitled_to(actor.reader, person, hazard_id, Action.FIX)
    transition(person, Action.FIX, facts)
    replaced = None
    async with actor.write() as tx:
        fix_id, dropped = await store.start_fix(tx, hazard.id, person.id)
        await waiting(tx, fix_id)
        if dropped is not None:
            other = await people.by_ids(tx, dropped.reported_by)
            replaced = other[0].name if other else "?"
            # Their draft is gone: their next message must not feed it, and they are told.
            await people.drop_pending(tx, dropped.reported_by, "fix", "fix_id", dropped.id)
            await notify.tell(
                tx,
                other,
                key=f"fix_dropped:{dropped.id}",
                kind="fix_dropped",
                render=about(
                    hazard,
                    "fix_dropped.notice",
                    [[("card.open", links.card(hazard.id))]],
                    name=person.name,
                ),
            )
    return FixStarted(hazard, fix_id, replaced)


async def fix_in_making(db: Reader, fix_id: int) -> bool:
    """Whether this fix report is still being made (not replaced by someone else's)."""
    report = await store.fix_report(db, fix_id)
    return report is not None and report.state is FixState.DRAFT


async def add_after_photo(
    actor: Actor,
    hazard_id: int,
    fix_id: int,
    photo: StoredPhoto,
    file_unique_id: str | None,
    rules: EvidenceRules,
    reused_of: int | None = None,
    then: Waiting | None = None,
) -> bool:
    """An after-photo of the fix, flagged by what its capture time says (``ledger.evidence``);
    False when the same picture was attached already."""
    hazard, facts = await load(actor.reader, actor.person, hazard_id)
    transition(actor.person, Action.FIX, facts)
    flag = after_photo_flag(photo.taken_at, hazard.reported_at, actor.now(), rules, actor.clock.tz)
    async with actor.write() as tx:
        added = await hazards.add_photo(
            tx,
            hazard.id,
            photo,
            actor.person.id,
            file_unique_id,
            kind="after",
            fix_report_id=fix_id,
            reused_of=reused_of,
            time_flag=flag,
        )
        if actor.user_id is not None:
            await evidence_store.release(tx, actor.user_id)
        if then is not None:  # the caller's own, in the same transaction
            await then(tx)
    return added


async def fix_photos_done(actor: Actor, hazard_id: int, fix_id: int, waiting: Waiting) -> None:
    """``照片已发完``: at least one after-photo, then the note is asked (``waiting``)."""
    hazard, _ = await load(actor.reader, actor.person, hazard_id)
    fix = await store.fix_report(actor.reader, fix_id)
    if fix is None or fix.hazard_id != hazard.id or fix.reported_by != actor.person.id:
        raise NotAllowed()
    if not await store.after_photos(actor.reader, fix_id):
        raise NeedPhoto()
    async with actor.write() as tx:
        await waiting(tx)


@dataclass(frozen=True)
class FixSubmitted:
    hazard: Hazard
    by_taskforce: bool  # nobody at the school may verify it: the task force was asked


async def submit_fix(
    actor: Actor, hazard_id: int, fix_id: int, text: str, links: Links, evidence: Evidence
) -> FixSubmitted:
    """The note: the fix is reported (the responsible person's signature); the verifiers
    get the photos before and after, side by side, with what is suspect about them."""
    person = actor.person
    hazard, facts = await load(actor.reader, person, hazard_id)
    transition(person, Action.FIX, facts)
    note = clean_text(text, TEXT_MAX)
    after = await store.after_photos(actor.reader, fix_id)
    if not after:
        raise NeedPhoto()
    before = [p for p in await hazards.photos_of(actor.reader, hazard.id) if p.kind == "before"]
    # The album: a flagged photo beside the one on record it copies, then before and
    # after side by side, at most five of each; ten in all (Telegram's limit).
    pairs, flags = await evidence(hazard, after)
    plain = [p.sha256 for p in before[:5]] + [p.sha256 for p in after[:5]]
    album = list(dict.fromkeys(pairs + plain))[:ALBUM_MAX]
    by_taskforce = taskforce_verifies(person.id, facts.managers)
    render = about(
        hazard,
        "fix.to_verifier",
        [
            [
                ("fix.verify", links.verify(hazard.id, fix_id)),
                ("fix.return", links.return_fix(hazard.id, fix_id)),
            ],
            [("card.open", links.card(hazard.id))],
        ],
        # Nobody at the school may verify: the task force is asked, and told why.
        head=_to_taskforce(hazard, "verify_by_taskforce.to_taskforce") if by_taskforce else None,
        tail=lambda lang: flags[lang] if lang in flags else flags.get(DEFAULT, []),
        fixer=person.name,
        note=note,
        before=len(before),
        after=len(after),
    )
    async with actor.write() as tx:
        await store.submit_fix(tx, hazard.id, fix_id, person.id, note)
        await _end_waiting(tx, actor)
        await notify.tell(
            tx,
            await second_signers(tx, person.id, facts),
            key=f"fix:{fix_id}",
            kind="fix_submitted",
            render=render,
            photos=album,
            skip=person.id,
        )
    return FixSubmitted(hazard, by_taskforce)


async def drop_fix(tx: Tx, fix_id: int, person: Person) -> None:
    """A fix report its reporter cancelled before sending it (inside their cancel)."""
    await store.drop_fix(tx, fix_id, person.id)


# --- verifying ----------------------------------------------------------------------


async def deciding_fix(
    actor: Actor, hazard_id: int, fix_id: int, action: Action
) -> tuple[Hazard, Facts]:
    """The fix a verify or return button names, which this person may decide now."""
    hazard, facts = await entitled_to(actor.reader, actor.person, hazard_id, action)
    fix = await store.fix_report(actor.reader, fix_id)
    if fix is None or fix.hazard_id != hazard.id:
        raise NotAllowed()
    if facts.fix_id != fix_id:
        raise Stale()
    transition(actor.person, action, facts)
    return hazard, facts


async def verify(actor: Actor, hazard_id: int, fix_id: int) -> Hazard:
    """The verifier's signature: closed (销号); the fixer and the responsible person are
    told, and the principal and the task force when the building or school is done."""
    person = actor.person
    hazard, facts = await deciding_fix(actor, hazard_id, fix_id, Action.VERIFY)
    async with actor.write() as tx:
        await store.verify(tx, hazard.id, fix_id, person.id)
        await notify.tell(
            tx,
            await people.by_ids(tx, facts.fix_reporter_id, hazard.responsible_id),
            key=f"verified:{fix_id}",
            kind="fix_verified",
            render=about(hazard, "fix.verified_notice", verifier=person.name),
            skip=person.id,
        )
        await _report_up(tx, hazard)
    return hazard


@dataclass(frozen=True)
class FixReturned:
    hazard: Hazard
    fixer: str  # who reported the fix now returned


async def return_fix(
    actor: Actor, hazard_id: int, fix_id: int, text: str, links: Links
) -> FixReturned:
    """The reason: the fix goes back to the responsible person as a task again."""
    person = actor.person
    hazard, facts = await load(actor.reader, person, hazard_id)
    if facts.fix_id != fix_id:
        raise Stale()
    transition(person, Action.RETURN, facts)
    fixer_id = facts.fix_reporter_id
    reason = clean_text(text, TEXT_MAX)
    hid = hazard.id
    async with actor.write() as tx:
        await store.return_fix(tx, hid, fix_id, person.id, reason)
        await _end_waiting(tx, actor)
        await notify.tell(
            tx,
            await people.by_ids(tx, hazard.responsible_id, fixer_id),
            key=f"returned:{fix_id}",
            kind="fix_returned",
            render=about(
                hazard,
                "fix.returned_notice",
                [[("fix.report", links.report_fix(hid)), ("card.open", links.card(hid))]],
                verifier=person.name,
                reason=reason,
            ),
            skip=person.id,
        )
        fixer = await people.by_ids(tx, fixer_id)
    return FixReturned(hazard, fixer[0].name if fixer else "?")


async def _report_up(tx: Tx, hazard: Hazard) -> None:
    """整改一栋上报一栋, 销号清零: the principal and the task force are told."""
    if hazard.building_id is None or await hazards.pending_in_building(tx, hazard.building_id):
        return
    told = [
        *await store.people_with_role(tx, Role.PRINCIPAL, hazard.school_id),
        *await store.people_with_role(tx, Role.TASKFORCE),
    ]
    closed, unfixable = await hazards.settled_in_building(tx, hazard.building_id)
    await notify.tell(
        tx,
        told,
        key=f"building_done:{hazard.building_id}:{hazard.id}",
        kind="building_done",
        render=lambda lang: (
            notify.fitted(
                lambda typed: (
                    t(lang, "report_up.building", closed=closed, **typed)
                    + (t(lang, "report_up.unfixable", count=unfixable) if unfixable else "")
                ),
                {"school": hazard.school_name, "building": hazard.building_name or "?"},
            ),
            (),
        ),
    )
    if await hazards.pending_in_school(tx, hazard.school_id):
        return
    closed_in_school, buildings = await hazards.closed_in_school(tx, hazard.school_id)
    await notify.tell(
        tx,
        told,
        key=f"school_done:{hazard.school_id}:{hazard.id}",
        kind="school_done",
        render=notify.text_only(
            "report_up.school",
            school=hazard.school_name,
            closed=closed_in_school,
            buildings=buildings,
        ),
    )


# --- deadlines ----------------------------------------------------------------------


async def extension_date(actor: Actor, hazard_id: int, text: str) -> date:
    """The later deadline typed: a date later than the one in force."""
    hazard, facts = await load(actor.reader, actor.person, hazard_id)
    transition(actor.person, Action.EXTEND, facts)
    return check_extension(hazard.deadline, parse_date(text, actor.today()))


@dataclass(frozen=True)
class ExtensionAsked:
    hazard: Hazard
    new: date
    by_taskforce: bool  # nobody at the school but the asker may decide: the task force


async def ask_extension(
    actor: Actor, hazard_id: int, wanted: str, text: str, links: Links
) -> ExtensionAsked:
    """A date, then a reason: the request goes to the school's managers (or the task force)."""
    person = actor.person
    hazard, facts = await load(actor.reader, person, hazard_id)
    transition(person, Action.EXTEND, facts)
    reason = clean_text(text, TEXT_MAX)
    new = check_extension(hazard.deadline, parse_date(wanted, actor.today()))
    hid = hazard.id
    by_taskforce = taskforce_verifies(person.id, facts.managers)
    async with actor.write() as tx:
        change_id = await store.ask_extension(tx, hid, person.id, hazard.deadline, new, reason)
        await _end_waiting(tx, actor)
        why = "verify_by_taskforce.extension_to_taskforce"
        render = about(
            hazard,
            "extension.to_manager",
            [
                [
                    ("extension.approve", links.decide(hid, change_id, True)),
                    ("extension.refuse", links.decide(hid, change_id, False)),
                ]
            ],
            head=_to_taskforce(hazard, why) if by_taskforce else None,
            asker=person.name,
            old=day(hazard.deadline),
            new=new.isoformat(),
            reason=reason,
        )
        await notify.tell(
            tx,
            await second_signers(tx, person.id, facts),
            key=f"extension:{change_id}",
            kind="extension_asked",
            render=render,
            skip=person.id,
        )
    return ExtensionAsked(hazard, new, by_taskforce)


async def deciding_extension(actor: Actor, hazard_id: int, change_id: int) -> Hazard:
    """The request an approve or refuse button names, which this person may decide now."""
    hazard, facts = await entitled_to(actor.reader, actor.person, hazard_id, Action.DECIDE)
    asked = await store.deadline_change(actor.reader, change_id)
    if asked is None or asked.hazard_id != hazard.id:
        raise NotAllowed()
    await _waiting_change(actor.reader, hazard, change_id)
    transition(actor.person, Action.DECIDE, facts)
    return hazard


async def _waiting_change(db: Reader, hazard: Hazard, change_id: int) -> DeadlineChange:
    """The request still waiting for a decision; another one (or none) is stale."""
    change = await store.asked_extension(db, hazard.id)
    if change is None or change.id != change_id:
        raise Stale()
    return change


@dataclass(frozen=True)
class ExtensionDecided:
    hazard: Hazard
    approved: bool
    values: dict[str, Any]  # what the decision's texts say (id, old, new, decider, refusal)


async def decide_extension(
    actor: Actor, hazard_id: int, change_id: int, refusal: str | None
) -> ExtensionDecided:
    """Approve (``refusal`` None), or refuse with the reason typed; the asker is told."""
    person = actor.person
    hazard, facts = await load(actor.reader, person, hazard_id)
    change = await _waiting_change(actor.reader, hazard, change_id)
    transition(person, Action.DECIDE, facts)
    reason = None if refusal is None else clean_text(refusal, TEXT_MAX)
    key = "extension.approved" if reason is None else "extension.refused"
    values: dict[str, Any] = {
        "id": hazard.id,
        "old": day(change.old_deadline),
        "new": change.new_deadline.isoformat(),
        "decider": person.name,
        "refusal": reason or "",
    }
    async with actor.write() as tx:
        await store.decide_extension(tx, change, person.id, reason is None, reason)
        await _end_waiting(tx, actor)
        await notify.tell(
            tx,
            await people.by_ids(tx, change.asked_by),
            key=f"extension_decided:{change.id}",
            kind="extension_decided",
            render=notify.text_only(f"{key}_notice", **values),
        )
    return ExtensionDecided(hazard, reason is None, values)


# --- cannot be fixed, reassigning ---------------------------------------------------


async def demolition_date(actor: Actor, hazard_id: int, text: str) -> date:
    """The demolition date typed, for a hazard this person may mark as unfixable."""
    _, facts = await load(actor.reader, actor.person, hazard_id)
    transition(actor.person, Action.UNFIXABLE, facts)
    return parse_date(text, actor.today())


@dataclass(frozen=True)
class MarkedUnfixable:
    hazard: Hazard
    values: dict[str, Any]  # school, building, date, reason, leader


async def mark_unfixable(actor: Actor, hazard_id: int, due_text: str, text: str) -> MarkedUnfixable:
    """A demolition date, then the reason: out of use; the task force and the responsible
    person are told."""
    person = actor.person
    hazard, facts = await load(actor.reader, person, hazard_id)
    transition(person, Action.UNFIXABLE, facts)
    reason = clean_text(text, TEXT_MAX)
    due = parse_date(due_text, actor.today())
    values: dict[str, Any] = {
        "school": hazard.school_name,
        "building": hazard.building_name or "?",
        "date": due.isoformat(),
        "reason": reason,
        "leader": person.name,
    }
    async with actor.write() as tx:
        await hazards.mark_unfixable(tx, hazard, person.id, due, reason)
        await _end_waiting(tx, actor)
        await notify.tell(
            tx,
            [
                *await store.people_with_role(tx, Role.TASKFORCE),
                *await people.by_ids(tx, hazard.responsible_id),
            ],
            key=f"unfixable:{hazard.id}",
            kind="unfixable",
            render=about(hazard, "unfixable.notice", **values),
            skip=person.id,
        )
    return MarkedUnfixable(hazard, values)


async def reassign_choices(actor: Actor, hazard_id: int) -> tuple[Hazard, dict[int, str]]:
    """The hazard and the colleagues it may be given to (id → name), in the school's order."""
    hazard, _, mates = await _reassigning(actor, hazard_id)
    return hazard, mates


async def _reassigning(actor: Actor, hazard_id: int) -> tuple[Hazard, Facts, dict[int, str]]:
    hazard, facts = await entitled_to(actor.reader, actor.person, hazard_id, Action.REASSIGN)
    transition(actor.person, Action.REASSIGN, facts)
    # Named by the hazard, as a reassigning tap reads them ahead with the person.
    found = await actor.reader.all(*people.hazard_colleagues_query(hazard.id))
    mates = {m.id: m.name for m in people.contacts_from(found)}
    return hazard, facts, mates


@dataclass(frozen=True)
class Reassigned:
    hazard: Hazard
    name: str  # the new responsible person
    changed: bool  # False: they were responsible already, nothing stored


async def reassign(actor: Actor, hazard_id: int, new_id: int, links: Links) -> Reassigned:
    """Another colleague answers for the hazard; they and the one before are told."""
    person = actor.person
    hazard, facts, mates = await _reassigning(actor, hazard_id)
    if new_id not in mates:
        raise NotAllowed()
    name = mates[new_id]
    if new_id == hazard.responsible_id:
        return Reassigned(hazard, name, changed=False)
    hid = hazard.id
    values: dict[str, Any] = {"name": name, "leader": person.name, "deadline": day(hazard.deadline)}
    async with actor.write() as tx:
        await hazards.reassign(tx, hazard, person.id, new_id, name)
        await notify.tell(
            tx,
            await people.by_ids(tx, new_id),
            key=f"assigned:{hid}:{new_id}:{tx.now()}",
            kind="reassigned",
            render=about(hazard, "reassign.to_new", [[("card.open", links.card(hid))]], **values),
            skip=person.id,
        )
        await notify.tell(
            tx,
            await people.by_ids(tx, hazard.responsible_id),
            key=f"unassigned:{hid}:{new_id}:{tx.now()}",
            kind="reassigned",
            render=about(hazard, "reassign.to_old", **values),
            skip=person.id,
        )
        await warn_sole_manager(tx, hazard, new_id, links.card(hid), facts.managers)
    return Reassigned(hazard, name, changed=True)


async def warn_sole_manager(
    tx: Tx, hazard: Hazard, person_id: int, card: str, managers: frozenset[int] | None = None
) -> bool:
    """Tell a school's only principal or leader, now responsible for this hazard, that
    the task force will verify the fix they report; False when they are not alone.
    ``card`` is the callback data of the hazard's card button."""
    if managers is None:
        managers = await store.managers(tx, hazard.school_id)
    if not sole_manager(person_id, managers):
        return False
    stored = await notify.tell(
        tx,
        await people.by_ids(tx, person_id),
        key=f"sole_manager:{hazard.id}",
        kind="sole_manager",
        render=about(
            hazard,
            "verify_by_taskforce.assigned",
            [[("card.open", card)]],
            tail=lambda lang: [t(lang, "verify_by_taskforce.warning")],
        ),
    )
    return stored > 0
