"""The processes that run a student's workbook for the grader, and the walls around them.

Grading one task starts two processes (``start``):

* the **supervisor**, tinyae's own code: it starts the child, waits for it within the
  wall-clock limit, then kills every process the child left behind — detached or
  double-forked ones too, since on Linux the supervisor is their "subreaper": orphans
  are re-parented to it, not to init — and only then reports, on its stdout, how the
  child ended.  When the grader reads that report, nothing of the student's runs.
* the **child**, which loads the workbook and answers the grader's requests (see
  ``remote.py``).  Before the student's first line runs it installs an audit hook
  (``sys.addaudithook``, which no code can remove) that refuses to start processes,
  send signals, open sockets, call C through ctypes, change resource limits, or write
  (or rename, delete, link …) anything outside its own empty working folder, and refuses
  to read the folders the grader names (the other submissions, the grader's outputs).
  Its CPU time is limited (``RLIMIT_CPU``), and so is the size of any file it writes.

Both run as ``python -I``: neither the working folder nor ``PYTHONPATH`` is on
``sys.path``, so a ``numpy.py`` or a ``tinyae/`` beside the workbook is never imported.
The supervisor runs this file as a script and imports nothing but the standard library
(it starts in 0.05 s instead of the 0.4 s that NumPy and tinyae take).
What the child says is only data about what the student's classes compute; every verdict
is taken in the grader (``grading.py``).

Limits, stated in the README: the audit hook is a wall inside one Python process, not an
operating-system sandbox — code that reaches C through a path the hook does not see could
pass it, which is why the grader also reads the source before running it
(``screen.py``) and checks every submission's bytes after grading.  The subreaper exists
on Linux only; elsewhere the supervisor kills the child's session and process group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds this tinyae
# How the child starts under ``python -I``: this very tinyae, nothing from the cwd.
BOOT = (f"import sys; sys.path.insert(0, {ROOT!r}); "
        "from tinyae.workbook.sandbox import main; sys.exit(main(sys.argv[1:]))")
FILE_LIMIT = 64 * 2**20  # bytes: the largest file the child may write (its own folder only)
# Bytes of address space: the checks need ~0.6 GB (NumPy, BLAS's buffers, MNIST's subset);
# a student's np.zeros((10**6, 10**6)) must fail in the child, not swap the teacher's laptop.
MEMORY_LIMIT = 4 * 2**30
GRACE = 5.0  # seconds the supervisor may take to clean up after the child
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def command(mode: str, config: dict[str, Any]) -> list[str]:
    """The argv of a supervisor (this file as a script) or a child process."""
    start = [__file__] if mode == "supervise" else ["-c", BOOT]
    return [sys.executable, "-I", "-X", "faulthandler", *start, mode, json.dumps(config)]


def main(argv: Sequence[str]) -> int:
    """``supervise CONFIG`` or ``child CONFIG`` (CONFIG is JSON, written by the grader)."""
    mode, config = argv[0], json.loads(argv[1])
    return supervise(config) if mode == "supervise" else child(config)


# --- the supervisor ------------------------------------------------------------------------

def supervise(config: dict[str, Any]) -> int:
    """Run the child within its limits, kill whatever it left behind, report on stdout."""
    subreaper = become_subreaper()
    process = subprocess.Popen(
        command("child", config), pass_fds=tuple(config["fds"]), cwd=config["work"],
        env=config["env"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=lambda: limit(config["cpu"]))
    for fd in config["fds"]:
        os.close(fd)  # the child holds the pipes now; their ends close when it is gone
    stopped = {"signal": False}

    def stop(*_: Any) -> None:  # the grader gives up (Ctrl-C, its own deadline)
        stopped["signal"] = True
        kill_group(process.pid)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        status: int | None = process.wait(timeout=config["wall"])
    except subprocess.TimeoutExpired:
        status = None
    kill_group(process.pid)
    process.wait()
    left = reap_all() if subreaper else 0
    report = {"status": status, "wall": status is None and not stopped["signal"],
              "stopped": stopped["signal"], "left_behind": left, "subreaper": subreaper}
    print(json.dumps(report), flush=True)
    return 0


def limit(cpu_seconds: float) -> None:
    """In the child before it starts: CPU time, memory, file size, no core dumps.

    A limit the system refuses (macOS does not take RLIMIT_AS) is left out: the wall-clock
    limit and the walls still hold.
    """
    import resource

    cpu = max(1, int(cpu_seconds + 0.999))
    for kind, soft, hard in ((resource.RLIMIT_CPU, cpu, cpu + 1),
                             (resource.RLIMIT_FSIZE, FILE_LIMIT, FILE_LIMIT),
                             (resource.RLIMIT_AS, MEMORY_LIMIT, MEMORY_LIMIT),
                             (resource.RLIMIT_CORE, 0, 0)):
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            continue


def become_subreaper() -> bool:
    """Linux: orphans of our descendants come to us, so none can escape ``reap_all``."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def kill_group(pid: int) -> None:
    """SIGKILL the child's session (its process group), ignoring one already gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def children() -> list[int]:
    """The pids whose parent is this process (read from /proc)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # The command name, in parentheses, may hold spaces: the fields follow its ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(entry.name))
    return found


def reap_all() -> int:
    """Kill and reap every process left below us; how many there were."""
    killed: set[int] = set()
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        alive = children()
        if not alive:
            break
        for pid in alive:
            killed.add(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:  # reap what has died, without blocking
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
                break
    return len(killed)


# --- the child -------------------------------------------------------------------------------

def child(config: dict[str, Any]) -> NoReturn:
    """Load the workbook behind the walls, then answer the grader's requests until it hangs up."""
    import _posixsubprocess
    import subprocess  # noqa: F401  (matplotlib imports it: loaded here, before the walls)

    from tinyae.workbook import server  # before the walls: every import the checks need

    # subprocess starts processes through fork_exec, which raises no audit event: refused
    # here instead (and the source screen refuses any way back to the original).
    _posixsubprocess.fork_exec = refuse_fork_exec  # type: ignore[assignment]
    sys.dont_write_bytecode = True  # imports after the walls may not write __pycache__
    requests, replies = config["fds"]
    sys.addaudithook(Walls(config["work"], config["deny"]))
    status = server.serve(requests, replies, Path(config["work"]) / config["workbook"])
    # Out at once: a thread or an atexit hook the student left must not keep the task alive.
    os._exit(status)


# Audit events that start a process, signal one, or reach C or the network.
REFUSED = ("os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
           "os.startfile", "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
           "resource.setrlimit", "resource.prlimit", "os.setuid", "os.chroot")
REFUSED_PREFIXES = ("ctypes.", "socket.", "_winapi.", "winreg.", "mmap.")
REFUSED_IMPORTS = {"_ctypes", "ctypes", "_socket", "socket", "multiprocessing", "_multiprocessing",
                   "pty", "mmap", "fcntl", "resource", "_xxsubinterpreters"}
# Audit events that change a file or folder: their first argument is the path.
CHANGES = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
           "os.link", "os.symlink", "os.truncate", "os.utime", "os.chdir", "os.chflags",
           "os.setxattr", "os.removexattr", "shutil.rmtree", "shutil.copyfile", "shutil.move",
           "os.mkfifo", "os.mknod")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def refuse_fork_exec(*_: Any) -> None:
    """What ``_posixsubprocess.fork_exec`` does in the child."""
    raise PermissionError("the grader does not let a workbook start a process")


class Walls:
    """The child's audit hook: what the student's code may not do, as ``PermissionError``s."""

    def __init__(self, work: str, deny: Sequence[str]) -> None:
        self.work = os.path.realpath(work)
        self.deny = [os.path.realpath(path) for path in deny]

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event in REFUSED or event.startswith(REFUSED_PREFIXES):
            raise PermissionError(f"the grader does not let a workbook use {event}")
        if event == "import" and args and str(args[0]).split(".")[0] in REFUSED_IMPORTS:
            raise PermissionError(f"the grader does not let a workbook import {args[0]}")
        if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
            path = self.where(args[0])
            mode, flags = (list(args[1:3]) + [None, None])[:2]
            writes = flags & WRITE_FLAGS if isinstance(flags, int) else any(c in (mode or "")
                                                                           for c in "wax+")
            if writes and not self.inside(path):
                raise PermissionError(f"the grader does not let a workbook write {path}")
            if any(path == d or path.startswith(d + os.sep) for d in self.deny):
                raise PermissionError(f"the grader does not let a workbook read {path}")
        if event in CHANGES:
            for target in args[:2]:
                if isinstance(target, str | bytes | os.PathLike) and not self.inside(
                        self.where(target)):
                    raise PermissionError(f"the grader does not let a workbook change "
                                          f"{self.where(target)} ({event})")

    def where(self, path: Any) -> str:
        """The real path of ``path`` (relative to the current folder)."""
        return os.path.realpath(os.fsdecode(path))

    def inside(self, path: str) -> bool:
        """True for the working folder and what it holds (and /dev/null)."""
        return path == self.work or path.startswith(self.work + os.sep) or path == os.devnull


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
