"""Keyboards of lists that can grow without bound, in pages within Telegram's limits.

Telegram (TDLib) keeps the first 12 buttons of a row and the first 300 of a
keyboard and drops the rest without a word (``telegram_rules.request``): a
person past the 300th could never be chosen. A list that may grow (a city's
schools, a school's colleagues, its invitations…) is shown a page at a time,
each page far within both limits, with typed "back" and "more" buttons that
show the page before or after; each list names its own turning button (a
``Tap`` taking the page number), so a turn knows which list it turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from handlers.base import Button, Ctx
from handlers.buttons import Tap
from telegram_rules.request import ALL_BUTTONS, ROW_BUTTONS

PER_PAGE = 20  # entries on one page: a phone screen's worth, and far below 300 buttons


@dataclass(frozen=True)
class Page:
    """One page of a list: which entries it shows, and the keyboard rows to show them."""

    number: int  # 1-based, within 1..count
    count: int
    shown: range  # the entries' indexes on this page
    rows: list[list[Button]]


def page_of(
    ctx: Ctx,
    entries: Sequence[Button],
    number: int,
    turn: Callable[[int], Tap],
    *,
    per_row: int = 1,
    per_page: int = PER_PAGE,
    above: int = 0,
) -> Page:
    """Page ``number`` (clamped) of ``entries``' buttons, ``per_row`` a row, with a row of
    "back" and "more" turns when there is more than one page. ``above``: buttons the
    keyboard holds besides (a menu's own rows), counted against the 300."""
    if not 1 <= per_row <= ROW_BUTTONS or per_page + 2 + above > ALL_BUTTONS:
        raise ValueError("a page must fit Telegram's keyboard limits")
    count = max(1, -(-len(entries) // per_page))
    number = min(max(number, 1), count)
    shown = range((number - 1) * per_page, min(number * per_page, len(entries)))
    buttons = [entries[i] for i in shown]
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    turns = []
    if number > 1:
        turns.append(turn(number - 1).labelled(ctx.t("pages.back", page=number - 1)))
    if number < count:
        turns.append(turn(number + 1).labelled(ctx.t("pages.more", page=number + 1)))
    if turns:
        rows.append(turns)
    return Page(number, count, shown, rows)


def page_line(ctx: Ctx, page: Page) -> str:
    """ "Page 2 of 16", under a list that has more than one."""
    return ctx.t("pages.at", page=page.number, pages=page.count) if page.count > 1 else ""
