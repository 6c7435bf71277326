"""Train the CNNs of the convolution and normalisation chapters for 15 epochs and store every epoch.

The chapters train for as long as their time budget allows; this script records what more
epochs give, for the chapters to quote (glued from ``long_runs.json``, which it writes beside
itself). Each recipe is copied from its chapter (the splits, seeds, architecture and optimizer)
with the layers imported from dlfs, and is run twice with the chapters' seed 0:

- ``validation_run``: trained on the chapter's fit split (3,200 digits), measured after every
  epoch on its validation split (800) and on the 1,000 held-out digits;
- ``full_run``: trained on all 4,000 training digits, as the chapters' final runs and the PyTorch
  reference runs are, measured after every epoch on the held-out digits.

Chapter 10 chooses the scale of its convolution weights and the number of epochs on validation:
each scale in ``CONV_SCALES`` is trained with every seed in ``CHOICE_SEEDS`` for the chapter's
``CHAPTER_EPOCHS`` epochs, and the best mean validation accuracy wins. The script makes the same
choice from the same runs (``seed_val_accuracy``). ``seed_runs`` then trains chapter 9's network,
chapter 10's at He's scale and chapter 10's chosen recipe on all 4,000 digits with each seed in
``SEEDS``, to show how much of a held-out figure is the luck of one seed.

Fit calls ask for all their epochs at once; since ``fit`` seeds each epoch's shuffle from the seed
and the epoch number, epoch k of these runs is epoch k of a chapter's shorter run. The runs go
to one process per core, each single-threaded as the chapters are. Run it on the book's pinned
numeric platform, so that the numbers are the ones a chapter would compute:

    python tools/numeric_platform.py .venv/bin/python benchmarks/long_runs.py      # about 4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dlfs import (Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Flatten, MaxPool2D, Model, ReLU,
                  Softmax, Standardize, load_digits_5k, stratified_split)
from dlfs.model import Callback
from train_mlp import numeric_platform

SEED = 0
EPOCHS = 15
BATCH_SIZE = 64
CHAPTER_EPOCHS = 8        # chapter 10's MAX_EPOCHS: the epochs its choice looks at
CONV_SCALES = (1.0, 0.3, 0.1)   # chapter 10's candidates: He's scale times these
CHOICE_SEEDS = (0, 1, 2)        # chapter 10 trains each candidate with these seeds
SEEDS = (0, 1, 2, 3, 4)         # the seeds of seed_runs


def convolution_cnn(training_images: np.ndarray, seed: int = SEED) -> Model:
    """Chapter 9's build_cnn(seed): conv16-pool-conv32-pool-dense64-dense10 (``training_images``
    unused: the network has no statistics to fit)."""
    rng = np.random.default_rng(seed)
    layers = [Conv2D(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Conv2D(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(),
              Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(learning_rate=1e-3))


def normalization_cnn(training_images: np.ndarray, conv_scale: float, seed: int = SEED) -> Model:
    """Chapter 10's cnn(training_images, conv_scale, seed): conv16-BN-pool-conv32-BN-pool-fc64 behind
    a Standardize, the convolution weights He's times ``conv_scale``."""
    rng = np.random.default_rng(seed)
    conv1, conv2 = Conv2D(1, 16, 3, padding=1, init="he", rng=rng), Conv2D(16, 32, 3, padding=1, init="he", rng=rng)
    for conv in (conv1, conv2):
        conv.weights *= conv_scale
    layers = [Standardize(1).fit(training_images), conv1, BatchNorm(16), ReLU(), MaxPool2D(2),
              conv2, BatchNorm(32), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(), Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(0.001))


class HeldOut(Callback):
    """The held-out accuracy after every epoch (evaluation mode: it changes nothing in training)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.y, self.accuracy = X, y, []

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        self.accuracy.append(float(model.evaluate(self.X, self.y)["accuracy"]))
        return False


def splits():
    """The chapters' splits of the 5,000 digits, as images (N, 1, 28, 28): (fit, validation,
    training = fit + validation, held out), each (X, y). Both chapters split with seed 0, a fifth
    held out and a fifth of the rest for validation (chapter 9 splits the images, chapter 10 the
    rows of pixels: the same digits)."""
    X, y = load_digits_5k()
    (X_train, y_train), (X_test, y_test) = stratified_split(X.reshape(-1, 1, 28, 28), y, test_fraction=0.2, rng=SEED)
    (X_fit, y_fit), (X_val, y_val) = stratified_split(X_train, y_train, test_fraction=0.2, rng=SEED)
    return (X_fit, y_fit), (X_val, y_val), (X_train, y_train), (X_test, y_test)


DATA = None      # splits(), set in main before the worker processes fork


def build(recipe: str, training_images: np.ndarray, seed: int) -> Model:
    """"convolution" (chapter 9's network) or "normalization <scale>" (chapter 10's)."""
    if recipe == "convolution":
        return convolution_cnn(training_images, seed)
    return normalization_cnn(training_images, float(recipe.split()[1]), seed)


def train(job: tuple[str, str, int, int]) -> dict[str, list[float]]:
    """One run, ``(recipe, split, seed, epochs)``: on the "fit" split, validation and held-out accuracy
    after every epoch; on the "training" split (all 4,000 digits), held-out accuracy."""
    recipe, split, seed, epochs = job
    (X_fit, y_fit), validation, (X_train, y_train), (X_test, y_test) = DATA
    X, y = (X_fit, y_fit) if split == "fit" else (X_train, y_train)
    held_out = HeldOut(X_test, y_test)
    history = build(recipe, X, seed).fit(X, y, epochs=epochs, batch_size=BATCH_SIZE, rng=seed, verbose=0,
                                         validation_data=validation if split == "fit" else None,
                                         callbacks=[held_out])
    measured = {"held_out_accuracy": held_out.accuracy}
    if split == "fit":
        measured |= {"val_accuracy": [float(a) for a in history["val_accuracy"]],
                     "val_loss": [float(v) for v in history["val_loss"]]}
    return measured


def run_all(jobs: list[tuple[str, str, int, int]]) -> dict[tuple[str, str, int, int], dict[str, list[float]]]:
    """Every job, one process per core (each run is single-threaded and gives the same bits alone)."""
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(jobs, pool.map(train, jobs)))


def recipe_runs(runs: dict, recipe: str) -> dict:
    """A recipe's seed-0 runs of EPOCHS epochs, as the chapters' stored-run cells read them."""
    (X_fit, _), (X_val, _), (X_train, _), _ = DATA
    return {"validation_run": {"train_rows": len(X_fit), "val_rows": len(X_val),
                               **runs[recipe, "fit", SEED, EPOCHS]},
            "full_run": {"train_rows": len(X_train), **runs[recipe, "training", SEED, EPOCHS]}}


def report(name: str, runs: dict) -> None:
    print(f"{name}: held-out accuracy by epoch, trained on {runs['full_run']['train_rows']} digits:",
          " ".join(f"{a:.3f}" for a in runs["full_run"]["held_out_accuracy"]))
    print(f"{' ' * len(name)}  validation accuracy by epoch, trained on {runs['validation_run']['train_rows']}:",
          " ".join(f"{a:.3f}" for a in runs["validation_run"]["val_accuracy"]))


def main() -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("long_runs.json"))
    args = parser.parse_args()
    DATA = splits()
    scales = [f"normalization {scale}" for scale in CONV_SCALES]
    jobs = [(recipe, split, SEED, EPOCHS) for recipe in ["convolution", *scales] for split in ("fit", "training")]
    jobs += [(recipe, "fit", seed, CHAPTER_EPOCHS) for recipe in scales for seed in CHOICE_SEEDS if seed != SEED]
    runs = run_all(jobs)

    def run(recipe: str, split: str, seed: int) -> dict[str, list[float]]:
        """A run of ``jobs`` or ``seed_jobs``: seed 0 trained for EPOCHS, the other seeds for CHAPTER_EPOCHS."""
        return runs[recipe, split, seed, EPOCHS if seed == SEED else CHAPTER_EPOCHS]

    def val_curve(recipe: str, seed: int) -> list[float]:
        return run(recipe, "fit", seed)["val_accuracy"][:CHAPTER_EPOCHS]

    mean_curves = np.array([[val_curve(recipe, seed) for seed in CHOICE_SEEDS] for recipe in scales]).mean(axis=1)
    best_scale, best_epoch = np.unravel_index(np.argmax(mean_curves), mean_curves.shape)
    chosen, chosen_epochs = CONV_SCALES[best_scale], int(best_epoch) + 1
    print(f"chosen on validation, as chapter 10 does: convolution weights He x {chosen}, {chosen_epochs} epochs")
    compared = {"convolution": "convolution", "BatchNorm, He x 1": "normalization 1.0",
                "BatchNorm, chosen": f"normalization {chosen}"}
    seed_jobs = [(recipe, "training", seed, CHAPTER_EPOCHS) for recipe in compared.values() for seed in SEEDS
                 if seed != SEED]
    runs |= run_all(seed_jobs)

    def held_out_curve(recipe: str, seed: int) -> list[float]:
        return run(recipe, "training", seed)["held_out_accuracy"][:CHAPTER_EPOCHS]

    results = {
        "platform": {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                     "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), **numeric_platform()},
        "epochs": EPOCHS, "batch_size": BATCH_SIZE, "held_out_rows": len(DATA[3][1]),
        "convolution": {"recipe": "chapter 9: conv16-pool-conv32-pool-fc64, Adam 1e-3, batch 64",
                        **recipe_runs(runs, "convolution")},
        "normalization": {
            "recipe": "chapter 10: Standardize, conv16-BN-pool-conv32-BN-pool-fc64, Adam 1e-3, batch 64, "
                      f"convolution weights He x one of {list(CONV_SCALES)} and the number of epochs chosen "
                      f"on the mean validation accuracy of seeds {list(CHOICE_SEEDS)}",
            "by_conv_scale": {str(scale): recipe_runs(runs, recipe)
                              | {"seed_val_accuracy": [val_curve(recipe, seed) for seed in CHOICE_SEEDS]}
                              for scale, recipe in zip(CONV_SCALES, scales)},
            "conv_scale": float(chosen), "chosen_epochs": chosen_epochs,
            **recipe_runs(runs, f"normalization {chosen}")},
        "seed_runs": {"seeds": list(SEEDS), "train_rows": len(DATA[2][1]), "epochs": CHAPTER_EPOCHS,
                      "held_out_accuracy": {name: [held_out_curve(recipe, seed) for seed in SEEDS]
                                            for name, recipe in compared.items()}},
    }
    for recipe in ["convolution", *scales]:
        report(recipe, recipe_runs(runs, recipe))
    for name, curves in results["seed_runs"]["held_out_accuracy"].items():
        print(f"{name}, epoch {CHAPTER_EPOCHS}, seeds {list(SEEDS)}:", " ".join(f"{c[-1]:.3f}" for c in curves))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
