"""The workbook's parts in order, and the tasks they hold: the one list the rest reads.

Each topic module defines its ``PART`` (the code with its blanks, the tasks and their
checks); this module only puts them in the order a student meets them.  It has a module
of its own so that both the package (``check_task``) and the writer (``source.py``) can
import the list without importing each other.
"""

from __future__ import annotations

from tinyae.workbook import activations, capstone, dense, losses, optimizers, vae
from tinyae.workbook.task import Part, Task

PARTS: tuple[Part, ...] = (dense.PART, activations.PART, losses.PART, optimizers.PART, vae.PART,
                          capstone.PART)
TASKS: list[Task] = [task for part in PARTS for task in part.tasks]
