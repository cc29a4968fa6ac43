"""A class graded one task at a time and several at a time: the same scores, and how long.

    python benchmarks/grade_class.py                  # 30 students, --jobs 1 against --jobs 2
    python benchmarks/grade_class.py --students 10 --jobs 1 2

The class is generated: honest workbooks (the answer key in a student's words), buggy
ones (a planted mistake from the workbook's own catalogue of classic mistakes), a loop
in one method, a crash (``sys.exit`` in a method), and blank ones.  Each ``--jobs``
value grades the whole class with the same seed; the script prints the wall time, the
ratio to the first, and whether every score and every note is the same — above all,
that no honest task timed out because the others were running beside it (each task's
limit is its own CPU time).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from keys import blank, honest_key  # noqa: E402  (the tests' helpers, on the path above)
from test_workbook_mistakes import MISTAKES  # noqa: E402
from tinyae.workbook.grading import grade_class  # noqa: E402

TIMEOUT = 20.0  # CPU seconds per task; the loops use all of it


def submissions(folder: Path, count: int) -> None:
    """``count`` student folders: honest, buggy, looping, crashing and blank, in turn."""
    key = honest_key()
    kinds = ["honest", "buggy", "buggy", "loop", "crash", "blank"]
    for i in range(count):
        kind, student = kinds[i % len(kinds)], folder / f"s{i:02d}"
        student.mkdir(parents=True)
        code = key
        if kind == "buggy":
            _, edits, _ = MISTAKES[(7 * i) % len(MISTAKES)].values
            for old, new in edits:
                code = code.replace(old, new)
        elif kind == "loop":
            code = key.replace("return dout @ self.W.T", "while True: pass")
        elif kind == "crash":
            code = key.replace("return dout * self.mask", "import sys; sys.exit(3)")
        elif kind == "blank":
            code = blank()
        (student / "workbook.py").write_text(code, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=2718)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} in the "
          f"grading processes unless set: 1; {args.students} students, {TIMEOUT:g} CPU s a task")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "class")
        submissions(folder, args.students)
        runs = []
        for jobs in args.jobs:
            start = time.perf_counter()
            results = grade_class(folder, Path(tmp, f"grades-{jobs}.csv"), timeout=TIMEOUT,
                                  seed=args.seed, jobs=jobs)
            seconds = time.perf_counter() - start
            scores = {name: [(r.points, r.hint) for r in rs] for name, rs in results.items()}
            runs.append((jobs, seconds, scores))
        first_jobs, first_seconds, first_scores = runs[0]
        for jobs, seconds, scores in runs:
            same = scores == first_scores
            print(f"--jobs {jobs}: {seconds:6.1f} s  ({seconds / first_seconds:.2f} × --jobs "
                  f"{first_jobs})  scores and hints {'the same' if same else 'DIFFER'}")
            if not same:
                for name in scores:
                    if scores[name] != first_scores[name]:
                        print(f"  {name}: {[p for p, _ in scores[name]]} against "
                              f"{[p for p, _ in first_scores[name]]}")
        timeouts = {name: [h for _, h in rows if "timed out" in h]
                    for name, rows in first_scores.items()}
        print("time-outs (only the looping students should have one):",
              {name: len(hints) for name, hints in timeouts.items() if hints})


if __name__ == "__main__":
    main()
