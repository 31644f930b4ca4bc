"""Spreadsheets with openpyxl: the summary form, the ledger, the city report.

Empty until the reports issue lands; the package exists so the layout of
ARCHITECTURE.md holds from the start.
"""
