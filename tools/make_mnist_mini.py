"""Cut the bundled subset "mnist-mini" (tinyae/datasets/data/) from the full MNIST files.

Run from the repository root (same seed, same source -> byte-identical files)::

    python -m tools.make_mnist_mini --source DIR --out tinyae/datasets/data

What it does
------------
* loads full MNIST from ``--source``, a folder holding the four standard files (default:
  where ``load_mnist`` looks, ``$TINYAE_DATA_DIR`` then the cache; checksum-verified);
* per split, allocates the subset size over the ten digits in proportion to the full
  split's class frequencies (largest-remainder rounding, so the counts add up exactly);
  we keep the real class balance so results on mnist-mini resemble results on MNIST;
* draws that many images of each digit without replacement with
  ``np.random.default_rng(seed)`` and keeps them in their original MNIST order;
* writes the four standard IDX files (gzip, mtime 0 -> reproducible bytes) and
  ``PROVENANCE.md``, and prints the ``MINI_SHA256`` dict for tinyae/datasets/mnist.py.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from tinyae.datasets import load_mnist, to_idx_bytes, write_idx
from tinyae.datasets.mnist import FILES

SEED = 1998  # the year of LeCun et al.'s MNIST paper; any fixed value would do
N_TRAIN, N_TEST = 10_000, 2_000
MAX_BYTES = 2_500_000
REPO = Path(__file__).resolve().parents[1]


def stratified_counts(y: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over the classes of ``y`` (N,) in proportion to their frequency.

    quota_k = n · count_k / N; each class gets floor(quota_k), and the few left-over
    items go to the classes with the largest fractional parts (ties: lower digit first).
    """
    quota = n * np.bincount(y, minlength=10) / len(y)
    counts = np.floor(quota).astype(int)
    leftover = n - counts.sum()
    counts[np.argsort(-(quota - counts), kind="stable")[:leftover]] += 1
    return counts


def stratified_sample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a class-stratified random subset of size ``n``, in increasing order."""
    counts = stratified_counts(y, n)
    picks = [rng.choice(np.flatnonzero(y == k), size=c, replace=False) for k, c in enumerate(counts)]
    return np.sort(np.concatenate(picks))


def provenance(arrays: dict, full: dict, files: dict, seed: int) -> str:
    """The text of PROVENANCE.md: source, licence, method, counts, checksums."""
    rows = "\n".join(
        f"| {k} | {np.sum(arrays['y_train'] == k)} | {np.sum(full['y_train'] == k)} "
        f"| {np.sum(arrays['y_test'] == k)} | {np.sum(full['y_test'] == k)} |"
        for k in range(10)
    )
    sums = "\n".join(
        f"| {name} | {size:,} | `{digest}` |" for name, (size, digest) in files.items()
    )
    totals = (f"{len(arrays['y_train'])} | {len(full['y_train'])} "
              f"| {len(arrays['y_test'])} | {len(full['y_test'])}")
    mean = arrays["x_train"].mean() / 255
    return f"""# mnist-mini: provenance of the bundled MNIST subset

## Source
The MNIST database of handwritten digits, by Yann LeCun, Corinna Cortes and
Christopher J. C. Burges (http://yann.lecun.com/exdb/mnist/). The images here are
unmodified real MNIST images (28×28 uint8), a subset of the original files.

## Licence
MNIST is made available under the terms of the Creative Commons Attribution-Share
Alike 3.0 licence (CC BY-SA 3.0), per Yann LeCun's MNIST page. This subset is a
derivative of it and is distributed under the same licence, with attribution to the
authors above; it is *not* covered by the MIT licence of tinyae's code.

## How it was cut
`python -m tools.make_mnist_mini --seed {seed}` (tools/make_mnist_mini.py) from the four
standard files, verified against their SHA-256 sums:

* {N_TRAIN:,} training images from the 60,000 and {N_TEST:,} test images from the 10,000;
* stratified by digit, **proportional** to the full split's class frequencies
  (largest-remainder rounding), so the class balance matches full MNIST;
* within each digit, drawn without replacement with `np.random.default_rng({seed})`
  (digits 0..9 in turn), then kept in their original MNIST order;
* written in the original IDX format, gzip-compressed (mtime 0), read by the same
  reader as the full files. Mean training pixel of the subset: {mean:.4f} (full: 0.1307).

## Counts per digit
| digit | mini train | full train | mini test | full test |
|---|---|---|---|---|
{rows}
| total | {totals} |

## Checksums
SHA-256 of the *decompressed* bytes (what `load_mnist` verifies, via `MINI_SHA256` in
`tinyae/datasets/mnist.py`); the .gz size is for information.

| file | .gz bytes | SHA-256 of decompressed data |
|---|---|---|
{sums}
"""


def main(argv: list[str] | None = None) -> None:
    """Cut the subset, write it and PROVENANCE.md, print the checksum dict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help="folder with the four MNIST files "
                                                   "(default: $TINYAE_DATA_DIR, then the cache)")
    parser.add_argument("--out", type=Path, default=REPO / "tinyae" / "datasets" / "data")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    data = load_mnist("mnist", args.source, dtype="uint8", download=False)
    full = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}
    rng = np.random.default_rng(args.seed)
    arrays = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        keep = stratified_sample(full[f"y_{split}"], n, rng)
        arrays[f"x_{split}"] = full[f"x_{split}"][keep].reshape(-1, 28, 28)
        arrays[f"y_{split}"] = full[f"y_{split}"][keep]

    args.out.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, stem in FILES.items():
        path = write_idx(args.out / f"{stem}.gz", arrays[key])
        files[path.name] = (path.stat().st_size, hashlib.sha256(to_idx_bytes(arrays[key])).hexdigest())
    total = sum(size for size, _ in files.values())
    if total > MAX_BYTES:
        raise SystemExit(f"subset is {total:,} bytes, over the {MAX_BYTES:,}-byte budget")
    (args.out / "PROVENANCE.md").write_text(provenance(arrays, full, files, args.seed), encoding="utf-8")

    print(f"wrote {len(files)} files, {total:,} bytes, to {args.out}")
    print("MINI_SHA256: dict[str, str] = {")
    for name, (_, digest) in files.items():
        print(f'    "{name.removesuffix(".gz")}": "{digest}",')
    print("}")


if __name__ == "__main__":
    main()
