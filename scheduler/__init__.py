"""Reminders (planned from the ledger and a clock, sent through a durable outbox).

Empty until the reminders issue lands; the package exists so the layout of
ARCHITECTURE.md holds from the start.
"""
