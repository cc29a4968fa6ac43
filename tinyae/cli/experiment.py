"""``tinyae experiment NAME``: reproduce a learner question or a classic variant, with numbers and figures."""

from __future__ import annotations

import argparse
from typing import Any

from tinyae.cli.errors import check_folder
from tinyae.cli.options import seed_int
from tinyae.cli.output import check_out_name, note_backend
from tinyae.experiments import EXPERIMENTS, run_experiment

EXPERIMENT_EXAMPLES = """\
examples:
  tinyae experiment blob                    question 1: the mean-image plateau, and its fixes
  tinyae experiment bce-curves              BCE's minimum at p = y and its floor H(y)
  tinyae experiment softmax-raw             question 2: softmax output on raw pixels
  tinyae experiment identity                question 3: learning the identity on tiny-spread data
  tinyae experiment beta-sweep              question 4: the VAE's reconstruction vs KL over beta
  tinyae experiment denoise                 denoising autoencoders against a plain one on noisy digits
  tinyae experiment sparse                  UFLDL's sparse autoencoder: mean activations and filters
  tinyae experiment deep --full             Hinton & Salakhutdinov's deep autoencoder against PCA-30
  tinyae experiment blob --full --data-dir ~/mnist   on full MNIST (minutes, not seconds)

Each prints its table and findings and writes its figures to OUT/NAME/."""


def add_parser(subparsers: Any) -> None:
    """``tinyae experiment``: the experiment's name and where its data and figures go."""
    parser = subparsers.add_parser(
        "experiment", help="reproduce, explain and fix one of the four classic autoencoder failures, "
                           "or measure a classic variant (denoising, sparse, deep)",
        description="Run an experiment: it reproduces a learner's question, or a classic variant "
                    "(denoising, sparse, deep), on real MNIST, prints the numbers that explain it and "
                    "writes its figures.",
        epilog=EXPERIMENT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=list(EXPERIMENTS), metavar="NAME",
                        help=f"one of {', '.join(EXPERIMENTS)}")
    parser.add_argument("--full", action="store_true",
                        help="full MNIST (from --data-dir, $TINYAE_DATA_DIR or the cache) instead of "
                             "the bundled subset")
    parser.add_argument("--data-dir", metavar="DIR", help="a folder holding the four MNIST files")
    parser.add_argument("--quick", action="store_true", help="a budget of seconds (fewer images and epochs)")
    parser.add_argument("--seed", type=seed_int, default=0, metavar="N", help="default: %(default)s")
    parser.add_argument("--out", default="tinyae-experiments", metavar="DIR",
                        help="figures go to DIR/NAME/ (default: %(default)s)")
    parser.set_defaults(run=run, data_hint="--data-dir FOLDER, or leave out --full to use the "
                        "subset bundled with tinyae")


def run(args: argparse.Namespace) -> int:
    """Run the experiment, then list the figures it wrote."""
    check_folder(args.data_dir, "--data-dir")
    check_out_name(args.out)
    note_backend()  # before the training, not when the figures are drawn
    result = run_experiment(args.name, full=args.full, data_dir=args.data_dir, out=args.out,
                            quick=args.quick, seed=args.seed)
    for path in result.figures:
        print(f"wrote {path}")
    return 0
