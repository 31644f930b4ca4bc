"""What the reports read: a school's buildings and hazards, the city, the ledger.

The small reads (one school's form, the city's figures) use the database's
read connection. The ledger can hold 100,000 hazards: it is streamed from
its own read-only ``sqlite3`` connection, opened in the worker thread that
writes the workbook, so rows never pile up in memory and the event loop is
never blocked (WAL lets it read while the bot writes).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ledger.supervision import origin_of
from ledger.totals import COUNTED_STATES, BuildingFacts, HazardFacts
from storage.db import Query, Reader, Row

_COUNTED = ", ".join(f"'{s}'" for s in COUNTED_STATES)


@dataclass(frozen=True)
class FormHazard:
    """A hazard as the summary form shows it."""

    id: int
    description: str
    fixable_now: bool
    deadline: str | None
    responsible: str
    takes_out_of_use: bool
    state: str

    def facts(self) -> HazardFacts:
        return HazardFacts(
            fixable_now=self.fixable_now,
            takes_out_of_use=self.takes_out_of_use,
            state=self.state,
            deadline=date.fromisoformat(self.deadline) if self.deadline else None,
        )


@dataclass(frozen=True)
class FormBuilding:
    """A building with its walk state and its hazards in the campaign."""

    id: int
    school_id: int
    name: str
    walk: str  # not_started / in_progress / closed
    out_of_use: bool
    hazards: list[FormHazard] = field(default_factory=list)

    def facts(self) -> BuildingFacts:
        return BuildingFacts(
            out_of_use=self.out_of_use,
            hazards=[h.facts() for h in self.hazards],
            walk=self.walk,
        )


@dataclass(frozen=True)
class SchoolData:
    """One school: its name, its buildings, its last activity."""

    id: int
    name: str
    district: str
    buildings: list[FormBuilding]
    last_activity: str | None = None
    # Fixes reported with a flagged after-photo (reused, or taken too early).
    flagged_fixes: int = 0

    def facts(self) -> list[BuildingFacts]:
        return [b.facts() for b in self.buildings]


async def campaign(db: Reader, campaign_id: int) -> Row:
    row = await db.one("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
    assert row is not None, "the campaign is created at start-up"
    return row


async def hazard_count(db: Reader, campaign_id: int, school_id: int | None) -> int:
    """The hazards a ledger lists (drafts left out): one school's, or the city's."""
    sql = (
        "SELECT COUNT(*) FROM hazards WHERE campaign_id = ?"
        " AND state IN ('open', 'submitted', 'closed', 'unfixable')"
    )
    if school_id is None:
        return int(await db.value(sql, (campaign_id,)))
    return int(await db.value(sql + " AND school_id = ?", (campaign_id, school_id)))


async def phase_dues(db: Reader, campaign_id: int) -> tuple[date | None, date | None]:
    """The campaign's self-inspection and rectification deadlines, where set."""
    row = await campaign(db, campaign_id)

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return day(row["self_inspection_due"]), day(row["rectification_due"])


def buildings_by_school_queries(campaign_id: int, school_id: int | None = None) -> list[Query]:
    """What ``buildings_by_school`` reads: the buildings, then their counted hazards."""
    where, params = ("WHERE b.school_id = ?", (school_id,)) if school_id is not None else ("", ())
    return [
        (
            "SELECT b.id, b.school_id, b.name, b.out_of_use,"  # noqa: S608 (fixed clauses)
            " CASE WHEN i.id IS NULL THEN 'not_started' WHEN i.closed_at IS NULL"
            " THEN 'in_progress' ELSE 'closed' END AS walk"
            " FROM buildings b LEFT JOIN inspections i"
            # the campaign's own walk; rounds of a recurring inspection are not on the form
            " ON i.building_id = b.id AND i.campaign_id = ? AND i.round_id IS NULL"
            f" {where} ORDER BY b.school_id, b.id",
            (campaign_id, *params),
        ),
        (
            "SELECT h.id, h.building_id"  # noqa: S608 (fixed clauses)
            ", h.description, h.fixable_now, h.deadline,"
            " COALESCE(p.name, h.responsible_name, '') AS responsible, h.takes_out_of_use,"
            " h.state FROM hazards h LEFT JOIN people p ON p.id = h.responsible_id"
            f" WHERE h.campaign_id = ? AND h.state IN ({_COUNTED}) AND h.building_id IS NOT NULL"
            + (" AND h.school_id = ?" if school_id is not None else "")
            + " ORDER BY h.building_id, h.reported_at, h.id",
            (campaign_id, *params),
        ),
    ]


async def buildings_by_school(
    db: Reader, campaign_id: int, school_id: int | None = None
) -> dict[int, list[FormBuilding]]:
    """Every building (of one school, or all), by school, with its counted hazards."""
    buildings, hazards = await db.read_many(buildings_by_school_queries(campaign_id, school_id))
    return _by_school(buildings, hazards)


def _by_school(buildings: list[Row], hazards: list[Row]) -> dict[int, list[FormBuilding]]:
    found: dict[int, list[FormHazard]] = {}
    for h in hazards:
        found.setdefault(h["building_id"], []).append(
            FormHazard(
                id=h["id"],
                description=h["description"] or "",
                fixable_now=bool(h["fixable_now"]),
                deadline=h["deadline"],
                responsible=h["responsible"],
                takes_out_of_use=bool(h["takes_out_of_use"]),
                state=h["state"],
            )
        )
    result: dict[int, list[FormBuilding]] = {}
    for b in buildings:
        result.setdefault(b["school_id"], []).append(
            FormBuilding(
                id=b["id"],
                school_id=b["school_id"],
                name=b["name"],
                walk=b["walk"],
                out_of_use=bool(b["out_of_use"]),
                hazards=found.get(b["id"], []),
            )
        )
    return result


def school_data_queries(campaign_id: int, school_id: int) -> list[Query]:
    """What ``school_data`` reads, in one trip (or read ahead with the person)."""
    return [
        ("SELECT * FROM schools WHERE id = ?", (school_id,)),
        *buildings_by_school_queries(campaign_id, school_id),
    ]


async def school_data(db: Reader, campaign_id: int, school_id: int) -> SchoolData | None:
    """One school with its buildings and hazards (None: no such school)."""
    rows = await db.read_many(school_data_queries(campaign_id, school_id))
    if not rows[0]:
        return None
    school = rows[0][0]
    buildings = _by_school(rows[1], rows[2])
    return SchoolData(
        school["id"], school["name"], school["district"], buildings.get(school_id, [])
    )


async def city_data(db: Reader, campaign_id: int) -> list[SchoolData]:
    """Every school, by name, with its buildings, hazards and last activity."""
    schools = await db.all(
        "SELECT s.id, s.name, s.district, MAX("
        " COALESCE((SELECT MAX(i.last_activity_at) FROM inspections i"
        "  JOIN buildings b ON b.id = i.building_id"
        "  WHERE b.school_id = s.id AND i.campaign_id = ?), ''),"
        " COALESCE((SELECT MAX(COALESCE(h.closed_at, h.completed_at, h.reported_at))"
        "  FROM hazards h WHERE h.school_id = s.id AND h.campaign_id = ?), ''),"
        " COALESCE((SELECT MAX(COALESCE(f.decided_at, f.submitted_at, f.started_at))"
        "  FROM fix_reports f JOIN hazards h ON h.id = f.hazard_id"
        "  WHERE h.school_id = s.id AND h.campaign_id = ?), '')"
        " ) AS last_activity, (SELECT COUNT(DISTINCT f.id) FROM fix_reports f"
        "  JOIN hazards h ON h.id = f.hazard_id JOIN photos p ON p.fix_report_id = f.id"
        "  WHERE h.school_id = s.id AND h.campaign_id = ? AND f.state NOT IN ('draft', 'dropped')"
        "  AND (p.reused_of IS NOT NULL OR p.time_flag IS NOT NULL)) AS flagged_fixes"
        " FROM schools s ORDER BY s.name",
        (campaign_id, campaign_id, campaign_id, campaign_id),
    )
    buildings = await buildings_by_school(db, campaign_id)
    return [
        SchoolData(
            s["id"],
            s["name"],
            s["district"],
            buildings.get(s["id"], []),
            s["last_activity"] or None,
            s["flagged_fixes"],
        )
        for s in schools
    ]


# --- the ledger (台账), streamed -------------------------------------------------


@dataclass(frozen=True)
class DeadlineChange:
    old: str | None
    new: str
    reason: str
    state: str
    asked_by: str
    asked_at: str
    decided_by: str | None
    decided_at: str | None


@dataclass(frozen=True)
class Reopening:
    at: str
    by: str
    reason: str
    verifier: str | None  # who had closed it: their signature stays on record


@dataclass(frozen=True)
class LedgerRow:
    """One hazard with every field the ledger shows."""

    id: int
    school: str
    building: str
    item_code: str | None
    item: str | None
    source: str
    description: str
    found_by: str
    found_at: str
    fixable_now: bool | None
    measures: str | None
    major: bool | None
    funding: str | None
    contingency_plan: str | None
    deadline: str | None
    deadline_changes: list[DeadlineChange]
    responsible: str | None
    takes_out_of_use: bool | None
    state: str
    fix_by: str | None  # the responsible person's signature: who confirmed the fix
    fix_at: str | None
    verified_by: str | None  # the verifier's signature
    verified_at: str | None
    closed_at: str | None
    demolition_due: str | None
    photos_before: list[str]
    photos_after: list[str]
    # Supervision (督查): where the hazard came from, accident-grade (按事故对待),
    # and every reopening as rectified badly (整改不到位).
    origin: str = "self_inspection"
    accident_grade: bool = False
    reopenings: list[Reopening] = field(default_factory=list)
    # Evidence (issue 15): which photos copy one on record, which were taken too early,
    # how many carry no metadata, and what the verifier decided on a flagged photo.
    reused: str = ""
    taken_early: str = ""
    no_metadata: int = 0
    flag_decision: str = ""


@dataclass(frozen=True)
class LedgerBuilding:
    school: str
    name: str
    use: str
    floors: int
    year_built: int | None
    out_of_use: bool
    walk: str
    walker: str | None
    started_at: str | None
    closed_at: str | None
    hazards: int


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection of its own, for a thread that streams a report."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


# Most hazards have no photo, deadline change or reopening: an index probe (EXISTS) says
# so for less than building an empty JSON array does (a fifth of the query at 100,000).
_LEDGER_SQL = """
SELECT h.*, s.name AS school_name, b.name AS building_name,
       ci.code AS item_code, ci.text_zh AS item_text,
       rp.name AS reporter_name, resp.name AS responsible_person,
       f.submitted_at AS fix_at, fp.name AS fix_by, f.decided_at AS verified_at,
       dp.name AS verified_by,
       CASE WHEN EXISTS (SELECT 1 FROM photos x WHERE x.hazard_id = h.id) THEN
       (SELECT json_group_array(json_array(p.kind, p.sha256, p.other_hazard, p.time_flag,
                                           p.taken_at, p.decision, p.decider, p.decided_at))
          FROM (SELECT ph.kind, ph.sha256, o.hazard_id AS other_hazard, ph.time_flag,
                       ph.taken_at, fr.state AS decision, fd.name AS decider, fr.decided_at
                  FROM photos ph LEFT JOIN photos o ON o.id = ph.reused_of
                  LEFT JOIN fix_reports fr ON fr.id = ph.fix_report_id
                  LEFT JOIN people fd ON fd.id = fr.decided_by
                 WHERE ph.hazard_id = h.id ORDER BY ph.id) p) ELSE '[]' END AS photos,
       CASE WHEN EXISTS (SELECT 1 FROM deadline_changes x WHERE x.hazard_id = h.id) THEN
       (SELECT json_group_array(json_array(d.old_deadline, d.new_deadline, d.reason, d.state,
                                           ap.name, d.asked_at, dd.name, d.decided_at))
          FROM deadline_changes d JOIN people ap ON ap.id = d.asked_by
          LEFT JOIN people dd ON dd.id = d.decided_by
          WHERE d.hazard_id = h.id) ELSE '[]' END AS changes,
       CASE WHEN EXISTS (SELECT 1 FROM supervision_findings x WHERE x.hazard_id = h.id) THEN
       (SELECT json_group_array(json_array(sf.recorded_at, sp.name, sf.description, sv.name))
          FROM supervision_findings sf JOIN people sp ON sp.id = sf.found_by
          LEFT JOIN people sv ON sv.id = sf.verifier_id
          WHERE sf.hazard_id = h.id AND sf.kind = 'rectified_badly'
          AND sf.state = 'recorded') ELSE '[]' END AS reopenings
FROM hazards h
JOIN schools s ON s.id = h.school_id
LEFT JOIN buildings b ON b.id = h.building_id
LEFT JOIN checklist_items ci ON ci.id = h.item_id
JOIN people rp ON rp.id = h.reported_by
LEFT JOIN people resp ON resp.id = h.responsible_id
LEFT JOIN fix_reports f ON f.id = (
    SELECT id FROM fix_reports WHERE hazard_id = h.id AND state IN ('submitted', 'accepted')
    ORDER BY id DESC LIMIT 1)
LEFT JOIN people fp ON fp.id = f.reported_by
LEFT JOIN people dp ON dp.id = f.decided_by
WHERE h.campaign_id = ? AND h.state IN ({counted}) {school}
ORDER BY (h.accident_grade = 1 AND h.state != 'closed') DESC, s.name, b.name, h.id
"""


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


_KIND = {"before": "整改前照片", "after": "整改后照片"}
_EARLY = {"before_hazard": "早于隐患登记", "stale": "早于上报整改多日"}
_DECISION = {"accepted": "验收通过", "returned": "退回", "submitted": "待验收"}


def photo_flags(photos: list[tuple[Any, ...]]) -> tuple[str, str, int, str]:
    """The ledger's evidence cells from a hazard's photos (kind, sha256, the hazard its
    copy comes from, time flag, capture time, the fix's decision, decider, decided at)."""
    reused, early, decisions = [], [], []
    counters = {"before": 0, "after": 0}
    no_metadata = 0
    for kind, _, other, time_flag, taken_at, decision, decider, decided_at in photos:
        counters[kind] += 1
        name = f"{_KIND[kind]}{counters[kind]}"
        if other is not None:
            reused.append(f"{name}与#{other}的照片相同")
        if time_flag:
            early.append(
                f"{name}拍摄于{str(taken_at)[:16].replace('T', ' ')}（{_EARLY[time_flag]}）"
            )
        if not taken_at:
            no_metadata += 1
        if (other is not None or time_flag) and decision in _DECISION:
            who = f"，{decider} {str(decided_at)[:16].replace('T', ' ')}" if decider else ""
            decisions.append(f"{name}：{_DECISION[decision]}{who}")
    return "\n".join(reused), "\n".join(early), no_metadata, "\n".join(decisions)


def ledger_count(conn: sqlite3.Connection, campaign_id: int, school_id: int | None = None) -> int:
    """How many hazards ``ledger_rows`` yields (for an export's progress)."""
    sql = f"SELECT COUNT(*) FROM hazards WHERE campaign_id = ? AND state IN ({_COUNTED})"  # noqa: S608
    if school_id is None:
        return int(conn.execute(sql, (campaign_id,)).fetchone()[0])
    return int(conn.execute(sql + " AND school_id = ?", (campaign_id, school_id)).fetchone()[0])


def _json_list(text: str) -> list[Any]:
    """A JSON array from SQLite; most hazards have none of a kind, and "[]" costs nothing."""
    return [] if text == "[]" else list(json.loads(text))


def ledger_rows(
    conn: sqlite3.Connection, campaign_id: int, school_id: int | None = None
) -> Iterator[LedgerRow]:
    """Every counted hazard of the campaign (of one school, or all), one at a time."""
    sql = _LEDGER_SQL.replace("{counted}", _COUNTED).replace(
        "{school}", "AND h.school_id = ?" if school_id is not None else ""
    )
    params = (campaign_id, school_id) if school_id is not None else (campaign_id,)
    # Plain tuples made dicts: sqlite3.Row finds a name by scanning every column's, and
    # a ledger row has fifty columns and is read 35 times (a second at 100,000 hazards).
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(sql, params)
    cursor.arraysize = 500
    names = [column[0] for column in cursor.description]
    while chunk := cursor.fetchmany():
        for values in chunk:
            r = dict(zip(names, values, strict=True))
            photos = [tuple(p) for p in _json_list(r["photos"])]
            flags = photo_flags(photos)
            yield LedgerRow(
                id=r["id"],
                school=r["school_name"],
                building=r["building_name"] or "",
                item_code=r["item_code"],
                item=r["item_text"],
                source=r["source"],
                description=r["description"] or "",
                found_by=r["reporter_name"],
                found_at=r["reported_at"],
                fixable_now=_flag(r["fixable_now"]),
                measures=r["measures"],
                major=_flag(r["major"]),
                funding=r["funding"],
                contingency_plan=r["contingency_plan"],
                deadline=r["deadline"],
                deadline_changes=[DeadlineChange(*c) for c in _json_list(r["changes"])],
                responsible=r["responsible_person"] or r["responsible_name"],
                takes_out_of_use=_flag(r["takes_out_of_use"]),
                state=r["state"],
                fix_by=r["fix_by"],
                fix_at=r["fix_at"],
                verified_by=r["verified_by"],
                verified_at=r["verified_at"],
                closed_at=r["closed_at"],
                demolition_due=r["demolition_due"],
                photos_before=[p[1] for p in photos if p[0] == "before"],
                photos_after=[p[1] for p in photos if p[0] == "after"],
                reused=flags[0],
                taken_early=flags[1],
                no_metadata=flags[2],
                flag_decision=flags[3],
                origin=origin_of(r["source"], r["visit_id"]).value,
                accident_grade=bool(r["accident_grade"]),
                reopenings=[Reopening(*x) for x in _json_list(r["reopenings"])],
            )


def ledger_buildings(
    conn: sqlite3.Connection, campaign_id: int, school_id: int | None = None
) -> Iterator[LedgerBuilding]:
    """Every building (of one school, or all) with its walk in the campaign."""
    where = "WHERE b.school_id = ?" if school_id is not None else ""
    params = (
        (campaign_id, campaign_id, school_id)
        if school_id is not None
        else (
            campaign_id,
            campaign_id,
        )
    )
    cursor = conn.execute(
        "SELECT b.*, s.name AS school_name"  # noqa: S608 (fixed clauses)
        ", i.started_at, i.closed_at, w.name AS walker,"
        " CASE WHEN i.id IS NULL THEN 'not_started' WHEN i.closed_at IS NULL"
        " THEN 'in_progress' ELSE 'closed' END AS walk,"
        f" (SELECT COUNT(*) FROM hazards h WHERE h.building_id = b.id AND h.campaign_id = ?"
        f"  AND h.state IN ({_COUNTED})) AS hazards"
        " FROM buildings b JOIN schools s ON s.id = b.school_id"
        " LEFT JOIN inspections i ON i.building_id = b.id AND i.campaign_id = ?"
        " AND i.round_id IS NULL"
        " LEFT JOIN people w ON w.id = i.walker_id"
        f" {where} ORDER BY s.name, b.name",
        params,
    )
    for r in cursor:
        yield LedgerBuilding(
            school=r["school_name"],
            name=r["name"],
            use=r["use"],
            floors=r["floors"],
            year_built=r["year_built"],
            out_of_use=bool(r["out_of_use"]),
            walk=r["walk"],
            walker=r["walker"],
            started_at=r["started_at"],
            closed_at=r["closed_at"],
            hazards=r["hazards"],
        )
