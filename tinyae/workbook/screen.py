"""Read a student's workbook, without running it, for work that is not the student's.

The student's code runs in a child process that cannot be trusted to say where its
classes came from, so that question is answered here, from the source alone (``ast``),
in the grader.  ``screen(cells)`` returns a ``Screening``: for each task that earns
nothing, why; and, if the code could reach anything without naming it, why no task
can be trusted at all.  Five rules:

1. Borrowing.  A reference that resolves to tinyae's own implementation of a concept
   (``tinyae.Dense``, ``tinyae.layers.sigmoid``, ``tinyae.fit``, …) zeroes that concept's
   tasks, and the tasks of every graded class or function that uses it, directly or
   through a name of the workbook.  References are resolved by importing the real
   modules here and following the attribute chain with ``getattr`` — tinyae's and
   NumPy's code, never the student's.  An ``if __name__ == "__main__":`` block never
   runs when graded, so it may use tinyae's classes (to compare, say).
2. tinyae's surface.  Besides the concepts, a workbook may use ``Layer``, ``Loss``,
   ``Optimizer``, ``Sequential``, ``init``, ``check_layer`` (and ``check_loss``,
   ``check_model``), ``load_mnist``, ``plot``, tinyae's exceptions, and ``TASKS``,
   ``check_task``, ``get_task`` of ``tinyae.workbook``.  Anything else of tinyae — the
   grader, the answer key — means no task can be trusted.
3. Structure.  A graded class is one top-level ``class`` statement, undecorated, whose
   bases are ``tinyae.Layer``, ``Loss``, ``Optimizer``, ``object``, or classes of the
   workbook that obey the same rule; a graded function is one undecorated top-level
   ``def``.  A graded name bound or changed anywhere else earns nothing.
4. Dynamic code.  ``exec``, ``getattr`` and their kin, imports beyond NumPy, math and a
   few helpers, internal attributes (``__subclasses__``, ``gi_frame``), private ones of
   other objects, and changes to imported modules mean no task can be trusted: such
   code can reach tinyae's classes without naming them.
5. Copies.  A comment of the answer key's solution, found in the method that holds
   that solution, zeroes the task.  Only comments can tell a copy: an answer retyped
   without them reads like any other right answer.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import io
import tokenize
import types
import typing
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tinyae
from tinyae import gradcheck
from tinyae.workbook.parts import PARTS, TASKS
from tinyae.workbook.task import END, SOLUTION

QUOTE = 60  # characters of a quoted construct, at most
MIN_COMMENT = 12  # a shorter comment of the answer key proves nothing: anyone may write it

# Modules a workbook may import besides tinyae, and pass through in an attribute chain.
ALLOWED_IMPORTS = frozenset({
    "numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.typing", "math", "typing",
    "__future__", "dataclasses", "functools", "itertools", "collections", "collections.abc",
    "matplotlib", "matplotlib.pyplot"})
ALLOWED_MODULES = ALLOWED_IMPORTS - {"__future__"}
IMPORTS_HINT = ("import only numpy, math, typing, dataclasses, functools, itertools, collections, "
                "matplotlib.pyplot and tinyae")
# Where the objects of those modules are defined (``functools.reduce`` lives in ``_functools``).
EXTERNAL_HOMES = frozenset({"numpy", "matplotlib", "math", "typing", "dataclasses", "functools",
                            "_functools", "itertools", "collections", "_collections",
                            "_collections_abc"})
# tinyae modules a workbook uses freely, with their submodules.
FREE_MODULES = ("tinyae.init", "tinyae.plot")
SURFACE = ("Layer, Loss, Optimizer, Sequential, init, check_layer, load_mnist, plot, and TASKS, "
           "check_task, get_task of tinyae.workbook")
# The concepts whose modules hold no object named like their task (the others are found
# from ``getattr(tinyae, task.name)``): module -> the part whose tasks it implements.
OTHER_CONCEPTS = {"tinyae.tied": "1", "tinyae.models.vae": "5", "tinyae.models.autoencoder": "6",
                  "tinyae.models.base": "6", "tinyae.train": "6"}
# Builtins that reach code or names the reader cannot see, and what each does.
DYNAMIC_BUILTINS = {
    "exec": "runs code made at run time", "eval": "runs code made at run time",
    "compile": "makes code at run time", "__import__": "imports a module by name",
    "getattr": "reaches an attribute by a computed name",
    "setattr": "sets an attribute by a computed name",
    "delattr": "deletes an attribute by a computed name",
    "vars": "reads a namespace as a dict", "globals": "reads the module's namespace as a dict",
    "locals": "reads a namespace as a dict", "open": "opens files",
    "breakpoint": "stops for a debugger", "input": "waits for typed input"}
KEPT_ATTRIBUTES = frozenset({"__init__", "__name__", "__class__"})  # dunders a workbook may read
KEPT_NAMES = frozenset({"__name__", "__file__", "__doc__", "__debug__", "__class__"})
PROTECTED_NAMES = frozenset({"__name__", "__builtins__"})  # never assigned
# Attributes that reach raw memory, files, or the interpreter's frames (and their globals).
RAW_ATTRIBUTES = frozenset({
    "ctypes", "tofile", "dump", "dumps", "f_back", "f_builtins", "f_code", "f_globals",
    "f_locals", "tb_frame", "tb_next", "gi_frame", "gi_code", "cr_frame", "cr_code",
    "ag_frame", "ag_code"})
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
          ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Screening:
    """What reading the workbook found: the tasks that earn nothing, and why.

    ``tasks`` maps a task id to one sentence saying where (file or cell, line), what
    (the construct, quoted) and what to do instead; ``everything`` is "" or why no task
    can be trusted (code that could reach anything without naming it).
    """

    tasks: dict[str, str] = field(default_factory=dict)
    everything: str = ""


def zeroed(screening: Screening, task_id: str) -> str:
    """Why task ``task_id`` earns nothing ("" if it may earn its points)."""
    return screening.everything or screening.tasks.get(task_id, "")


def screen(cells: list[tuple[str, str]]) -> Screening:
    """Read ``cells`` (``[(filename, source), …]``, as ``code_cells`` gives them) and judge.

    A cell that is not valid Python gives an empty ``Screening``: loading the workbook
    reports the syntax error, and no task then earns anything.
    """
    try:
        parsed = [Cell(Path(name).name, source, ast.parse(source)) for name, source in cells]
    except (SyntaxError, ValueError):  # ValueError: a null byte in the source
        return Screening()
    return Reader(parsed).screening()


@dataclass(frozen=True)
class Cell:
    """One cell (or the whole script): its name as the student sees it, its text and tree."""

    name: str
    source: str
    tree: ast.Module

    def where(self, node: ast.AST) -> str:
        """``"workbook.py, line 12"``: where ``node`` starts."""
        return f"{self.name}, line {getattr(node, 'lineno', 1)}"

    def quote(self, node: ast.AST) -> str:
        """``node``'s text, on one line and at most ``QUOTE`` characters; a header for a block."""
        if isinstance(node, ast.ClassDef):
            text = f"class {node.name}({', '.join(map(ast.unparse, [*node.bases, *node.keywords]))})"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            text = f"def {node.name}({ast.unparse(node.args)})"
        else:
            text = ast.get_source_segment(self.source, node) or ast.unparse(node)
            if isinstance(node, ast.stmt | ast.excepthandler) and hasattr(node, "body"):
                # a compound statement or an except clause: its first line
                text = text.splitlines()[0]
        return shorten(text)


def shorten(text: str) -> str:
    """``text`` on one line, cut to ``QUOTE`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[:QUOTE - 1] + "…"


# ---------------------------------------------------------------- what a reference reaches


@dataclass(frozen=True)
class Verdict:
    """What a reference reaches: a concept of tinyae, a reason for distrust, or nothing to say.

    ``value`` is the object reached and ``home`` the module it was found in; ``known`` is
    False if it could not be reached (``np.sigmoid`` fails when it runs: nothing to judge).
    """

    tasks: tuple[str, ...] = ()  # the tasks of the concept the object implements
    label: str = ""  # that concept's name: "Dense"
    distrust: str = ""  # why no task can be trusted: "imports os, …"
    value: Any = None
    home: str = ""
    known: bool = False


def is_tinyae(module: str) -> bool:
    """True for the name of tinyae or of one of its modules."""
    return module == "tinyae" or module.startswith("tinyae.")


def is_free(module: str) -> bool:
    """True for tinyae.init, tinyae.plot and plot's modules: a workbook uses them freely."""
    return any(module == free or module.startswith(free + ".") for free in FREE_MODULES)


def in_workbook_package(name: str) -> bool:
    """True for ``tinyae.workbook`` and what is in it: the grader and the answer key."""
    return name == "tinyae.workbook" or name.startswith("tinyae.workbook.")


def plain(name: str) -> str:
    """``name`` to compare with a task's: ``"kl_divergence"`` → ``"kldivergence"``."""
    return name.replace("_", "").lower()


@functools.cache
def allowed_objects() -> tuple[Any, ...]:
    """tinyae's objects a workbook may use: the bases, the model, the checks, the data, the tasks."""
    from tinyae.workbook import check_task, get_task

    return (tinyae.Layer, tinyae.Loss, tinyae.Optimizer, tinyae.Sequential, tinyae.check_layer,
            tinyae.check_loss, tinyae.check_model, tinyae.load_mnist, TASKS, check_task, get_task)


@functools.cache
def concept_modules() -> dict[str, tuple[str, ...]]:
    """Each module of tinyae that implements concepts → the ids of those concepts' tasks."""
    ids: dict[str, list[str]] = {}
    for task in TASKS:
        obj = getattr(tinyae, task.name, None)  # tinyae.Dense for Dense's tasks
        if obj is not None:
            ids.setdefault(obj.__module__, []).append(task.id)
    for module, part in OTHER_CONCEPTS.items():
        ids.setdefault(module, []).extend(task.id for task in TASKS if task.id.split(".")[0] == part)
    return {module: tuple(task_ids) for module, task_ids in ids.items()}


@functools.cache
def navigable() -> frozenset[str]:
    """The tinyae modules a reference may pass through: the concepts' and the surface's, with parents."""
    homes = [getattr(obj, "__module__", None) for obj in allowed_objects()]
    names = {"tinyae.workbook", *FREE_MODULES, *concept_modules(),
             *(home for home in homes if isinstance(home, str))}
    return frozenset(".".join(name.split(".")[:n]) for name in names
                     for n in range(1, name.count(".") + 2))


def reachable(module: str) -> bool:
    """True for a tinyae module that a workbook's reference may pass through."""
    return module in navigable() or is_free(module)


@functools.cache
def banned_objects() -> tuple[tuple[Any, str], ...]:
    """Objects of the allowed modules that no workbook may use, each with what it does."""
    files = [np.load, np.save, np.savez, np.savez_compressed, np.savetxt, np.loadtxt, np.genfromtxt,
             np.fromfile, np.memmap]
    strings = [typing.get_type_hints, functools.singledispatch, functools.singledispatchmethod]
    return (*((obj, "reads or writes files") for obj in files),
            *((obj, "evaluates strings as code") for obj in strings),
            *((getattr(builtins, name), why) for name, why in DYNAMIC_BUILTINS.items()))


def concept_tasks(obj: Any, name: str, home: str) -> tuple[str, ...]:
    """The tasks of the concept that ``obj`` (called ``name``, found in ``home``) implements; ().

    Within its module, an object named like a task (``sigmoid`` for ``Sigmoid``,
    ``kl_divergence`` for ``KLDivergence``) counts for that task, one whose name holds a
    task's (``TiedDense``) for that one, and any other for all the module's tasks.
    """
    if obj is gradcheck.numerical_gradient or obj is gradcheck.centred_difference:
        return tuple(task.id for task in TASKS)  # a gradient by differences is not derived
    ids = concept_modules().get(home, ())
    tasks = [task for task in TASKS if task.id in ids]
    exact = [task.id for task in tasks if plain(task.name) == plain(name)]
    within = [task.id for task in tasks if plain(task.name) in plain(name)]
    return tuple(exact or within or ids)


def tinyae_distrust(qualified: str) -> str:
    """Why reaching ``qualified``, a part of tinyae outside the workbook's surface, is distrusted."""
    if in_workbook_package(qualified):
        return (f"reaches into tinyae's grader/answer key ({qualified}), so no exercise can be "
                f"trusted: from tinyae.workbook use only TASKS, check_task and get_task")
    return (f"reaches {qualified}, outside tinyae's surface for the workbook ({SURFACE}), so no "
            f"exercise can be trusted: write that part yourself")


class Resolver:
    """Follows a reference through the real modules, step by step, to what it reaches."""

    def follow(self, obj: Any, found_in: str, attrs: Iterable[str], as_value: bool) -> Verdict:
        """The verdict on ``obj.attr1.attr2…``, where ``obj`` was found in module ``found_in``.

        ``as_value``: the result is used (not bound by an import), so a module there is
        distrusted — passed around as a value, it hides what is reached through it.
        """
        verdict, inside = self.classify(obj, getattr(obj, "__name__", found_in), found_in, False)
        for attr in attrs:
            if verdict.tasks or verdict.distrust:
                break
            found_in = self.home(obj, found_in)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    obj = getattr(obj, attr)
            except (AttributeError, ImportError):  # ImportError: a lazy submodule that is missing
                if not is_tinyae(found_in):
                    return Verdict()  # np.sigmoid fails when it runs, having reached nothing
                try:  # a module of tinyae that no one has imported yet
                    obj = self.import_reachable(f"{found_in}.{attr}")
                except ImportError:
                    return Verdict(distrust=tinyae_distrust(f"{found_in}.{attr}")
                                   if in_workbook_package(found_in) else
                                   f"cannot be resolved into tinyae ({found_in}.{attr}), so no "
                                   f"exercise can be trusted: use only {SURFACE}")
            verdict, inside = self.classify(obj, attr, found_in, inside)
        if verdict.tasks or verdict.distrust:
            return Verdict(verdict.tasks, verdict.label, verdict.distrust, obj, found_in, True)
        if as_value and isinstance(obj, types.ModuleType):
            return Verdict(distrust=f"passes the module {obj.__name__} around as a value, which hides "
                                    f"what is reached through it, so no exercise can be trusted: "
                                    f"name the function where you call it, as in `np.exp(x)`")
        return Verdict(value=obj, home=found_in, known=True)

    @staticmethod
    def import_reachable(module: str) -> types.ModuleType:
        """Import ``module`` of tinyae if a workbook may reach it; ``ImportError`` if not."""
        if not reachable(module):
            raise ImportError(module)
        return importlib.import_module(module)

    @staticmethod
    def home(obj: Any, found_in: str) -> str:
        """The module ``obj`` is defined in: a module's own name, else ``__module__``, else ``found_in``."""
        if isinstance(obj, types.ModuleType):
            return obj.__name__
        module = getattr(obj, "__module__", None)
        return module if isinstance(module, str) else found_in

    def classify(self, obj: Any, name: str, found_in: str, inside: bool) -> tuple[Verdict, bool]:
        """The verdict on one step, and whether the next steps are members of an allowed object.

        A member of an allowed object (``tinyae.Layer.forward``) or of an allowed outside
        module (``np.random``) is allowed; a member of a tinyae module is judged itself.
        """
        if isinstance(obj, types.ModuleType):
            module = obj.__name__
            if is_tinyae(module):
                ok = reachable(module)
                return (Verdict() if ok else Verdict(distrust=tinyae_distrust(module))), False
            if module in ALLOWED_MODULES:
                return Verdict(), True
            return Verdict(distrust=f"reaches the module {module}, which no workbook needs, so no "
                                    f"exercise can be trusted: use only NumPy (random, linalg, fft), "
                                    f"math and matplotlib.pyplot"), False
        for banned, why in banned_objects():
            if obj is banned:
                return Verdict(distrust=f"{why}, so no exercise can be trusted: compute in memory, "
                                        f"with plain code"), False
        home = self.home(obj, found_in)
        if inside or any(obj is allowed for allowed in allowed_objects()):
            return Verdict(), True
        if in_workbook_package(home):
            return Verdict(distrust=tinyae_distrust(f"{home}.{name}")), False
        if isinstance(obj, type) and issubclass(obj, BaseException) and is_tinyae(home):
            return Verdict(), True  # raising tinyae's ShapeError borrows no work
        tasks = concept_tasks(obj, name, home)
        if tasks:
            return Verdict(tasks, getattr(obj, "__name__", name)), False
        if is_tinyae(home):
            if is_free(home):
                return Verdict(), True
            return Verdict(distrust=tinyae_distrust(f"{home}.{name}")), False
        if home.split(".")[0] in EXTERNAL_HOMES:
            return Verdict(), True
        return Verdict(distrust=f"reaches {home}.{name}, which no workbook needs, so no exercise "
                                f"can be trusted: use only NumPy, math and matplotlib"), False

    def imported(self, node: ast.Import | ast.ImportFrom) -> list[tuple[str, Verdict]]:
        """Each name ``node`` binds ("" for none) with the verdict on what it binds."""
        if isinstance(node, ast.Import):
            bound = []
            for alias in node.names:
                verdict = self.module(alias.name)
                if verdict.known and not alias.asname:  # `import a.b` binds a
                    verdict = self.module(alias.name.split(".")[0])
                bound.append((alias.asname or alias.name.split(".")[0], verdict))
            return bound
        if node.level or any(alias.name == "*" for alias in node.names):
            what = "imports from a relative package" if node.level else "hides which names it imports"
            return [("", Verdict(distrust=f"{what}, so no exercise can be trusted: import the "
                                          f"names you use, by name"))]
        module = node.module or ""
        if module == "__future__":
            return []
        root = self.module(module)
        if not root.known:
            return [("", root)]
        return [(alias.asname or alias.name, self.follow(root.value, module, [alias.name], False))
                for alias in node.names]

    def module(self, name: str) -> Verdict:
        """The verdict on importing module ``name``, with the module if a workbook may import it."""
        if not is_tinyae(name) and name not in ALLOWED_IMPORTS:
            return Verdict(distrust=f"imports {name}, which no workbook needs, so no exercise can "
                                    f"be trusted: {IMPORTS_HINT}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = self.import_reachable(name) if is_tinyae(name) else importlib.import_module(name)
        except ImportError:
            if is_tinyae(name):
                return Verdict(distrust=tinyae_distrust(name))
            return Verdict()  # not installed: the import fails when the workbook loads
        return Verdict(value=module, home=name, known=True)


# ---------------------------------------------------------------- reading the workbook


@dataclass(frozen=True)
class Ref:
    """One reference to tinyae's own implementation of a concept."""

    tasks: tuple[str, ...]
    label: str  # "Dense"
    where: str  # "workbook.py, line 12"
    quote: str  # "class Dense(tinyae.Dense)"
    verb: str  # "inherits" or "uses"


@dataclass(frozen=True)
class Binding:
    """A place where a name is bound or changed."""

    kind: str  # "class" or "def" (its statement), "attribute" (`Name.x = …`) or "other"
    top: bool  # the statement is at the top level of its cell
    cell: Cell
    node: ast.AST  # what to quote: the statement


class Reader(ast.NodeVisitor):
    """Reads every cell, top-level statement by statement, then gives the verdicts.

    The reading records: the references to tinyae's concepts in each top-level statement
    (outside the ``__main__`` block), the workbook's names each statement reads, where
    every name is bound, and each reason for distrust.
    """

    def __init__(self, cells: list[Cell]) -> None:
        self.cells, self.resolver = cells, Resolver()
        self.statements = [(cell, stmt) for cell in cells for stmt in cell.tree.body]
        self.parents = {child: parent for cell in cells for parent in ast.walk(cell.tree)
                        for child in ast.iter_child_nodes(parent)}
        self.imports = {node: self.resolver.imported(node) for cell in cells
                        for node in ast.walk(cell.tree) if isinstance(node, ast.Import | ast.ImportFrom)}
        self.aliases: dict[str, list[Verdict]] = {}  # an imported name → what it is bound to
        for bound in self.imports.values():
            for name, verdict in bound:
                if name and verdict.known and not verdict.distrust:
                    self.aliases.setdefault(name, []).append(verdict)
        self.binders: dict[str, list[int]] = {}  # a module-level name → the statements binding it
        for index, (_, stmt) in enumerate(self.statements):
            if not isinstance(stmt, ast.Import | ast.ImportFrom):
                for name in bound_names([stmt]):
                    self.binders.setdefault(name, []).append(index)
        self.distrust: list[str] = []
        self.refs: list[list[Ref]] = [[] for _ in self.statements]
        self.links: list[dict[str, None]] = [{} for _ in self.statements]  # names read, in order
        self.bindings: dict[str, list[Binding]] = {}
        self.scopes: list[tuple[str, set[str]]] = []  # ("function" or "class", its names)
        self.base_of: ast.ClassDef | None = None  # the class whose bases are being read
        self.in_main = False  # reading the body of `if __name__ == "__main__":`
        self.index: int  # the top-level statement being read, its cell and itself
        self.cell: Cell
        self.top: ast.stmt
        for index, (cell, stmt) in enumerate(self.statements):
            self.index, self.cell, self.top = index, cell, stmt
            self.visit(stmt)

    # -- the verdicts

    def screening(self) -> Screening:
        """Each task's first reason, rule by rule (borrowing, structure, use, copies); distrust."""
        tasks: dict[str, str] = {}
        for task_id, reason in [*self.borrowed(), *self.structure(), *self.used(), *self.copied()]:
            tasks.setdefault(task_id, reason)
        return Screening({task.id: tasks[task.id] for task in TASKS if task.id in tasks},
                         self.distrust[0] if self.distrust else "")

    def borrowed(self) -> Iterator[tuple[str, str]]:
        """Rule 1: a concept referenced zeroes its own tasks."""
        titles = {task.id: task.title for task in TASKS}
        for refs in self.refs:
            for ref in refs:
                advice = ("subclass tinyae.Layer, Loss or Optimizer and write it yourself with NumPy"
                          if ref.verb == "inherits" else "write it yourself with NumPy (compare with "
                          "tinyae's only under `if __name__ == \"__main__\":`)")
                for task_id in ref.tasks:
                    yield task_id, (f"{ref.where}: `{ref.quote}` {ref.verb} tinyae's own {ref.label}: "
                                    f"exercise {task_id} grades your {titles[task_id]}, so it must be "
                                    f"yours — {advice}")

    def used(self) -> Iterator[tuple[str, str]]:
        """Rule 1 again: a graded class or function that uses a borrowed concept earns nothing."""
        for name, ids in graded_names().items():
            for index, (_, stmt) in enumerate(self.statements):
                if not (isinstance(stmt, ast.ClassDef | ast.FunctionDef) and stmt.name == name
                        and isinstance(stmt, graded_kinds()[name])):
                    continue
                found = self.first_ref(index, {index})
                if found:
                    ref, through = found
                    how = f"through `{through}`" if through else "in its own code"
                    for task_id in ids:
                        yield task_id, (f"{ref.where}: `{ref.quote}` {ref.verb} tinyae's own "
                                        f"{ref.label}, and your {name} uses it {how}: exercise "
                                        f"{task_id} grades only your own work — write that part "
                                        f"yourself with NumPy")

    def first_ref(self, index: int, seen: set[int]) -> tuple[Ref, str] | None:
        """The first concept referenced by statement ``index`` or by a statement whose name it reads,
        and that name ("" for its own reference)."""
        if self.refs[index]:
            return self.refs[index][0], ""
        for name in self.links[index]:
            for other in self.binders.get(name, []):
                if other not in seen:
                    seen.add(other)
                    found = self.first_ref(other, seen)
                    if found:
                        return found[0], name
        return None

    def structure(self) -> Iterator[tuple[str, str]]:
        """Rule 3: each graded name is one plain top-level ``class`` or ``def``, changed nowhere else."""
        for name, ids in graded_names().items():
            problem = self.definition_problem(name, graded_kinds()[name], {name}, graded=True)
            if problem:
                for task_id in ids:
                    yield task_id, problem

    def definition_problem(self, name: str, kind: type[ast.stmt], seen: set[str], graded: bool) -> str:
        """Why ``name`` is not one plain top-level ``class``/``def`` (``kind``) of the workbook; ""."""
        keyword = "class" if kind is ast.ClassDef else "def"
        once = f"define {name} once, as a top-level `{keyword} {name}`, and change it only there"
        bindings = self.bindings.get(name, [])
        definitions = [b for b in bindings if b.top and b.kind == keyword]
        others = [b for b in bindings if not (b.top and b.kind == keyword)]
        if not bindings and graded:
            return ""  # missing: loading the workbook says so
        if others:
            first = others[0]
            what = (f"changes {name} from outside its {keyword}" if first.kind == "attribute"
                    else f"binds {name} where it is not a top-level `{keyword}`")
            return f"{first.cell.where(first.node)}: `{first.cell.quote(first.node)}` {what}: {once}"
        if len(definitions) > 1:
            second = definitions[1]
            return (f"{second.cell.where(second.node)}: `{second.cell.quote(second.node)}` defines "
                    f"{name} a second time: keep one definition and delete the other")
        cell, node = definitions[0].cell, definitions[0].node
        assert isinstance(node, ast.ClassDef | ast.FunctionDef)
        if node.decorator_list:
            return (f"{cell.where(node)}: `@{shorten(ast.unparse(node.decorator_list[0]))}` decorates "
                    f"{name}, which can replace it with anything: remove the decorator")
        if isinstance(node, ast.ClassDef):
            if node.keywords:
                return (f"{cell.where(node)}: `{cell.quote(node)}` passes class keywords (a "
                        f"metaclass?): derive {name} plainly from tinyae.Layer, Loss or Optimizer")
            for base in node.bases:
                problem = self.base_problem(base, node, cell, seen)
                if problem:
                    return problem
        return ""

    def base_problem(self, base: ast.expr, node: ast.ClassDef, cell: Cell, seen: set[str]) -> str:
        """Why ``base`` is not tinyae.Layer/Loss/Optimizer, ``object`` or a plain class of the workbook."""
        if isinstance(base, ast.Name) and base.id == "object" and not self.bindings.get("object"):
            return ""
        verdict = self.resolve(base)
        if verdict is not None:
            if verdict.known and any(verdict.value is ok for ok in (tinyae.Layer, tinyae.Loss,
                                                                      tinyae.Optimizer)):
                return ""
        elif isinstance(base, ast.Name) and base.id not in seen and any(
                b.top and isinstance(b.node, ast.ClassDef) for b in self.bindings.get(base.id, [])):
            return self.definition_problem(base.id, ast.ClassDef, seen | {base.id}, graded=False)
        return (f"{cell.where(node)}: `{cell.quote(node)}` derives {node.name} from "
                f"`{shorten(ast.unparse(base))}`, which is not tinyae.Layer, Loss, Optimizer, object "
                f"or a plain class of your workbook: derive it from one of those")

    def copied(self) -> Iterator[tuple[str, str]]:
        """Rule 5: a comment of the answer key's solution, in a function that holds that solution."""
        holders, comments = key_comments()
        for cell in self.cells:
            found = comments_by_line(cell.source)
            for place, (first, last) in functions_in(cell.tree):
                for task_id, places in holders.items():
                    if place not in places:
                        continue
                    for line in range(first, last + 1):
                        for text in found.get(line, []):
                            if any(key in text for key in comments[task_id]):
                                yield task_id, (f"{cell.name}, line {line}: `{shorten('# ' + text)}` "
                                                f"is copied from the answer key that `tinyae "
                                                f"workbook new --solved` writes: write exercise "
                                                f"{task_id}, code and comments, yourself")

    def resolve(self, node: ast.expr) -> Verdict | None:
        """The verdict on a chain ``name.a.b`` whose ``name`` is imported; None for anything else."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return None
        verdicts = [self.resolver.follow(alias.value, alias.home, attrs, as_value=True)
                    for alias in self.aliases[node.id]]
        return next((v for v in verdicts if v.tasks or v.distrust), verdicts[-1])

    # -- the reading

    def report(self, verdict: Verdict, node: ast.AST) -> None:
        """Record a reference's verdict: distrust, or (outside the main block) a concept used.

        A bare name distrusted (a module passed around) is quoted with its statement: `xp = np`.
        """
        quoted = self.base_of or (self.statement(node) if isinstance(node, ast.Name) and verdict.distrust
                                  else self.call_of(node))
        if verdict.distrust:
            self.distrust_at(quoted, verdict.distrust)
        elif verdict.tasks and not self.in_main:
            verb = "inherits" if self.base_of else "uses"
            self.refs[self.index].append(Ref(verdict.tasks, verdict.label, self.cell.where(node),
                                             self.cell.quote(quoted), verb))

    def distrust_at(self, node: ast.AST, why: str) -> None:
        """Record that no task can be trusted: ``node``, quoted, ``why``."""
        self.distrust.append(f"{self.cell.where(node)}: `{self.cell.quote(node)}` {why}")

    def bind(self, name: str, node: ast.AST, kind: str) -> None:
        """Record that ``name`` is bound (or changed, ``kind`` "attribute") by ``node``'s statement."""
        statement = self.statement(node)
        self.bindings.setdefault(name, []).append(Binding(kind, statement is self.top, self.cell,
                                                          statement))

    def is_local(self, name: str) -> bool:
        """True if ``name`` here is a function's local, or a name of the class body being read."""
        return any(name in names for depth, (kind, names) in enumerate(reversed(self.scopes))
                   if kind == "function" or depth == 0)

    def scoped(self, kind: str, names: set[str], nodes: Iterable[ast.AST]) -> None:
        """Read ``nodes`` in a new scope (``kind`` "function" or "class") that binds ``names``."""
        self.scopes.append((kind, names))
        for node in nodes:
            self.visit(node)
        self.scopes.pop()

    def visit_If(self, node: ast.If) -> None:
        """The body of a top-level ``if __name__ == "__main__":`` never runs when graded."""
        self.visit(node.test)
        self.in_main = node is self.top and is_main_test(node.test)
        for stmt in node.body:
            self.visit(stmt)
        self.in_main = False
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Decorators, annotations and defaults in the enclosing scope; the body in its own."""
        self.bind(node.name, node, "def" if isinstance(node, ast.FunctionDef) else "other")
        for expr in [*node.decorator_list, *([node.returns] if node.returns else [])]:
            self.visit(expr)
        self.arguments(node.args)
        self.scoped("function", function_locals(node), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        """A lambda's defaults in the enclosing scope, its body in its own."""
        self.arguments(node.args)
        self.scoped("function", function_locals(node), [node.body])

    def arguments(self, args: ast.arguments) -> None:
        """Bind the parameters; read their annotations and defaults."""
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self.bind(arg.arg, arg, "other")
                if arg.annotation:
                    self.visit(arg.annotation)
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        """Decorators, bases (what the class inherits) and keywords here; the body in its scope."""
        self.bind(node.name, node, "class")
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.base_of = node
        for base in node.bases:
            self.visit(base)
        self.base_of = None
        for keyword in node.keywords:
            self.visit(keyword.value)
        self.scoped("class", bound_names(node.body), node.body)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        """A comprehension's variables are its own."""
        names = {target.id for generator in node.generators for target in ast.walk(generator.target)
                 if isinstance(target, ast.Name)}
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self.scoped("function", names, [*node.generators, *parts])

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        """An import binds names; what it binds is judged like any reference."""
        for name, verdict in self.imports[node]:
            if name:
                self.bind(name, node, "other")
            self.report(verdict, node)

    visit_ImportFrom = visit_Import

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        """``global Dense`` lets a function rebind the workbook's Dense."""
        for name in node.names:
            self.bind(name, node, "other")

    visit_Nonlocal = visit_Global

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        """``except E as name`` binds name."""
        if node.name:
            self.bind(node.name, node, "other")
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        """A capture pattern binds its name."""
        if node.name:
            self.bind(node.name, node, "other")
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        """``{**rest}`` in a pattern binds rest."""
        if node.rest:
            self.bind(node.rest, node, "other")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        """A name bound; or read: an import, a local, a name of the workbook, or a builtin."""
        name = node.id
        if not isinstance(node.ctx, ast.Load):
            self.bind(name, node, "other")
            if name in PROTECTED_NAMES:
                self.distrust_at(self.statement(node), f"assigns {name}, which the grader relies on, "
                                                       f"so no exercise can be trusted: leave it alone")
        elif name.startswith("__") and name.endswith("__") and name not in KEPT_NAMES:
            what = DYNAMIC_BUILTINS.get(name, f"reads {name}, through which code can reach anything")
            self.distrust_at(self.call_of(node), f"{what}, so no exercise can be trusted: leave the "
                                                 f"interpreter's names alone")
        elif name in self.aliases:
            verdict = self.resolve(node)
            if verdict is not None:
                self.report(verdict, node)
        elif self.is_local(name):
            pass
        elif name in self.binders:
            self.links[self.index][name] = None
        elif name in DYNAMIC_BUILTINS and not (self.in_main and name == "globals"):
            self.distrust_at(self.call_of(node), f"{DYNAMIC_BUILTINS[name]}, which reading cannot "
                                                 f"follow, so no exercise can be trusted: write "
                                                 f"plain code that names what it uses")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """A chain ``a.b.c``: each attribute checked, then followed if ``a`` is imported."""
        if not isinstance(node.ctx, ast.Load):
            self.store(node)
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            problem = attribute_problem(base.attr, base.value)
            if problem:
                self.distrust_at(self.call_of(node), problem)
                return
            base = base.value
        if isinstance(node.ctx, ast.Load) and isinstance(base, ast.Name) and base.id in self.aliases:
            verdict = self.resolve(node)
            if verdict is not None:
                self.report(verdict, node)
        else:
            self.visit(base)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        """``x[i] = …`` changes x; a read is read like any expression."""
        if not isinstance(node.ctx, ast.Load):
            self.store(node)
        self.generic_visit(node)

    def store(self, target: ast.Attribute | ast.Subscript) -> None:
        """``a.b = …``, ``a[i] = …``, ``del a.b``: distrust if ``a`` is imported, else ``a`` changes."""
        root: ast.expr = target
        through_call = False
        while isinstance(root, ast.Attribute | ast.Subscript | ast.Call):
            through_call |= isinstance(root, ast.Call)
            root = root.func if isinstance(root, ast.Call) else root.value
        if not isinstance(root, ast.Name):
            return
        if root.id in self.aliases:
            self.distrust_at(self.statement(target), f"changes the imported `{root.id}`, which the "
                                                     f"checks rely on, so no exercise can be "
                                                     f"trusted: leave what you import as it is")
        elif not through_call:  # `Dense(3, 2).W = …` changes an instance, not the class
            self.bind(root.id, target, "attribute")

    def statement(self, node: ast.AST) -> ast.AST:
        """The statement (or except clause) that holds ``node``."""
        while not isinstance(node, ast.stmt | ast.excepthandler) and node in self.parents:
            node = self.parents[node]
        return node

    def call_of(self, node: ast.AST) -> ast.AST:
        """``f(…)`` if ``node`` is the ``f`` called there, else ``node``: the construct to quote."""
        parent = self.parents.get(node)
        return parent if isinstance(parent, ast.Call) and parent.func is node else node


def attribute_problem(attr: str, value: ast.expr) -> str:
    """Why reading attribute ``attr`` of ``value`` defeats reading ("" if it does not)."""
    if attr in KEPT_ATTRIBUTES:
        return ""
    if attr.startswith("__") and attr.endswith("__"):
        return (f"reads the internal attribute {attr}, through which code can reach any object, so "
                f"no exercise can be trusted: use the object's public names")
    if attr.startswith("_") and not (isinstance(value, ast.Name) and value.id in ("self", "cls")):
        return (f"reads the private attribute {attr} of an object that is not self or cls, so no "
                f"exercise can be trusted: use its public names")
    if attr in RAW_ATTRIBUTES:
        return (f"reads {attr}, which reaches raw memory, files or the interpreter's frames, so no "
                f"exercise can be trusted: keep to NumPy arrays in memory")
    return ""


def is_main_test(test: ast.expr) -> bool:
    """True for ``__name__ == "__main__"``, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
            and any(isinstance(side, ast.Constant) and side.value == "__main__" for side in sides))


def own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The nodes of one scope: nested functions, classes, lambdas and comprehensions not entered."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def bound_names(nodes: Iterable[ast.AST]) -> set[str]:
    """The names that a scope made of ``nodes`` binds."""
    names: set[str] = set()
    for node in own_nodes(nodes):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.alias) and node.name != "*":
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def function_locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """A function's local names: its parameters and what its body binds, less ``global`` ones."""
    args = node.args
    names = {arg.arg for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                                 args.kwarg] if arg is not None}
    body = node.body if isinstance(node.body, list) else [node.body]
    declared = {name for stmt in own_nodes(body) if isinstance(stmt, ast.Global | ast.Nonlocal)
                for name in stmt.names}
    return (names | bound_names(body)) - declared


# ---------------------------------------------------------------- the answer key


@functools.cache
def graded_kinds() -> dict[str, type[ast.stmt]]:
    """Each graded name → how the answer key defines it: ``ast.ClassDef`` or ``ast.FunctionDef``."""
    names = {task.name for task in TASKS}
    return {stmt.name: type(stmt) for part in PARTS for stmt in ast.parse(part.code).body
            if isinstance(stmt, ast.ClassDef | ast.FunctionDef) and stmt.name in names}


@functools.cache
def graded_names() -> dict[str, tuple[str, ...]]:
    """Each graded name → the ids of its tasks, in the workbook's order."""
    ids: dict[str, list[str]] = {}
    for task in TASKS:
        ids.setdefault(task.name, []).append(task.id)
    return {name: tuple(task_ids) for name, task_ids in ids.items()}


@functools.cache
def key_comments() -> tuple[dict[str, frozenset[tuple[str, str]]], dict[str, tuple[str, ...]]]:
    """From the parts' code, for each task: the (class, function) pairs holding its solution
    (class "" for a function), and the comments of that solution (``MIN_COMMENT`` chars or more)."""
    holders: dict[str, set[tuple[str, str]]] = {}
    comments: dict[str, set[str]] = {}
    for part in PARTS:
        task_of_line: dict[int, str] = {}
        block = None
        for number, line in enumerate(part.code.splitlines(), start=1):
            if start := SOLUTION.match(line):
                block = start["id"]
            elif END.match(line):
                block = None
            elif block:
                task_of_line[number] = block
        functions = functions_in(ast.parse(part.code))
        for number, task_id in task_of_line.items():
            holders.setdefault(task_id, set()).update(
                place for place, (first, last) in functions if first <= number <= last)
        for number, texts in comments_by_line(part.code).items():
            if number in task_of_line:
                comments.setdefault(task_of_line[number], set()).update(
                    text for text in texts if len(text) >= MIN_COMMENT)
    return ({task_id: frozenset(places) for task_id, places in holders.items()},
            {task_id: tuple(sorted(comments.get(task_id, ()))) for task_id in holders})


def functions_in(tree: ast.Module) -> list[tuple[tuple[str, str], tuple[int, int]]]:
    """The top-level functions and the methods of top-level classes: ``((class, name), (first, last))``
    with their first and last line (class "" for a function)."""
    found = []
    for stmt in tree.body:
        owner, members = (stmt.name, stmt.body) if isinstance(stmt, ast.ClassDef) else ("", [stmt])
        for member in members:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append(((owner, member.name), (member.lineno, member.end_lineno or member.lineno)))
    return found


def comments_by_line(source: str) -> dict[int, list[str]]:
    """The comments of ``source`` by line, without the ``#`` and with their spaces collapsed."""
    found: dict[int, list[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found.setdefault(token.start[0], []).append(" ".join(token.string[1:].split()))
    except (tokenize.TokenError, SyntaxError):  # the source parsed, so this is tokenize's limit
        pass
    return found
