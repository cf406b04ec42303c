"""The one guard against spreadsheet formulas in the CSV files staff download."""

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: str) -> str:
    """Keep a spreadsheet from running the cell as a formula, by making it text with a leading quote."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
