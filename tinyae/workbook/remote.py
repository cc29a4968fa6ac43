"""The student's code seen from the grader: objects that live in another process.

When ``tinyae workbook check`` or ``grade`` runs, the student's classes live in a child
process (``tinyae.workbook.sandbox``) and the checks run in the grader with a ``Remote``
for each: calling it, reading or setting an attribute sends a request down a pipe and
reads back *data* — arrays, numbers, strings, or a handle to another object of the
child.  Nothing the child sends is ever executed or unpickled; every verdict is computed
here, with inputs drawn here.

Checks are written once for both cases — a class defined in a notebook (a plain Python
object) and a ``Remote`` — with these rules:

* an array read from an object (``layer.W``) is a copy: write into the object with
  ``assign(layer, "W", value)`` or ``fill(layer, "dW", 0)``, never ``layer.W[...] = …``;
* an array argument the student's method changes in place (``params -= …`` in an
  optimizer step, or a forbidden ``dout *= …``) is changed in the caller's array too,
  so ``attempt_pure`` and optimizer trajectories see what a local call would show;
* ``type_name(obj)`` and ``is_class(obj)`` instead of ``type(obj).__name__`` and
  ``isinstance(obj, type)``;
* ``execute(obj, runner, **plan)`` runs one of tinyae's own ``RUNNERS`` next to ``obj``
  (the capstone's training loop) and returns its data.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import select
import struct
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

# Runners: tinyae's own code that a check may run next to the student's objects (in the
# child), registered by the module that defines them.  ``runner(obj, **plan) -> data``.
RUNNERS: dict[str, Callable[..., Any]] = {}
# The dtypes that cross the pipe as raw bytes; anything else is refused.
DTYPES = {"?", "b", "h", "i", "l", "q", "B", "H", "I", "L", "Q", "e", "f", "d", "g", "F", "D"}
MAX_MESSAGE = 256 * 2**20  # bytes: a reply larger than this is a broken child, not data


class ChildGone(BaseException):
    """The child process stopped answering (crashed, exited, timed out, or broke the protocol).

    A ``BaseException``: the checks' ``attempt`` turns the student's exceptions into
    hints, but this one ends the task, and the grader says how the process ended.
    """


class StudentError(Exception):
    """An exception raised by the student's code in the child, rebuilt from its description.

    ``type_name``, ``message`` and ``frames`` (``traceback.FrameSummary`` list) describe it;
    for an ``AttributeError``, ``name`` and ``obj_type`` name the attribute and its object.
    Subclasses mirror the built-in exception types (``remote_error``) so that
    ``isinstance(error, ValueError)`` holds as it would in the student's process.
    """

    type_name = "Exception"
    frames: list[Any] = []
    name: str | None = None
    obj_type: str = ""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def assign(obj: Any, name: str, value: np.ndarray) -> None:
    """Write ``value`` into the array ``obj.name`` in place (keeping any views of it)."""
    if isinstance(obj, Remote):
        obj._request("assign", name=name, value=value)
    else:
        getattr(obj, name)[...] = value


def fill(obj: Any, name: str, value: float) -> None:
    """``obj.name.fill(value)``, in place."""
    if isinstance(obj, Remote):
        obj._request("fill", name=name, value=value)
    else:
        getattr(obj, name).fill(value)


def type_name(obj: Any) -> str:
    """The name of ``obj``'s type, in whichever process ``obj`` lives."""
    return obj._type if isinstance(obj, Remote) else type(obj).__name__


def is_class(obj: Any) -> bool:
    """True if ``obj`` is a class, in whichever process it lives."""
    return obj._is_class if isinstance(obj, Remote) else isinstance(obj, type)


def execute(obj: Any, runner: str, **plan: Any) -> Any:
    """``RUNNERS[runner](obj, **plan)`` in the process where ``obj`` lives; its data."""
    if isinstance(obj, Remote):
        return obj._request("run", runner=runner, plan=plan)
    return RUNNERS[runner](obj, **plan)


# --- the wire: length-prefixed JSON, arrays as raw bytes ----------------------------------

def encode(value: Any, handles: Callable[[Any], dict[str, Any]] | None = None) -> Any:
    """``value`` as JSON-ready data; an object that is not data becomes ``handles(value)``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray) and value.dtype.char in DTYPES:
        data = np.ascontiguousarray(value).reshape(value.shape)  # 0-d stays 0-d
        return {"$a": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    if isinstance(value, np.generic) and value.dtype.char in DTYPES:
        return {"$s": [value.dtype.str, base64.b64encode(value.tobytes()).decode()]}
    if isinstance(value, tuple | list):
        items = [encode(item, handles) for item in value]
        return {"$t": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"$d": {key: encode(item, handles) for key, item in value.items()}}
    if isinstance(value, Remote):
        return {"$h": value._id}
    if handles is None:
        raise TypeError(f"cannot send a {type(value).__name__} to the student's process")
    return handles(value)


def decode(data: Any, handle: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """The value ``encode`` described; handles become ``handle(description)``."""
    if isinstance(data, list):
        return [decode(item, handle) for item in data]
    if not isinstance(data, dict):
        return data
    if "$a" in data:
        dtype, shape, raw = data["$a"]
        return _array(dtype, raw).reshape(shape).copy()
    if "$s" in data:
        dtype, raw = data["$s"]
        return _array(dtype, raw)[0]
    if "$t" in data:
        return tuple(decode(item, handle) for item in data["$t"])
    if "$d" in data:
        return {key: decode(item, handle) for key, item in data["$d"].items()}
    if "$h" in data and handle is not None:
        return handle(data)
    raise ValueError(f"not a value on the wire: {str(data)[:80]}")


def _array(dtype: str, raw: str) -> np.ndarray:
    kind = np.dtype(dtype)
    if kind.char not in DTYPES:
        raise ValueError(f"dtype {dtype} does not cross the wire")
    return np.frombuffer(base64.b64decode(raw), dtype=kind)


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message: its length (8 bytes), then its JSON."""
    body = json.dumps(message).encode()
    view = memoryview(struct.pack("<Q", len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def receive(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """Read one message; ``ChildGone`` at end of file, past ``deadline`` or on garbage."""
    (length,) = struct.unpack("<Q", _read(fd, 8, deadline))
    if length > MAX_MESSAGE:
        raise ChildGone(f"broke the protocol (a message of {length} bytes)")
    try:
        message = json.loads(_read(fd, length, deadline))
    except ValueError:
        raise ChildGone("broke the protocol (a message that is not JSON)") from None
    if not isinstance(message, dict):
        raise ChildGone("broke the protocol (a message that is not an object)")
    return message


def _read(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChildGone("timed out")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChildGone("ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --- the grader's side ---------------------------------------------------------------------

class Connection:
    """The grader's end of the pipes to one child; ``deadline`` bounds every wait."""

    def __init__(self, to_child: int, from_child: int, deadline: float) -> None:
        self.to_child, self.from_child, self.deadline = to_child, from_child, deadline

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request and return the decoded value of its reply (or raise its error)."""
        try:
            send(self.to_child, {"op": op, **{k: encode(v) for k, v in fields.items()}})
        except OSError:
            raise ChildGone("ended") from None
        reply = receive(self.from_child, self.deadline)
        try:
            error = remote_error(reply["error"]) if "error" in reply else None
            value = decode(reply.get("value"), self.remote)
            after = decode(reply.get("after") or {"$d": {}})
        except (ValueError, TypeError, KeyError, AttributeError) as broken:
            raise ChildGone(f"broke the protocol ({broken})") from None
        if error is not None:
            raise error
        for where, array in after.items():
            mirror(fields, where, array)
        return value

    def remote(self, description: dict[str, Any]) -> Remote:
        """A ``Remote`` for the child's object described by a handle."""
        return Remote(self, int(description["$h"]), str(description.get("type", "object")),
                      bool(description.get("class")), bool(description.get("callable")))


def mirror(fields: dict[str, Any], where: str, array: np.ndarray) -> None:
    """Copy the child's changed argument ``where`` ("args.0", "kwargs.x") into the caller's."""
    group, _, key = where.partition(".")
    container = fields.get(group)
    target = container[int(key)] if isinstance(container, tuple | list) else (container or {}).get(key)
    if isinstance(target, np.ndarray) and target.shape == np.shape(array) and target.flags.writeable:
        target[...] = array


class Remote:
    """An object of the student's, living in the child: attributes and calls are requests."""

    __slots__ = ("_connection", "_id", "_type", "_is_class", "_callable")

    def __init__(self, connection: Connection, handle: int, type_name: str, is_class: bool,
                 callable_: bool) -> None:
        for name, value in (("_connection", connection), ("_id", handle), ("_type", type_name),
                            ("_is_class", is_class), ("_callable", callable_)):
            object.__setattr__(self, name, value)

    def _request(self, op: str, **fields: Any) -> Any:
        return self._connection.request(op, handle=self._id, **fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name not in ("__name__", "__qualname__"):
            raise AttributeError(name)  # Python's protocols (copy, pickle, …) stay local
        return self._request("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._request("setattr", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._request("call", args=args, kwargs=kwargs)

    def __repr__(self) -> str:
        return f"<the student's {self._type}>"


BUILTIN_ERRORS = {cls.__name__: cls for cls in vars(builtins).values()
                  if isinstance(cls, type) and issubclass(cls, Exception)}


def remote_error(description: dict[str, Any]) -> StudentError:
    """The ``StudentError`` for the child's description of an exception."""
    base = next((BUILTIN_ERRORS[name] for name in description.get("mro", [])
                 if name in BUILTIN_ERRORS), Exception)
    cls = type(str(description.get("type", "Exception")), (StudentError, base), {})
    error = cls(str(description.get("message", "")))
    error.type_name = cls.__name__
    error.frames = [traceback.FrameSummary(str(f), int(n), str(fn), line=str(text))
                    for f, n, fn, text in description.get("frames", [])]
    error.name = description.get("attr")
    error.obj_type = str(description.get("obj_type", ""))
    return error
