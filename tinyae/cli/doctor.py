"""``tinyae doctor``: check a model + loss + data configuration before (or after) training.

It takes the same flags as ``train`` (or a saved model with ``--model-file``), builds
the configuration and prints ``tinyae.doctor``'s findings, each with what it means and
the fix.  Exit status 1 if any finding is an error, else 0; 2 if a flag or the
``--model-file`` is refused (a damaged file cannot be checked, which is not a finding).
"""

from __future__ import annotations

import argparse
from typing import Any

from tinyae.cli.errors import check_folder, user_values
from tinyae.cli.options import (
    add_common_flags,
    build_model,
    check_fits_mnist,
    load_data,
    make_loss,
    make_optimizer,
)
from tinyae.diagnostics import doctor, format_findings
from tinyae.io import load

DOCTOR_EXAMPLES = """\
examples:
  tinyae doctor                                    the default train configuration
  tinyae doctor --hidden sigmoid --optimizer sgd --lr 0.1   question 1's all-sigmoid network
  tinyae doctor --output softmax                   question 2's softmax output
  tinyae doctor --model-file tinyae-run/model.npz  a trained model, with --loss and the data

Each finding has a severity (error / warning / note), a stable code, what is wrong and
why, and the fix."""


def add_parser(subparsers: Any) -> None:
    """``tinyae doctor``: the flags of ``train`` plus ``--model-file``."""
    parser = subparsers.add_parser(
        "doctor", help="check a model/loss/data configuration and explain what will go wrong",
        description="Check a configuration (the flags of train, or a saved model) for the "
                    "mistakes behind the four classic autoencoder failures.",
        epilog=DOCTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(parser)
    parser.add_argument("--model-file", metavar="PATH",
                        help="check this saved model (tinyae.save) instead of building one from the flags")
    parser.add_argument("--quiet", action="store_true", help="no data messages")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the findings; 1 if any is an error."""
    check_folder(args.data_dir, "--data-dir")
    with user_values():  # the flags and --model-file become objects: a refusal is a usage error
        if args.model_file:
            model, optimizer = load(args.model_file), None
        else:
            check_fits_mnist(args)
            model, optimizer = build_model(args), make_optimizer(args)
        loss = make_loss(args)
    data = load_data(args)
    findings = doctor(model, loss, data.x_train[: args.limit or 512],
                      optimizer=optimizer, batch_size=args.batch_size)
    print(format_findings(findings) if findings else "no findings: this configuration looks healthy")
    return 1 if any(finding.severity == "error" for finding in findings) else 0
