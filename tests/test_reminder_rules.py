"""The [reminders] settings: read, checked, and the hours they allow."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.config import load_config
from ledger.errors import ConfigError
from scheduler.rules import ReminderRules


def config(tmp_path: Path, text: str) -> ReminderRules:
    path = tmp_path / "config.toml"
    path.write_text("[reminders]\n" + text, encoding="utf-8")
    return load_config(path, env={}).reminders


def test_defaults_are_product_md_s():
    rules = load_config(None, env={}).reminders
    assert rules == ReminderRules()
    assert rules.before_deadline_days == (3, 1, 0)
    assert (rules.escalate_leader_days, rules.escalate_principal_days) == (1, 3)
    assert (rules.escalate_taskforce_days, rules.verify_after_days) == (7, 2)
    assert (rules.quiet_start, rules.quiet_end, rules.send_hour) == (21, 8, 9)


def test_values_from_a_file(tmp_path):
    rules = config(
        tmp_path,
        'before_deadline_days = "0, 7,2"\nphase_days_before = "14"\nquiet_start = 22\n'
        "quiet_end = 7\nsend_hour = 7\ndigest_weekday = 5\n",
    )
    assert rules.before_deadline_days == (7, 2, 0)
    assert rules.phase_days_before == (14,)
    assert rules.allowed_hours() == list(range(7, 22))
    assert rules.digest_weekday == 5


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('before_deadline_days = "3,x"', "reminders.before_deadline_days"),
        ('before_deadline_days = "-1"', "reminders.before_deadline_days"),
        ("before_deadline_days = 3", "reminders.before_deadline_days"),
        ("send_hour = 24", "reminders.send_hour"),
        ("quiet_end = -1", "reminders.quiet_end"),
        ("send_hour = 22", "reminders.send_hour"),  # in the quiet hours
        ("digest_hour = 6", "reminders.digest_hour"),
        ("digest_weekday = 8", "reminders.digest_weekday"),
        ("escalate_leader_days = 0", "reminders.escalate_leader_days"),
        ("plan_every_minutes = true", "reminders.plan_every_minutes"),
    ],
)
def test_wrong_values_are_one_line_naming_the_key(tmp_path, text, names):
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, text + "\n")
    assert names in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("start", "end", "hour", "quiet"),
    [
        (21, 8, 20, False),
        (21, 8, 21, True),
        (21, 8, 3, True),
        (21, 8, 8, False),
        (0, 6, 23, False),  # quiet hours within one day
        (0, 6, 0, True),
        (0, 6, 6, False),
    ],
)
def test_quiet_hours(start, end, hour, quiet):
    rules = ReminderRules(quiet_start=start, quiet_end=end, send_hour=9, digest_hour=9)
    assert rules.quiet(datetime(2026, 12, 1, hour, 30)) is quiet


@pytest.mark.parametrize(
    ("at", "morning"),
    [
        (datetime(2026, 12, 1, 22, 0), datetime(2026, 12, 2, 8, 0)),
        (datetime(2026, 12, 2, 3, 0), datetime(2026, 12, 2, 8, 0)),
        (datetime(2026, 12, 2, 9, 0), datetime(2026, 12, 2, 9, 0)),
    ],
)
def test_what_falls_in_quiet_hours_waits_for_the_morning(at, morning):
    assert ReminderRules().morning_after(at) == morning


@pytest.mark.parametrize(("chosen", "hour"), [(None, 9), (8, 8), (20, 20), (21, 9), (3, 9)])
def test_a_person_s_hour_within_the_allowed_ones(chosen, hour):
    assert ReminderRules().hour_for(chosen) == hour
