"""Draw every figure tinyae makes into docs/gallery/ and write docs/gallery.md around them.

Run from the repository root (about a minute on 2 cores; no network)::

    python -m tools.make_gallery

What it runs, all on the bundled subset mnist-mini with seed 0, small enough to be quick:

* ``tinyae train --monitor`` (the autoencoder's figures) and ``tinyae train --model vae
  --latent 2 --kl-schedule linear --epochs 10`` (the VAE's);
* every ``tinyae experiment NAME --quick``;
* the figures the tutorials draw with ``tinyae.plot`` that neither of those draws: the KL
  schedules (tutorial 06) and the monitor of a network stuck on the mean image (07).

Each figure gets one sentence on how to read it (``CAPTIONS``).  Same code, same
figures: the PNGs change only when a figure or the training changes.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

os.environ["TINYAE_OFFLINE"] = "1"  # the gallery never downloads: the bundled subset is enough
# One BLAS thread unless you chose otherwise, as the tinyae command does (README, Quickstart):
# set before NumPy is imported, which reads it once.
if not any(os.environ.get(f"{blas}_NUM_THREADS") for blas in ("OPENBLAS", "OMP", "MKL")):
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

from tinyae import BCE, SGD, Monitor, dense_autoencoder, fit, load_mnist, plot
from tinyae.cli import main
from tinyae.experiments import EXPERIMENTS, run_experiment
from tinyae.schedules import constant, cyclical, linear_warmup, sigmoid_anneal

REPO = Path(__file__).resolve().parents[1]
GALLERY = REPO / "docs" / "gallery"
PAGE = REPO / "docs" / "gallery.md"
# (prefix of the files, the flags of tinyae train)
TRAIN = (("ae", "--monitor"), ("vae", "--model vae --latent 2 --kl-schedule linear --epochs 10"))

# (section, command that draws them, [(file in docs/gallery/, how to read it)])
CAPTIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("The autoencoder: `tinyae train`",
     "tinyae train --dataset mnist-mini --monitor", [
        ("ae_reconstructions.png",
         ("Each test digit (top) sits above its reconstruction (bottom): blurred strokes are "
          "normal after a few epochs, identical grey blobs are question 1.")),
        ("ae_loss.png",
         ("The loss per pixel after each epoch, training solid and test dashed; the test loss "
          "can lie below the training loss because the training loss is averaged over an epoch "
          "in which the weights were still improving.")),
        ("ae_filters.png",
         ("Each square is one hidden unit's weights over the 28×28 pixels: red pixels push the "
          "unit up, blue ones down, each square on its own scale (the colour bar).")),
        ("ae_latent.png",
         ("Each test image is a dot at its code, coloured by its digit: digits that form "
          "separate clouds are told apart by the code; only the two most varying code units are "
          "shown.")),
        ("ae_monitors.png",
         ("What `--monitor` measured after every epoch, one panel per measure and one colour "
          "per layer: look for dead or saturated units rising, a gradient norm far smaller in "
          "layer 1 than in the last layer, and a collapse ratio near 1.")),
    ]),
    ("The VAE: `tinyae train --model vae`",
     "tinyae train --dataset mnist-mini --model vae --latent 2 --kl-schedule linear --epochs 10", [
        ("vae_loss.png",
         ("The VAE's loss terms in nats per image (top) and the KL weight β (bottom): while β "
          "rises the training loss recon + β·KL can rise too, which is the schedule, not "
          "divergence; read the reconstruction and the KL.")),
        ("vae_samples.png",
         ("Images the decoder draws from random codes z ~ N(0, I): the blurrier and less "
          "digit-like, the less the prior and the codes of real images agree.")),
        ("vae_manifold.png",
         ("The decoder's output on a grid of 2-D codes: neighbouring cells should morph "
          "smoothly from one digit into another.")),
        ("vae_latent.png",
         ("Each test image at its mean code mu, coloured by digit: the clouds should overlap "
          "little and gather around the origin, where the prior puts its mass.")),
        ("vae_reconstructions.png",
         ("Test digits (top) and their VAE reconstructions (bottom), blurrier than the "
          "autoencoder's because every code is a noisy sample.")),
        ("vae_filters.png",
         ("The encoder's first-layer weights, one square per hidden unit, read like the "
          "autoencoder's.")),
    ]),
    ("The experiments: `tinyae experiment NAME --quick`",
     "tinyae experiment NAME --quick", [
        ("blob_distance_to_mean_image.png",
         ("How far each configuration's reconstructions are from the mean image, per epoch (log "
          "scale): a line under the dotted level draws the blob whatever the input.")),
        ("blob_reconstructions_sigmoid_BCE_SGD_0.1.png",
         ("Question 1's network with plain SGD: every reconstruction is the same blob, the mean "
          "image.")),
        ("blob_reconstructions_sigmoid_BCE_Adam_1e-3.png",
         ("The same network with Adam: the reconstructions start to follow their digits.")),
        ("blob_reconstructions_ReLU_BCE_Adam_1e-3.png",
         ("ReLU hidden layers with Adam: the fix, recognisable digits.")),
        ("bce-curves_bce_vs_mse.png",
         ("Left: BCE (shifted by its floor) and MSE for a grey target y = 0.8, both smallest at "
          "p = y, BCE asymmetric. Right: BCE for several targets and its floor H(y) (dashed), "
          "above 0 for every grey target.")),
        ("softmax-raw_reconstructions_softmax.png",
         ("A softmax output shares one unit of brightness among all 784 pixels: the "
          "reconstructions are nearly black.")),
        ("softmax-raw_reconstructions_sigmoid.png",
         ("The fix, a sigmoid per pixel on pixels ÷ 255: the digits come back.")),
        ("identity_relative_error.png",
         ("The error of each attempt to learn the identity in units of the data's variance (log "
          "scale): above the dotted line at 1 is worse than predicting the mean row.")),
        ("beta-sweep_beta_sweep.png",
         ("Test reconstruction loss (left) and KL (right) of VAEs trained with different β: "
          "raising β trades reconstruction for a smaller KL.")),
        ("beta-sweep_annealing_kl.png",
         ("The training KL per epoch with β from the first step or annealed up from 0: "
          "annealing lets the KL grow before it is weighed fully.")),
    ]),
    ("The variants: `tinyae experiment denoise|sparse|deep --quick`",
     "tinyae experiment NAME --quick", [
        ("denoise_gaussian_0.1.png",
         ("Gaussian noise of σ = 0.1 (top row): the plain autoencoder and the denoising one (DAE) "
          "are given the same noisy digits; at this level both still draw them.")),
        ("denoise_gaussian_0.3.png",
         ("σ = 0.3: the plain autoencoder draws faint, speckled strokes, the DAE, trained on "
          "such noise, whole digits; the last two rows give the DAE the clean image instead.")),
        ("denoise_gaussian_0.5.png",
         ("σ = 0.5: the plain autoencoder's digits all but vanish; the DAE still draws a "
          "digit, not always the right one.")),
        ("denoise_mask_0.25.png",
         ("Masking noise: a quarter of the pixels set to 0 (top); both fill most gaps back in, "
          "the DAE with firmer strokes.")),
        ("denoise_mask_0.5.png",
         ("Half the pixels masked: the plain autoencoder's digits break up, the DAE's stay "
          "whole strokes.")),
        ("sparse_mean_activations.png",
         ("Each hidden unit's mean activation over the test images, sorted: with the sparsity "
          "penalty (solid blue, dash-dot green) the units sit near the dotted target ρ; without "
          "it most fire half the time.")),
        ("sparse_filters_sparse.png",
         ("First-layer weights of the sparse autoencoder (sparsity penalty β and weight decay "
          "λ), one square per hidden unit, each on its own colour scale; after this quick run "
          "they are still speckled, the full run's are pen strokes (README).")),
        ("sparse_filters_decay_only.png",
         ("The same network with weight decay but no sparsity penalty (β = 0): its filters are "
          "smoother blobs and spots, not strokes.")),
        ("deep_learning_curve.png",
         ("Test squared error per image after each epoch (log scale) of a shallow 784-30-784 "
          "and a deep 784-…-30-…-784 autoencoder, beside PCA with the same 30 numbers (dotted): "
          "below that line a network beats the best linear code.")),
        ("deep_comparison.png",
         ("Test digits (top), rebuilt from 30 numbers each by the deep autoencoder (middle) and "
          "by PCA (bottom): PCA's are blurred sums of ghostly digits.")),
    ]),
    ("In the tutorials",
     "python tutorials/06_vae.py, python tutorials/07_diagnostics.py", [
        ("tutorial_schedules.png",
         ("How each KL schedule moves the weight of the KL term from 0 to its final value over "
          "the training steps (tutorial 06).")),
        ("tutorial_monitor_blob.png",
         ("The monitor of question 1's all-sigmoid network with SGD (tutorial 07): the collapse "
          "ratio near 1 and a layer-1 gradient ~100× smaller than the output layer's.")),
    ]),
]


def train_figures(work: Path) -> None:
    """The figures of ``tinyae train`` for the autoencoder and the VAE."""
    for prefix, flags in TRAIN:
        out = work / prefix
        args = ["train", "--dataset", "mnist-mini", *flags.split(), "--quiet", "--out", str(out)]
        with contextlib.redirect_stdout(io.StringIO()):  # "wrote …" lines naming a temporary folder
            status = main(args)
        if status != 0:
            raise SystemExit(f"tinyae train {flags} failed")
        for png in out.glob("*.png"):
            shutil.copyfile(png, GALLERY / f"{prefix}_{png.name}")


def experiment_figures(work: Path) -> None:
    """The figures of every experiment, in its quick configuration."""
    for name in EXPERIMENTS:
        for png in run_experiment(name, out=work, quick=True, verbose=False).figures:
            shutil.copyfile(png, GALLERY / f"{name}_{png.name}")


def tutorial_figures() -> None:
    """The tutorials' ``tinyae.plot`` figures that the CLI and the experiments do not draw."""
    total = 1000
    plot.schedules({"constant": lambda t: constant(t, 1.0),
                    "linear warm-up": lambda t: linear_warmup(t, total // 2),
                    "sigmoid": lambda t: sigmoid_anneal(t, total),
                    "cyclical": lambda t: cyclical(t, total)},
                   total_steps=total, path=GALLERY / "tutorial_schedules.png")
    x = load_mnist("mnist-mini", verbose=False).x_train[:2000]
    blob = dense_autoencoder("784-100-50-100-784", hidden="sigmoid", output="sigmoid", seed=0)
    history = fit(blob, x, loss=BCE(), optimizer=SGD(lr=1.0), epochs=4, batch_size=64, seed=0,
                  callbacks=[Monitor(x[:256], BCE(), y_mean=x.mean(axis=0), verbose=False)],
                  verbose=False)
    plot.monitors(history, path=GALLERY / "tutorial_monitor_blob.png")


def write_page() -> None:
    """docs/gallery.md: every figure with its caption, section by section."""
    lines = ["# Gallery: every figure tinyae draws", "",
             ("Drawn by `python -m tools.make_gallery` on the bundled subset mnist-mini (seed 0, "
              "small quick runs, so the numbers are not those of full MNIST). Each figure comes "
              "with one sentence on how to read it."), ""]
    for section, command, figures in CAPTIONS:
        lines += [f"## {section}", "", f"`{command}`", ""]
        for name, caption in figures:
            if not (GALLERY / name).is_file():
                raise SystemExit(f"{name} was not drawn: update CAPTIONS in tools/make_gallery.py")
            lines += [f"![{name}](gallery/{name})", "", caption, ""]
    PAGE.write_text("\n".join(lines))


def main_gallery() -> None:
    """Redraw docs/gallery/ from scratch and rewrite docs/gallery.md."""
    shutil.rmtree(GALLERY, ignore_errors=True)
    GALLERY.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as work:
        train_figures(Path(work))
        experiment_figures(Path(work))
    tutorial_figures()
    captioned = {name for _, _, figures in CAPTIONS for name, _ in figures}
    uncaptioned = sorted(p.name for p in GALLERY.glob("*.png") if p.name not in captioned)
    if uncaptioned:
        raise SystemExit(f"no caption for {', '.join(uncaptioned)}: add them to CAPTIONS")
    write_page()
    size = sum(p.stat().st_size for p in GALLERY.glob("*.png"))
    print(f"wrote {PAGE} and {len(captioned)} figures in {GALLERY} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main_gallery()
