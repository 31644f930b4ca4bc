"""Planning: given a snapshot of the ledger, a time and the rules, which messages are due.

Pure: no I/O, no clock of its own. Each planned message carries a unique key
built from its kind, its subject and the day it belongs to, so planning again
(a second pass, a restart, two passes overlapping) plans the same keys, and
the outbox stores each once.

Only what applies *now* is planned: a daily nudge is keyed by today's period,
a staged one (3 days before, 1 day before, the day) by the latest stage
reached. After days of downtime the next pass plans one nudge per subject,
the latest, never the backlog. In quiet hours nothing is planned; the
morning's pass plans what applies then.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ledger.rectify import taskforce_verifies, verifiers

# The snapshot the planner reads lives with the domain (storage fills it); named here
# too, as the planner's own vocabulary.
from ledger.snapshot import Campaign as Campaign
from ledger.snapshot import DrawnVisit as DrawnVisit
from ledger.snapshot import Hazard as Hazard
from ledger.snapshot import Ledger as Ledger
from ledger.snapshot import Recipient as Recipient
from ledger.snapshot import Round as Round
from ledger.snapshot import School as School
from ledger.snapshot import WaitingFix as WaitingFix
from scheduler.rules import ReminderRules

RESPONSIBLE, LEADER, PRINCIPAL, TASKFORCE = 0, 1, 2, 3
LIST_MAX = 20  # hazards or schools named in one message; the rest are counted
ESCALATION_LAST_DAYS = 7  # the task force's escalation still applies this many days


@dataclass(slots=True)  # not frozen: a city's pass makes tens of thousands, quicker so
class Planned:
    """One message due: to whom, which text with which values, from when."""

    key: str
    kind: str
    person_id: int
    text: str  # the text key, e.g. "reminders.overdue"
    values: dict[str, Any]
    not_before: datetime
    school_id: int | None = None
    instead_of: tuple[str, ...] = ()  # the blocked people this was meant for
    items: tuple[tuple[str, dict[str, Any]], ...] = field(default=())  # listed lines


def plan(ledger: Ledger, now: datetime, rules: ReminderRules) -> list[Planned]:
    """Every message due at ``now``; nothing in quiet hours."""
    return plan_new(ledger, now, rules, frozenset())[1]


def plan_new(
    ledger: Ledger, now: datetime, rules: ReminderRules, known: Container[str]
) -> tuple[set[str], list[Planned]]:
    """The key of every message due at ``now``, and those of the messages whose key is not
    in ``known`` (stored already). A hazard's messages with known keys are never made:
    a city's pass plans tens of thousands of keys, and most were stored by an earlier pass.
    """
    if rules.quiet(now):
        return set(), []
    planner = _Planner(ledger, now, rules, known)
    found = [
        *planner.hazards(),
        *planner.verification(),
        *planner.phases(),
        *planner.digests(),
        *planner.rounds(),
        *planner.supervision(),
    ]
    keys = planner.keys
    new = []
    for p in found:
        if p.not_before <= now:
            keys.add(p.key)
            if p.key not in known:
                new.append(p)
    return keys, new


def term_start(day: date) -> date:
    """The first day of the school term containing ``day`` (1 March, 1 September)."""
    if day.month >= 9:
        return date(day.year, 9, 1)
    if day.month >= 3:
        return date(day.year, 3, 1)
    return date(day.year - 1, 9, 1)


def period_of(every: str, day: date) -> tuple[date, date]:
    """The period of a recurring inspection containing ``day``: its start and the round's due."""
    if every == "week":
        start = day - timedelta(days=day.isoweekday() - 1)
        return start, start + timedelta(days=6)
    if every == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    if every == "term":
        start = term_start(day)
        return start, start + timedelta(days=30)
    raise ValueError(f"unknown period {every!r}")


def round_to_open(every: str, set_on: date, latest: date | None, today: date) -> date | None:
    """The period start of a round to open today, if any.

    The round of the period the schedule was set in is the walk being done
    already: the first round opens with the next period. Only the current
    period's round opens (a period missed while the bot was down is not
    caught up; its round would be over already).
    """
    start, _ = period_of(every, today)
    if start <= set_on or (latest is not None and latest >= start):
        return None
    return start


def latest_stage(days_left: int, stages: Sequence[int]) -> int | None:
    """The stage reached with ``days_left`` to go: the smallest stage ≥ days_left."""
    reached = [s for s in stages if s >= days_left]
    return min(reached) if reached else None


def _buildings_left(school: School) -> int:
    return school.buildings_left


def _open_hazards(school: School) -> int:
    return school.open


class _Planner:
    def __init__(
        self, ledger: Ledger, now: datetime, rules: ReminderRules, known: Container[str]
    ) -> None:
        self.ledger = ledger
        self.known = known
        # Keys of hazard messages due now (those in ``known`` are not made at all).
        self.keys: set[str] = set()
        self._sends: dict[tuple[int, int, int | None], list[tuple[int, tuple[str, ...], datetime]]]
        self._sends = {}
        self.now = now
        self.today = now.date()
        self.rules = rules
        self._chains: dict[tuple[int, int, int | None], list[tuple[int, tuple[str, ...]]]] = {}
        self._times: dict[tuple[int, date | None, int | None], datetime] = {}
        self._days: dict[int, str] = {}
        self._verifiers: dict[tuple[int, int | None], list[tuple[int, tuple[str, ...]]]] = {}

    # --- who ------------------------------------------------------------------
    def level(self, level: int, school: School, responsible: int | None) -> tuple[int, ...]:
        if level == RESPONSIBLE:
            return (responsible,) if responsible in self.ledger.people else ()
        if level == LEADER:
            return school.leaders
        if level == PRINCIPAL:
            return school.principals
        return self.ledger.taskforce

    def chain(
        self, level: int, school: School, responsible: int | None = None
    ) -> list[tuple[int, tuple[str, ...]]]:
        """Who gets a message meant for ``level``: those who can be reached there, or
        (when nobody there can) the next level up, told for whom it was meant."""
        cache_key = (level, school.id, responsible)
        found = self._chains.get(cache_key)
        if found is None:
            found = self._chains[cache_key] = list(self._chain(level, school, responsible))
        return found

    def _chain(
        self, level: int, school: School, responsible: int | None
    ) -> Iterator[tuple[int, tuple[str, ...]]]:
        missed: list[str] = []
        for step in range(level, TASKFORCE + 1):
            ids = self.level(step, school, responsible)
            reachable = [i for i in ids if not self.ledger.people[i].blocked]
            if reachable:
                instead = tuple(missed)
                for person_id in reachable:
                    yield person_id, instead
                return
            missed += [self.ledger.people[i].name for i in ids]

    def reachable(self, ids: Sequence[int]) -> list[int]:
        return [i for i in ids if not self.ledger.people[i].blocked]

    # --- when -----------------------------------------------------------------
    def at(self, person_id: int, day: date | None = None, hour: int | None = None) -> datetime:
        """When a message to this person goes out on ``day``: their hour, after quiet hours."""
        found = self._times.get((person_id, day, hour))
        if found is None:
            chosen = hour
            if chosen is None:
                chosen = self.rules.hour_for(self.ledger.people[person_id].hour)
            moment = datetime.combine(day or self.today, time(chosen), self.now.tzinfo)
            found = self._times[(person_id, day, hour)] = self.rules.morning_after(moment)
        return found

    def message(
        self,
        kind: str,
        key: str,
        person_id: int,
        text: str,
        about: School | None,
        instead: tuple[str, ...] = (),
        day: date | None = None,
        hour: int | None = None,
        items: tuple[tuple[str, dict[str, Any]], ...] = (),
        **values: Any,
    ) -> Planned:
        """A message to one person; its key names them (one copy each)."""
        return Planned(
            key=f"{key}:p{person_id}",
            kind=kind,
            person_id=person_id,
            text=text,
            values=values,
            not_before=self.at(person_id, day, hour),
            school_id=about.id if about else None,
            instead_of=instead,
            items=items,
        )

    def sends(
        self, level: int, school: School, responsible: int | None
    ) -> list[tuple[int, tuple[str, ...], datetime]]:
        """``chain`` with each person's time today, for the many hazard reminders; only
        those due by now (a person whose hour is later is planned by a later pass)."""
        cache_key = (level, school.id, responsible)
        found = self._sends.get(cache_key)
        if found is None:
            found = self._sends[cache_key] = [
                (person_id, instead, at)
                for person_id, instead in self.chain(level, school, responsible)
                if (at := self.at(person_id)) <= self.now
            ]
        return found

    # --- hazards: before the deadline, overdue, escalated ------------------------
    def hazards(self) -> Iterator[Planned]:
        """Each hazard's reminder at its latest stage, and its escalation.

        The loop of a city's pass (tens of thousands of hazards): whatever does not
        depend on the hazard is worked out before it, and a message whose key is
        known is counted by its key, never made."""
        rules = self.rules
        # Escalation levels in order, each applicable until the next one is reached
        # (the last for ESCALATION_LAST_DAYS): only the latest level is planned.
        levels = sorted(
            (
                (rules.escalate_leader_days, LEADER),
                (rules.escalate_principal_days, PRINCIPAL),
                (rules.escalate_taskforce_days, TASKFORCE),
            )
        )
        ends = [after for after, _ in levels[1:]] + [levels[-1][0] + ESCALATION_LAST_DAYS]
        windows = [(after, end, level) for (after, level), end in zip(levels, ends, strict=True)]
        stages = rules.before_deadline_days
        # The stage reached with so many days left, for each count up to the first stage.
        stage_at = [latest_stage(d, stages) for d in range(max(stages) + 1)]
        every = rules.overdue_every_days
        today = self.today.toordinal()
        day = self.day
        schools = self.ledger.schools
        known = self.known
        keys = self.keys
        sends = self.sends
        # The task force gets one list per day on which hazards reached its level,
        # not a message per hazard: a city has hundreds of schools.
        city: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for hazard in self.ledger.hazards:
            school = schools.get(hazard.school_id)
            if school is None:
                continue
            deadline = hazard.deadline.toordinal()
            days_left = deadline - today
            # A demolition deadline is the leaders' to keep: they are its first level.
            first, prefix = (LEADER, "demolish.") if hazard.demolition else (RESPONSIBLE, "")
            about: dict[str, Any] | None = None
            if days_left >= 0:
                stage = stage_at[days_left] if days_left < len(stage_at) else None
                if stage is None:
                    continue
                key = f"{prefix}due:h{hazard.id}:{day(deadline - stage)}"
                kind, days = "remind.due", days_left
                text = f"reminders.{prefix}{'due' if days_left else 'due_today'}"
                targets = [(key, sends(first, school, hazard.responsible_id))]
            else:
                days = -days_left
                nudged = deadline + 1 + (days - 1) // every * every
                key = f"{prefix}overdue:h{hazard.id}:{day(nudged)}"
                kind, text = "remind.overdue", f"reminders.{prefix}overdue"
                targets = [(key, sends(first, school, hazard.responsible_id))]
                for after, end, level in windows:
                    if level <= first or not after <= days < end:
                        continue  # already the ones reminded, or not this level's days
                    if level == TASKFORCE:
                        about = self.about(hazard, school, days)
                        city.setdefault(deadline + after, []).append((school.name, about))
                    else:
                        escalated = f"escalate{level}:h{hazard.id}:{day(deadline + after)}"
                        targets.append((escalated, sends(level, school, hazard.responsible_id)))
            for n, (key, people) in enumerate(targets):
                for person_id, instead, at in people:
                    mine = f"{key}:p{person_id}"
                    keys.add(mine)
                    if mine in known:
                        continue
                    if about is None:
                        about = self.about(hazard, school, days)
                    if n:  # an escalation
                        kind, text = "remind.escalate", "reminders.escalate"
                    yield Planned(mine, kind, person_id, text, about, at, school.id, instead)

        yield from self.city_escalations(city)

    def city_escalations(
        self, city: dict[int, list[tuple[str, dict[str, Any]]]]
    ) -> Iterator[Planned]:
        """Per day, the hazards that reached the task force's level, by school."""
        for reached, found in sorted(city.items()):
            found.sort(key=lambda f: (f[0], f[1]["id"]))
            items = tuple(("reminders.escalate_item", about) for _, about in found)
            key = f"escalate{TASKFORCE}:{self.day(reached)}"
            for person_id in self.reachable(self.ledger.taskforce):
                yield self.message(
                    "remind.escalate",
                    key,
                    person_id,
                    "reminders.escalate_city",
                    None,
                    items=items,
                    count=len(found),
                    days=self.rules.escalate_taskforce_days,
                )

    def day(self, ordinal: int) -> str:
        """A day's ISO text from its ordinal (remembered: few days, many hazards)."""
        text = self._days.get(ordinal)
        if text is None:
            text = self._days[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    @staticmethod
    def about(hazard: Hazard, school: School, days: int) -> dict[str, Any]:
        """The values every hazard text is filled in with."""
        return {
            "id": hazard.id,
            "school": school.name,
            "building": hazard.building,
            "what": hazard.what,
            "deadline": hazard.deadline,
            "responsible": hazard.responsible_name,
            "days": days,
        }

    # --- fixes waiting for verification -------------------------------------------
    def verification(self) -> Iterator[Planned]:
        """Each late fix to whoever may verify it (``ledger.rectify.verifiers``), one
        message a person and school listing them: the school's leaders, else its
        principal, never the fix's reporter; the task force when nobody else may."""
        late: dict[tuple[int, int], list[WaitingFix]] = {}
        meant: dict[tuple[int, int], tuple[str, ...]] = {}
        managers: dict[int, frozenset[int]] = {}
        for fix in self.ledger.waiting:
            if (self.today - fix.submitted).days < self.rules.verify_after_days:
                continue
            school = self.ledger.schools.get(fix.school_id)
            if school is None:
                continue
            at_school = managers.get(school.id)
            if at_school is None:
                at_school = managers[school.id] = frozenset((*school.leaders, *school.principals))
            # Whoever reported it, the chain is the school's unless a manager did:
            # worked out once per school and manager.
            reporter = fix.reporter_id if fix.reporter_id in at_school else None
            chain = self._verifiers.get((school.id, reporter))
            if chain is None:
                chain = self._verifiers[(school.id, reporter)] = list(
                    self.verifier_chain(school, reporter)
                )
            for person_id, instead in chain:
                group = late.get((school.id, person_id))
                if group is None:
                    group = late[(school.id, person_id)] = []
                    meant[(school.id, person_id)] = instead
                group.append(fix)
        for (school_id, person_id), fixes in late.items():
            school = self.ledger.schools[school_id]
            fixes.sort(key=lambda f: (f.submitted, f.hazard_id))
            items = tuple(
                (
                    "reminders.verify_item",
                    {"id": f.hazard_id, "days": (self.today - f.submitted).days},
                )
                for f in fixes
            )
            # The task force verifying because nobody at the school may (not because
            # somebody blocked the bot) is told why.
            why = person_id in self.ledger.taskforce and all(
                taskforce_verifies(f.reporter_id, managers[school_id]) for f in fixes
            )
            yield self.message(
                "remind.verify",
                f"verify:s{school_id}:{self.today}",
                person_id,
                "verify_by_taskforce.reminder" if why else "reminders.verify",
                school,
                meant[(school_id, person_id)],
                items=items,
                school=school.name,
                count=len(fixes),
            )

    def verifier_chain(
        self, school: School, reporter_id: int | None
    ) -> Iterator[tuple[int, tuple[str, ...]]]:
        """Who is reminded of a fix: its verifiers who can be reached, leaders first,
        then the principal, then the task force (told for whom it was meant)."""
        allowed = verifiers(reporter_id, (*school.leaders, *school.principals))
        missed: list[str] = []
        for ids in (
            [i for i in school.leaders if i in allowed],
            [i for i in school.principals if i in allowed],
            list(self.ledger.taskforce),
        ):
            reachable = self.reachable(ids)
            if reachable:
                for person_id in reachable:
                    yield person_id, tuple(missed)
                return
            missed += [self.ledger.people[i].name for i in ids]

    # --- the campaign's phase deadlines ---------------------------------------------
    def phases(self) -> Iterator[Planned]:
        campaign = self.ledger.campaign
        for phase, due in (
            ("self_inspection", campaign.self_inspection_due),
            ("rectification", campaign.rectification_due),
        ):
            left_of = _buildings_left if phase == "self_inspection" else _open_hazards
            if due is None:
                continue
            days_left = (due - self.today).days
            lagging = [s for s in self.ledger.schools.values() if left_of(s) > 0]
            if days_left >= 0:
                stage = latest_stage(days_left, self.rules.phase_days_before)
                if stage is None:
                    continue
                for school in lagging:
                    key = f"phase.{phase}:c{campaign.id}:s{school.id}:{due - timedelta(days=stage)}"
                    for person_id in self.reachable(school.principals):
                        yield self.message(
                            "remind.phase",
                            key,
                            person_id,
                            f"reminders.phase.{phase}",
                            school,
                            campaign=campaign.name,
                            due=due.isoformat(),
                            days=days_left,
                            school=school.name,
                            count=left_of(school),
                        )
            elif lagging:
                lagging.sort(key=lambda s: (-left_of(s), s.name))
                items = tuple(
                    ("reminders.missed_item", {"school": s.name, "count": left_of(s)})
                    for s in lagging
                )
                key = f"missed.{phase}:c{campaign.id}:{due + timedelta(days=1)}"
                for person_id in self.reachable(self.ledger.taskforce):
                    yield self.message(
                        "remind.missed",
                        key,
                        person_id,
                        f"reminders.missed.{phase}",
                        None,
                        items=items,
                        campaign=campaign.name,
                        due=due.isoformat(),
                        count=len(lagging),
                    )

    # --- the weekly digest ----------------------------------------------------------
    def digests(self) -> Iterator[Planned]:
        rules = self.rules
        weekday = self.today.isoweekday()
        if weekday < rules.digest_weekday:
            return
        digest_day = self.today - timedelta(days=weekday - rules.digest_weekday)
        year, week, _ = digest_day.isocalendar()
        stamp = f"{year}-W{week:02d}"
        schools = sorted(self.ledger.schools.values(), key=lambda s: s.name)
        for school in schools:
            key = f"digest:s{school.id}:{stamp}"
            for person_id in self.reachable(school.principals):
                yield self.message(
                    "remind.digest",
                    key,
                    person_id,
                    "reminders.digest.school",
                    school,
                    day=digest_day,
                    hour=rules.digest_hour,
                    school=school.name,
                    walked=school.buildings - school.buildings_left,
                    buildings=school.buildings,
                    open=school.open,
                    overdue=school.overdue,
                    waiting=school.waiting,
                    closed=school.closed,
                )
        behind = sorted((s for s in schools if s.overdue), key=lambda s: (-s.overdue, s.name))
        items = tuple(
            ("reminders.digest.city_item", {"school": s.name, "overdue": s.overdue}) for s in behind
        )
        for person_id in self.reachable(self.ledger.taskforce):
            yield self.message(
                "remind.digest",
                f"digest:city:{stamp}",
                person_id,
                "reminders.digest.city",
                None,
                day=digest_day,
                hour=rules.digest_hour,
                items=items,
                schools=len(schools),
                walked=sum(s.buildings - s.buildings_left for s in schools),
                buildings=sum(s.buildings for s in schools),
                open=sum(s.open for s in schools),
                overdue=sum(s.overdue for s in schools),
                waiting=sum(s.waiting for s in schools),
                closed=sum(s.closed for s in schools),
                behind=len(behind),
            )

    # --- recurring inspections --------------------------------------------------------
    def rounds(self) -> Iterator[Planned]:
        for round_ in self.ledger.rounds:
            school = self.ledger.schools.get(round_.school_id)
            if school is None or round_.buildings_left == 0:
                continue
            people = self.reachable((*school.principals, *school.leaders))
            values: dict[str, Any] = {
                "school": school.name,
                "due": round_.due.isoformat(),
                "count": round_.buildings_left,
            }
            days_left = (round_.due - self.today).days
            if days_left < 0:
                continue
            stage = latest_stage(days_left, self.rules.before_deadline_days)
            if stage is None:
                key, text = f"round:r{round_.id}:opened", "reminders.round.opened"
            else:
                key = f"round:r{round_.id}:{round_.due - timedelta(days=stage)}"
                text = "reminders.round.due"
            for person_id in dict.fromkeys(people):
                yield self.message(
                    "remind.round", key, person_id, text, school, days=days_left, **values
                )

    # --- supervision: drawn visits not yet done -------------------------------------
    def supervision(self) -> Iterator[Planned]:
        """Supervisors before ``campaign.supervision_due``; the task force the day after.

        The messages name no school as their subject, so nothing reaches a school's
        own reminders or their preview.
        """
        campaign = self.ledger.campaign
        due = campaign.supervision_due
        if due is None or not self.ledger.visits:
            return
        days_left = (due - self.today).days
        if days_left >= 0:
            stage = latest_stage(days_left, self.rules.phase_days_before)
            if stage is None:
                return
            for visit in self.ledger.visits:
                key = f"supervision.visit:v{visit.id}:{due - timedelta(days=stage)}"
                known = [p for p in visit.supervisors if p in self.ledger.people]
                for person_id in self.reachable(known):
                    yield self.message(
                        "remind.supervision",
                        key,
                        person_id,
                        "reminders.supervision.visit",
                        None,
                        school=visit.school,
                        due=due.isoformat(),
                        days=days_left,
                    )
            return
        schools = sorted(visit.school for visit in self.ledger.visits)
        items = tuple(("reminders.supervision.missed_item", {"school": s}) for s in schools)
        key = f"missed.supervision:c{campaign.id}:{due + timedelta(days=1)}"
        for person_id in self.reachable(self.ledger.taskforce):
            yield self.message(
                "remind.missed",
                key,
                person_id,
                "reminders.supervision.missed",
                None,
                items=items,
                campaign=campaign.name,
                due=due.isoformat(),
                count=len(schools),
            )
