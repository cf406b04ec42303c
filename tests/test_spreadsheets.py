"""The one guard that keeps spreadsheets from running the cells of a CSV export."""

import pytest

from archive.spreadsheets import FORMULA_STARTS, formula_safe


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_that_would_run_as_a_formula_is_made_text(start):
    assert (
        formula_safe(f'{start}HYPERLINK("http://example.invalid")') == f'\'{start}HYPERLINK("http://example.invalid")'
    )


@pytest.mark.parametrize("value", ["", "reader@example.org", "a=b", "Part 1", "'quoted"])
def test_ordinary_cells_are_left_alone(value):
    assert formula_safe(value) == value


def test_every_export_and_the_sign_up_form_use_the_one_guard():
    from advocacy import forms, services
    from stories import exports

    assert set(FORMULA_STARTS) >= {"=", "+", "-", "@", "\t", "\r"}
    assert services.formula_safe is exports.formula_safe is formula_safe
    assert forms.FORMULA_STARTS is FORMULA_STARTS
