"""Percent-format scripts become valid, output-free notebooks, cell for cell."""

from __future__ import annotations

import json

import nbformat
import pytest

from tinyae.notebook import notebook_from_percent, notebook_json, split_cells

SCRIPT = """\
import os

# %% [markdown]
# # Title
#
# Prose with `code`.

# %%
x = 1 + 1


print(x)
"""


def test_cells_follow_the_markers():
    assert split_cells(SCRIPT) == [
        ("code", ["import os"]),
        ("markdown", ["# # Title", "#", "# Prose with `code`."]),
        ("code", ["x = 1 + 1", "", "", "print(x)"]),
    ]


def test_markdown_is_uncommented_and_code_kept_verbatim():
    cells = notebook_from_percent(SCRIPT)["cells"]
    assert cells[1]["source"] == ["# Title\n", "\n", "Prose with `code`."]
    assert "".join(cells[2]["source"]) == "x = 1 + 1\n\n\nprint(x)"
    assert all(cell["outputs"] == [] and cell["execution_count"] is None
               for cell in cells if cell["cell_type"] == "code")


def test_the_notebook_validates_against_nbformat_4():
    notebook = nbformat.reads(notebook_json(SCRIPT), as_version=4)
    nbformat.validate(notebook)  # raises on any schema violation
    assert [cell.cell_type for cell in notebook.cells] == ["code", "markdown", "code"]


def test_regenerating_gives_the_same_text():
    assert notebook_json(SCRIPT) == notebook_json(SCRIPT)
    assert len({cell["id"] for cell in json.loads(notebook_json(SCRIPT))["cells"]}) == 3


@pytest.mark.parametrize("source", ["", "\n\n", "# %%\n\n# %% [markdown]\n"])
def test_empty_cells_are_dropped(source):
    assert notebook_from_percent(source)["cells"] == []
