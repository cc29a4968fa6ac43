"""The child's side of grading: load the workbook, then answer the grader's requests.

Each request names an object of the student's (by a handle the child gave out) and an
operation — read or set an attribute, write into an array attribute, call it, or run one
of tinyae's ``RUNNERS`` next to it — and each reply is data (``remote.encode``): the
value, the array arguments the call changed in place, or a description of the
student's exception (its type, message and frames), which the grader turns into a hint.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np

from tinyae.workbook.remote import RUNNERS, ChildGone, decode, encode, receive, send
from tinyae.workbook.source import WorkbookError, load_workbook

MESSAGE = 2000  # characters of an exception's message kept


def serve(requests: int, replies: int, path: Path) -> int:
    """Load the workbook at ``path`` and serve requests until the grader closes the pipe."""
    try:
        namespace = load_workbook(path)
    except WorkbookError as error:
        send(replies, {"load_error": str(error)})
        return 0
    send(replies, {"loaded": True})
    objects: dict[int, Any] = {}  # handle -> object: alive while the grader may ask for it

    def handle(obj: Any) -> dict[str, Any]:
        objects[id(obj)] = obj
        return {"$h": id(obj), "type": type(obj).__name__, "class": isinstance(obj, type),
                "callable": callable(obj)}

    while True:
        try:
            message = receive(requests)
        except ChildGone:
            return 0
        try:
            value, after = act(message, namespace, lambda data: objects[int(data["$h"])])
            reply = {"value": encode(value, handle), "after": encode(after)}
        except Exception as error:  # the student's code raised: a description, not a crash
            reply = {"error": describe(error)}
        send(replies, reply)


def act(message: dict[str, Any], namespace: dict[str, Any], find: Any) -> tuple[Any, dict]:
    """Carry out one request: ``(value, {where: array changed in place})``."""
    op = message["op"]
    fields = {key: decode(value, find) for key, value in message.items() if key != "op"}
    if op == "name":
        if fields["name"] not in namespace:
            raise LookupError(f"the workbook defines no {fields['name']}")
        return namespace[fields["name"]], {}
    obj = find({"$h": fields["handle"]})
    if op == "getattr":
        return getattr(obj, fields["name"]), {}
    if op == "setattr":
        setattr(obj, fields["name"], fields["value"])
    elif op == "assign":
        getattr(obj, fields["name"])[...] = fields["value"]
    elif op == "fill":
        getattr(obj, fields["name"]).fill(fields["value"])
    elif op == "run":
        return RUNNERS[fields["runner"]](obj, **fields["plan"]), {}
    elif op == "call":
        args, kwargs = fields["args"], fields["kwargs"]
        arrays = {f"args.{i}": a for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        arrays.update({f"kwargs.{k}": a for k, a in kwargs.items() if isinstance(a, np.ndarray)})
        before = {where: array.copy() for where, array in arrays.items()}
        value = obj(*args, **kwargs)
        changed = {where: array for where, array in arrays.items()
                   if not np.array_equal(array, before[where], equal_nan=True)}
        return value, changed
    else:
        raise ValueError(f"unknown request {op!r}")
    return None, {}


def describe(error: BaseException) -> dict[str, Any]:
    """The exception as data: type, the names of its classes, message, frames."""
    try:
        message = str(error)[:MESSAGE]
    except Exception:  # a student's exception whose __str__ itself fails
        message = ""
    frames = [[f.filename, f.lineno or 0, f.name, f.line or ""]
              for f in traceback.extract_tb(error.__traceback__)]
    obj = getattr(error, "obj", None) if isinstance(error, AttributeError) else None
    return {"type": type(error).__name__, "mro": [c.__name__ for c in type(error).__mro__],
            "message": message, "frames": frames,
            "attr": getattr(error, "name", None) if isinstance(error, AttributeError) else None,
            "obj_type": type(obj).__name__ if obj is not None else ""}
