"""ledger.dates.parse_date: the dates people type on phones."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.dates import parse_date
from ledger.errors import BadDate, PastDate

TODAY = date(2027, 3, 15)


@pytest.mark.parametrize(
    "text",
    [
        "2027-05-20",
        "2027/5/20",
        "2027.5.20",
        "2027年5月20日",
        "2027年5月20号",
        "2027 年 5 月 20 日",
        "5月20日",
        "5月20号",
        "5月20",
        "5-20",
        "5/20",
        "5.20",
        "05-20",
        "  5-20  ",
        "２０２７－０５－２０",
        "２０２７／５／２０",
        "２０２７．５．２０",
        "５月２０日",
        "５－２０",
        "　5月20日　",
    ],
)
def test_accepted_forms(text):
    """Every accepted way of writing 20 May 2027 gives that date."""
    assert parse_date(text, TODAY) == date(2027, 5, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-15", date(2027, 3, 15)),  # today itself
        ("3-16", date(2027, 3, 16)),
        ("3-14", date(2028, 3, 14)),  # passed this year: next year
        ("1-1", date(2028, 1, 1)),
        ("12-31", date(2027, 12, 31)),
        ("2月10日", date(2028, 2, 10)),
        ("2月29日", date(2028, 2, 29)),  # 2027 has no 29 February; 2028 does
    ],
)
def test_month_day_means_next_occurrence(text, expected):
    """A date without a year is its next occurrence from today (today included)."""
    assert parse_date(text, TODAY) == expected


def test_month_day_in_november_means_next_may():
    """The module's own example: 5-20 typed in November is next May."""
    assert parse_date("5-20", date(2026, 11, 28)) == date(2027, 5, 20)


@pytest.mark.parametrize("text", ["2027-03-15", "2027年3月15日", "3月15日"])
def test_today_is_accepted(text):
    """A deadline of today is not in the past."""
    assert parse_date(text, TODAY) == TODAY


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2027-03-14", "2027-03-14"),
        ("2026-05-20", "2026-05-20"),
        ("2000/1/1", "2000-01-01"),
        ("2027年3月1日", "2027-03-01"),
    ],
)
def test_past_full_dates_are_refused(text, iso):
    """A full date before today raises PastDate carrying the ISO date."""
    with pytest.raises(PastDate) as caught:
        parse_date(text, TODAY)
    assert caught.value.params["date"] == iso


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "明天",
        "2027-02-30",
        "2027-13-01",
        "2027-00-10",
        "2027-05-00",
        "13-40",
        "2-30",
        "0-10",
        "20.5.",
        "5",
        "2027-05",
        "27-05-20",
        "2027-05-20-01",
        "5月20日下午",
        "2027/5/20 10:00",
    ],
)
def test_garbage_is_refused(text):
    """Text that is not a date raises BadDate with the text as typed (trimmed)."""
    with pytest.raises(BadDate) as caught:
        parse_date(text, TODAY)
    assert caught.value.params["text"] == text.strip()


def test_february_29_with_no_leap_year_ahead_is_refused():
    """29 Feb typed after it passed in a leap year: next year has none, so BadDate."""
    with pytest.raises(BadDate):
        parse_date("2-29", date(2028, 3, 1))


def test_errors_carry_their_codes():
    """The handlers map these codes to texts in the user's language."""
    assert BadDate.code == "bad_date"
    assert PastDate.code == "past_date"
