"""Reminders: planned from the ledger and a clock (``planner``, pure), written to the
durable outbox (``jobs``), sent within Telegram's limits (``sender``)."""
