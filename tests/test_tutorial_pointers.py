"""Every pointer of the workbook leads to a tutorial section that derives what the exercise asks.

A task's ``tutorial`` names a file and the sections that derive the exercise, each by its
number and title: ``"tutorials/04_first_autoencoder.py, §7 SGD with momentum; §8 Adam's
bias correction"``.  An exercise's docstring names a section by number: "Derived in
tutorial 04, §7."  Both are resolved against the tutorials' markdown cells, whose
numbered headings (``## 7. SGD with momentum``) start the sections; a section's text is
its prose, up to the next ``##`` heading.  A pointer resolves when its file exists and
every section it names is there (number and title); it leads somewhere useful when one
of its sections states the exercise's key formulas (``KEYS``).  Only text is read here:
running the tutorials is ``test_tutorials.py``'s job.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from tinyae.workbook import TASKS

ROOT = Path(__file__).resolve().parent.parent
POINTER = re.compile(r"(?P<path>tutorials/[\w/]+\.py), (?P<sections>§.+)")
SECTION = re.compile(r"§(?P<number>\d+) (?P<title>\S.*)")
HEADING = re.compile(r"## (?P<number>\d+)\. (?P<title>.+)")
MENTION = re.compile(r"\btutorial (?P<tutorial>\d\d), §(?P<number>\d+)", re.IGNORECASE)
TITLE_ENDS = ":?,;—("  # a title may stop short of the heading's subtitle: "§1 The forward pass"

# What each exercise asks, as the tutorial must state it: every string in one section.
KEYS: dict[str, tuple[str, ...]] = {
    "1.1": ("x @ W + b",),
    "1.2": ("dW = xᵀ @ dout", "Σ_n dout", "dx = dout @ Wᵀ"),
    "2.1": ("1 / (1 + e^(−x))", "p (1 − p)"),
    "2.2": ("max(x, 0)", "dout · [x > 0]"),
    "2.3": ("tanh", "1 − out²"),
    "2.4": ("e^(x_i) / Σ_k e^(x_k)", "maximum"),
    "2.5": ("Jacobian", "out_i (δ_ij − out_j)", "dx = out · (dout − Σ_j dout_j out_j)"),
    "3.1": ("(p − y)²", "2 (p − y) / (N·D)"),
    "3.2": ("y·log p", "(p − y) / (p(1 − p))"),
    "3.3": ("max(z, 0) − z·y + log(1 + e^(−|z|))", "p − y"),
    "4.1": ("momentum", "v ← μ·v + g", "θ ← θ − lr·v"),
    "4.2": ("bias correction", "1 − β₁", "m̂ = m / (1 − β₁ᵗ)", "v̂ = v / (1 − β₂ᵗ)",
            "θ ← θ − lr · m̂ / (√v̂ + ε)"),
    "5.1": ("z = mu + std · eps", "std = exp(½ · log_var)"),
    "5.2": ("KL = −½ Σ_j (1 + log_var_j − mu_j² − exp(log_var_j))", "∂KL/∂mu = mu"),
    "6.1": ("zero_grad → forward → loss → backward → optimizer.step", "BCE", "Adam"),
}

# The sections written for the workbook's optimizers and softmax, and the exercise of each.
NEW_SECTIONS = {("04", 7): 4, ("04", 8): 5, ("02", 4): 4}


class PointerError(LookupError):
    """A pointer that does not lead to a section: no such file, number or title."""


@cache
def sections(path: Path) -> dict[int, tuple[str, str]]:
    """The numbered sections of the tutorial at ``path``: number -> (title, prose).

    Only the ``# %% [markdown]`` cells are read, their ``# `` prefixes removed; a section
    runs from its ``## N. Title`` heading to the next ``##`` heading (``## Exercises``
    too), across the code cells between.
    """
    found: dict[int, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    markdown = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            markdown = line.strip() == "# %% [markdown]"
            continue
        if not markdown:
            continue
        text = line[2:] if line.startswith("# ") else line.lstrip("#")
        if text.startswith("## "):
            heading = HEADING.fullmatch(text.strip())
            current = None
            if heading:
                number = int(heading["number"])
                assert number not in found, f"{path.name} has two sections {number}"
                current = []
                found[number] = (heading["title"].strip(), current)
        if current is not None:
            current.append(text)
    return {number: (title, "\n".join(lines)) for number, (title, lines) in found.items()}


def tutorial_file(number: str) -> Path:
    """tutorials/NN_*.py for the two digits ``number``."""
    matches = sorted((ROOT / "tutorials").glob(f"{number}_*.py"))
    if len(matches) != 1:
        raise PointerError(f"no tutorial {number} (tutorials/{number}_*.py)")
    return matches[0]


def resolve(pointer: str) -> list[tuple[Path, int, str]]:
    """The sections ``pointer`` names, each as (file, number, prose); ``PointerError`` if
    the file, a number or a title is missing or wrong."""
    match = POINTER.fullmatch(pointer)
    if not match:
        raise PointerError(f"{pointer!r} is not 'tutorials/NN_name.py, §N Title; §M Title'")
    path = ROOT / match["path"]
    if not path.is_file():
        raise PointerError(f"{pointer!r}: there is no {match['path']}")
    found = []
    for part in match["sections"].split("; "):
        section = SECTION.fullmatch(part)
        if not section:
            raise PointerError(f"{pointer!r}: {part!r} is not '§N Title'")
        number, title = int(section["number"]), section["title"]
        if number not in sections(path):
            raise PointerError(f"{pointer!r}: {path.name} has no section {number} "
                               f"(it has {sorted(sections(path))})")
        heading, prose = sections(path)[number]
        rest = heading[len(title):]
        if not heading.startswith(title) or (rest and rest[0] not in TITLE_ENDS):
            raise PointerError(f"{pointer!r}: section {number} of {path.name} is {heading!r}, "
                               f"not {title!r}")
        found.append((path, number, prose))
    return found


def resolve_mention(number: str, section: str) -> tuple[Path, int, str]:
    """The section a docstring's "tutorial NN, §N" names; ``PointerError`` if it is missing."""
    path = tutorial_file(number)
    if int(section) not in sections(path):
        raise PointerError(f"tutorial {number}, §{section}: {path.name} has no section {section}")
    return path, int(section), sections(path)[int(section)][1]


def derives(found: list[tuple[Path, int, str]], keys: tuple[str, ...]) -> bool:
    """True if one of the sections ``found`` states every one of ``keys``."""
    return any(all(key in prose for key in keys) for _, _, prose in found)


def test_every_task_has_its_key_formulas():
    assert set(KEYS) == {task.id for task in TASKS}, "add the key formulas of a new task to KEYS"


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_the_pointer_names_sections_that_derive_the_exercise(task):
    found = resolve(task.tutorial)
    assert derives(found, KEYS[task.id]), (
        f"{task.id} {task.title}: no section of {task.tutorial!r} states all of "
        f"{KEYS[task.id]}")


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_the_docstrings_name_sections_that_exist_and_derive_it(task):
    """Every "tutorial NN, §N" in the exercise's docstrings resolves; one of them derives it."""
    mentions = MENTION.findall(task.formula)
    found = [resolve_mention(number, section) for number, section in mentions]
    if found:
        assert derives(found, KEYS[task.id]), (
            f"{task.id}: no section named in its docstring ({mentions}) states all of "
            f"{KEYS[task.id]}")


@pytest.mark.parametrize("pointer", [
    "tutorials/04_first_autoencoder.py, §9 SGD with momentum",  # no section 9
    "tutorials/04_first_autoencoder.py, §7 Adam's bias correction",  # §7 has another title
    "tutorials/04_first_autoencoder.py, §7 SGD with momentum; §12 Adam",  # one of two missing
    "tutorials/04_first_autoencoder.py, §7 SGD",  # a title cut in the middle of a phrase
    "tutorials/09_nothing.py, §1 The forward pass",  # no such file
    "tutorials/04_first_autoencoder.py",  # no section named
    "tutorials/04_first_autoencoder.py, section 7",
])
def test_a_pointer_to_a_missing_section_fails(pointer):
    with pytest.raises(PointerError):
        resolve(pointer)


def test_a_docstring_mention_of_a_missing_section_fails():
    with pytest.raises(PointerError):
        resolve_mention("04", "12")
    with pytest.raises(PointerError):
        resolve_mention("09", "1")


def test_a_section_that_does_not_derive_the_exercise_is_caught():
    """The pointers of issue 25: tutorial 04 before §7 and §8, tutorial 05 for the Jacobian."""
    assert not derives(resolve("tutorials/04_first_autoencoder.py, §6 The fixes"), KEYS["4.1"])
    assert not derives(resolve("tutorials/04_first_autoencoder.py, §6 The fixes"), KEYS["4.2"])
    assert not derives(resolve("tutorials/05_data_problems.py, §2 A softmax output cannot draw "
                               "an image"), KEYS["2.5"])


@pytest.mark.parametrize(("tutorial", "number"), NEW_SECTIONS, ids=lambda v: str(v))
def test_the_new_sections_end_in_an_exercise_with_its_solution(tutorial, number):
    path, _, prose = resolve_mention(tutorial, str(number))
    exercise = NEW_SECTIONS[tutorial, number]
    assert f"**Exercise {exercise}**" in prose, f"{path.name} §{number} names no exercise"
    assert f"**Exercise {exercise}.**" in path.read_text(encoding="utf-8")
    solution = (path.parent / "solutions" / path.name).read_text(encoding="utf-8")
    assert f"## Exercise {exercise}:" in solution, f"solutions/{path.name} lacks exercise {exercise}"
