"""Tests for tinyae.text.format_table: alignment, the header rule, dict rows, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import PROPERTY
from tinyae.text import format_cell, format_table

words = st.text(alphabet="abcxyz0123(),.", min_size=1, max_size=12)  # cells without spaces


def test_dict_rows_align_under_their_header():
    text = format_table([{"a": 1, "b": 0.123456}, {"a": 10, "b": "x"}])
    lines = text.splitlines()
    assert lines[0].split() == ["a", "b"] and set(lines[1]) == {"-"}
    assert lines[2].split() == ["1", "0.1235"] and lines[3].split() == ["10", "x"]
    assert lines[2].index("0.1235") == lines[3].index("x") == lines[0].index("b")


@given(grid=st.integers(1, 5).flatmap(
    lambda n_columns: st.lists(st.lists(words, min_size=n_columns, max_size=n_columns),
                               min_size=2, max_size=6)))
@PROPERTY
def test_every_column_starts_at_one_offset_two_spaces_after_the_widest_cell(grid):
    header, rows = grid[0], grid[1:]
    lines = format_table(rows, header=header).splitlines()
    assert lines[1] == "-" * len(lines[0])  # the rule is as wide as the header line
    body = [lines[0]] + lines[2:]
    start = 0
    for c in range(len(header)):
        for line, cells in zip(body, grid):
            assert line[start:start + len(cells[c])] == cells[c]
        start += max(len(cells[c]) for cells in grid) + 2
    assert all(line == line.rstrip() for line in lines)


def test_without_a_rule_the_rows_follow_the_header():
    text = format_table([("d0.W", "(6, 4)", "ok")], header=("gradient", "shape", ""), rule=False)
    assert text == "gradient  shape\nd0.W      (6, 4)  ok"


def test_header_picks_and_orders_dict_columns_and_missing_cells_stay_blank():
    text = format_table([{"a": 1, "b": 2, "c": 3}, {"c": 4}], ["c", "a"])
    assert text.splitlines() == ["c  a", "----", "3  1", "4"]


def test_cells_numbers_to_four_significant_digits_integers_in_full():
    assert [format_cell(v) for v in (True, np.bool_(False), 123456789, np.int64(7),
                                     3.14159265, np.float32(2.5), 1e-7, "text", None)] == \
        ["True", "False", "123456789", "7", "3.142", "2.5", "1e-07", "text", "None"]


def test_no_rows_and_bad_rows_are_clear():
    assert format_table([]) == "(no rows)"
    assert format_table([], header=["a", "b"]).splitlines() == ["a  b", "----"]
    with pytest.raises(ValueError, match=r"row 1 has 1 cells but the header has 2 columns"):
        format_table([(1, 2), (3,)], header=["a", "b"])
    with pytest.raises(ValueError, match=r"need column names.*header="):
        format_table([(1, 2)])
