"""Spreadsheets and printouts: the summary form, the ledger, the city report, QR sheets.

Pure functions from data (``storage.reporting``'s dataclasses) to a workbook
or a page; they never read or change the database.
"""
