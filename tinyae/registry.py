"""Look things up by name (``"relu"``, ``"adam"``, …) with an error that lists the choices."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def lookup(table: dict[str, T], name: str, kind: str) -> T:
    """``table[name.lower()]``, or a ``ValueError`` naming the ``kind`` and every valid name."""
    try:
        return table[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}") from None
