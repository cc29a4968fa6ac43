"""Tests for tinyae.registry.lookup: mappings, collections of names, case, the error."""

import pytest

from tinyae.registry import lookup

TABLE = {"relu": 1, "sigmoid": 2}


def test_a_mapping_gives_the_value_of_the_name_in_any_case():
    assert lookup(TABLE, "relu", "activation") == 1
    assert lookup(TABLE, "SigMoid", "activation") == 2


def test_a_collection_of_names_gives_the_name_as_the_table_spells_it():
    assert lookup(("sum", "mean", "batchmean"), "BatchMean", "reduction") == "batchmean"
    assert lookup({"sum", "mean"}, "mean", "reduction") == "mean"


@pytest.mark.parametrize("table", [TABLE, ("sigmoid", "relu"), frozenset(TABLE)])
def test_an_unknown_name_says_what_it_was_and_lists_the_choices_sorted(table):
    with pytest.raises(ValueError, match=r"^unknown activation 'tanh'; choose one of "
                                         r"\['relu', 'sigmoid'\]$"):
        lookup(table, "tanh", "activation")
    with pytest.raises(ValueError, match=r"unknown activation None"):
        lookup(table, None, "activation")
