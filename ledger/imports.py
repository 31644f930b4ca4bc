"""Rows of an import spreadsheet once checked, and what is wrong with a bad row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """What is wrong with one row: ``code`` names the text, ``column`` the header."""

    row: int
    code: str
    column: str = ""


@dataclass(frozen=True)
class SchoolRow:
    row: int
    name: str
    kind: str
    ownership: str
    district: str
    principal: str
    phone: str


@dataclass(frozen=True)
class BuildingRow:
    row: int
    name: str
    use: str
    floors: int
    year_built: int
