"""What Excel can hold, defined once: every module that reads, checks or writes a sheet
uses these (a CSV the results workbook could not show whole is refused when read)."""

from __future__ import annotations

EXCEL_MAX_ROWS = 1_048_576
"""Rows of one worksheet, the header included."""
EXCEL_CELL_CHARS = 32_767
"""The longest text one cell holds."""
EXCEL_SIGNIFICANT_DIGITS = 15
"""Digits Excel keeps of a number; a longer identifier typed into a number cell is rounded."""
MAX_COLUMNS = 1000
"""Most used columns an input may have (a shipment export has a few dozen)."""
