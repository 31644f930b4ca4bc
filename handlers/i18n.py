"""The texts, for the handlers: they live in ``texts`` (below the bot, the handlers and
the scheduler, which all use them); named here too, where handlers have always found them."""

from __future__ import annotations

from texts import DEFAULT as DEFAULT
from texts import LANGUAGES as LANGUAGES
from texts import Html as Html
from texts import catalogue as catalogue
from texts import has as has
from texts import language_of as language_of
from texts import t as t
