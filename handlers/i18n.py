"""The texts, for the handlers: they live in ``ledger.texts`` (below the bot, the handlers and
the scheduler, which all use them); named here too, where handlers have always found them."""

from __future__ import annotations

from ledger.texts import DEFAULT as DEFAULT
from ledger.texts import LANGUAGES as LANGUAGES
from ledger.texts import Html as Html
from ledger.texts import catalogue as catalogue
from ledger.texts import has as has
from ledger.texts import language_of as language_of
from ledger.texts import t as t
