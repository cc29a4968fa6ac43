"""Look things up by name (``"relu"``, ``"adam"``, …) with an error that lists the choices."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar, overload

T = TypeVar("T")


# A mapping is also a collection of its keys; for the type checker the first match wins.
@overload
def lookup(table: Mapping[str, T], name: str,  # type: ignore[overload-overlap]
           kind: str) -> T: ...
@overload
def lookup(table: Collection[str], name: str, kind: str) -> str: ...


def lookup(table, name, kind):
    """``table[name]`` from a mapping, or the name itself from a collection of valid names.

    Names are case-insensitive: ``"ReLU"`` finds ``"relu"``, and a collection returns the
    name in lower case, as the table spells it.  An unknown name raises a ``ValueError``
    that says which ``kind`` of thing was asked for and lists every valid name.
    """
    key = str(name).lower()
    if key in table:
        return table[key] if isinstance(table, Mapping) else key
    raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}")
