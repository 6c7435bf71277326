"""The CNNs of the convolution and normalisation chapters: validation curves, choices, test runs.

The chapters train for as long as their time budget allows; this script records what more runs
and more epochs give, for the chapters to quote (glued from ``long_runs.json``, which it writes
beside itself). Each recipe is copied from its chapter (architecture, optimizer, seeds) with the
layers imported from dlfs. The digits are the book's one split, ``dlfs.data.digit_splits()``:
3,200 training, 800 validation and 1,000 test digits, as images (N, 1, 28, 28).

The honesty rule of the book holds here too: every curve is on the validation digits, every
choice is made on those curves, and the test digits are read once per final run, at its end.

The recipes (``RECIPES``): ``"convolution"`` is chapter 9's network (conv16-pool-conv32-pool-
fc64, no normalisation); ``"normalization 1.0"``, ``"normalization 0.3"`` and
``"normalization 0.1"`` are chapter 10's (a Standardize in front, a BatchNorm after each
convolution), the convolution weights starting at He's scale times 1, 0.3 or 0.1. All use Adam
(learning rate 0.001) in batches of 64.

The script works in three steps, and ``long_runs.json`` holds one key for each:

1. ``"validation"``: every recipe is trained on the 3,200 training digits with every seed in
   ``CHOICE_SEEDS`` (0, 1, 2) for ``EPOCHS`` (15) epochs, and measured on the 800 validation
   digits after every epoch. ``validation[recipe]`` is ``{"val_accuracy": [...], "val_loss":
   [...]}``, each a list with one curve per seed (in ``CHOICE_SEEDS`` order) of ``EPOCHS``
   values, epoch 1 first. ``Model.fit`` seeds each epoch's shuffle from the seed and the epoch
   number, so the first k epochs of a long run are a k-epoch run: seed 0 of ``"convolution"``
   is chapter 9's 15-epoch run of its network, and the first ``CHAPTER_EPOCHS`` (8) epochs of
   the ``"normalization ..."`` curves are chapter 10's nine selection runs, bit for bit on the
   same numeric platform.
2. ``"choices"``: made on the mean over ``CHOICE_SEEDS`` of the validation-accuracy curves
   (ties go to the earlier scale, then to the earlier epoch, as in chapter 10):

   - ``choices["normalization"]``: chapter 10's choice, ``{"conv_scale", "epochs",
     "max_epochs"}``: the scale and the number of epochs, among the three scales and the first
     ``max_epochs`` = ``CHAPTER_EPOCHS`` (8) epochs, with the best mean validation accuracy;
   - ``choices["convolution"]``: chapter 9's network, ``{"epochs", "max_epochs"}``: the number
     of epochs, among the first ``max_epochs`` = ``EPOCHS`` (15), with the best mean validation
     accuracy.

3. ``"test"``: each choice becomes a final recipe, trained again from scratch on the 4,000
   training and validation digits (``np.concatenate`` of the training digits, then the
   validation digits; Standardize fitted on them) for the chosen number of epochs, with every
   seed in ``SEEDS`` (0 to 4), and measured on the 1,000 test digits once, after its last epoch.
   ``test[name]``, with ``name`` "convolution" or "normalization" as in ``choices``, is
   ``{"recipe", "epochs", "train_rows", "seeds", "test_accuracy"}``: ``recipe`` is one of
   ``RECIPES``, and ``test_accuracy`` holds one figure per seed, in ``seeds`` order. Seed 0 of
   ``test["normalization"]`` is chapter 10's final run.

The other keys: ``platform``, ``split`` (where the digits come from), ``train_rows``,
``validation_rows``, ``test_rows``, ``epochs`` (``EPOCHS``), ``chapter_epochs``,
``batch_size``, ``conv_scales``, ``choice_seeds`` and ``recipes`` (a description of each).

The runs go to one process per core, each single-threaded as the chapters are. Run it on the
book's pinned numeric platform, so that the numbers are the ones a chapter would compute:

    python tools/numeric_platform.py .venv/bin/python benchmarks/long_runs.py   # make long-runs

It takes about 5 minutes on 2 idle cores (13 on the busy shared machine that wrote the stored
file).
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
                  Softmax, Standardize)
from dlfs.data import digit_splits
from train_mlp import numeric_platform

EPOCHS = 15
BATCH_SIZE = 64
CHAPTER_EPOCHS = 8              # chapter 10's MAX_EPOCHS: the epochs its choice looks at
CONV_SCALES = (1.0, 0.3, 0.1)   # chapter 10's candidates: He's scale times these
CHOICE_SEEDS = (0, 1, 2)        # every recipe's validation runs; chapter 10 chooses on their mean
SEEDS = (0, 1, 2, 3, 4)         # the seeds of the final (test) runs
RECIPES = ("convolution", *(f"normalization {scale}" for scale in CONV_SCALES))


def convolution_cnn(training_images: np.ndarray, seed: int) -> Model:
    """Chapter 9's build_cnn(seed): conv16-pool-conv32-pool-dense64-dense10 (``training_images``
    unused: the network has no statistics to fit)."""
    rng = np.random.default_rng(seed)
    layers = [Conv2D(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Conv2D(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(),
              Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(learning_rate=1e-3))


def normalization_cnn(training_images: np.ndarray, conv_scale: float, seed: int) -> Model:
    """Chapter 10's cnn(training_images, conv_scale, seed): conv16-BN-pool-conv32-BN-pool-fc64 behind
    a Standardize fitted on ``training_images``, the convolution weights He's times ``conv_scale``."""
    rng = np.random.default_rng(seed)
    conv1, conv2 = Conv2D(1, 16, 3, padding=1, init="he", rng=rng), Conv2D(16, 32, 3, padding=1, init="he", rng=rng)
    for conv in (conv1, conv2):
        conv.weights *= conv_scale
    layers = [Standardize(1).fit(training_images), conv1, BatchNorm(16), ReLU(), MaxPool2D(2),
              conv2, BatchNorm(32), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(), Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(0.001))


def build(recipe: str, training_images: np.ndarray, seed: int) -> Model:
    """One of ``RECIPES``, its Standardize (if any) fitted on ``training_images``."""
    if recipe == "convolution":
        return convolution_cnn(training_images, seed)
    return normalization_cnn(training_images, float(recipe.split()[1]), seed)


def splits():
    """``digit_splits()`` as images (N, 1, 28, 28): (train, validation, train + validation, test),
    each (X, y); train + validation is the training digits followed by the validation digits."""
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = digit_splits()
    images = [X.reshape(-1, 1, 28, 28) for X in (X_train, X_val, X_test)]
    both = np.concatenate(images[:2]), np.concatenate([y_train, y_val])
    return (images[0], y_train), (images[1], y_val), both, (images[2], y_test)


DATA = None      # splits(), set in main before the worker processes fork


def train(job: tuple[str, str, int, int]) -> dict:
    """One run, ``(recipe, kind, seed, epochs)``. kind "validation": trained on the training digits,
    the validation accuracy and loss after every epoch. kind "test": trained on the training and
    validation digits, the test accuracy after the last epoch only."""
    recipe, kind, seed, epochs = job
    train_part, validation, both, (X_test, y_test) = DATA
    X, y = train_part if kind == "validation" else both
    model = build(recipe, X, seed)
    if kind == "validation":
        history = model.fit(X, y, epochs=epochs, batch_size=BATCH_SIZE, rng=seed, verbose=0,
                            validation_data=validation)
        return {"val_accuracy": [float(a) for a in history["val_accuracy"]],
                "val_loss": [float(v) for v in history["val_loss"]]}
    model.fit(X, y, epochs=epochs, batch_size=BATCH_SIZE, rng=seed, verbose=0)
    return {"test_accuracy": float(model.evaluate(X_test, y_test)["accuracy"])}     # read once


def run_all(jobs: list[tuple[str, str, int, int]]) -> dict:
    """Every job, one process per core (each run is single-threaded and gives the same bits alone)."""
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(jobs, pool.map(train, jobs)))


def best(mean_curves: np.ndarray, max_epochs: int) -> tuple[int, int]:
    """(row, number of epochs) of the highest value in the first ``max_epochs`` columns of a
    (recipes, epochs) table, as chapter 10's best(): ties go to the earlier row, then epoch."""
    row, epoch = np.unravel_index(np.argmax(mean_curves[:, :max_epochs]), (len(mean_curves), max_epochs))
    return int(row), int(epoch) + 1


def main() -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("long_runs.json"))
    args = parser.parse_args()
    DATA = splits()

    # 1. Validation curves, trained on the training digits.
    runs = run_all([(recipe, "validation", seed, EPOCHS) for recipe in RECIPES for seed in CHOICE_SEEDS])
    validation = {recipe: {key: [runs[recipe, "validation", seed, EPOCHS][key] for seed in CHOICE_SEEDS]
                           for key in ("val_accuracy", "val_loss")} for recipe in RECIPES}
    mean = {recipe: np.mean(validation[recipe]["val_accuracy"], axis=0) for recipe in RECIPES}

    # 2. Choices, on the mean validation accuracy of the seeds.
    scaled = np.array([mean[recipe] for recipe in RECIPES[1:]])
    choices, final = {}, {}
    row, epochs = best(scaled, CHAPTER_EPOCHS)
    choices["normalization"] = {"conv_scale": CONV_SCALES[row], "epochs": epochs, "max_epochs": CHAPTER_EPOCHS}
    final["normalization"] = RECIPES[1 + row], epochs
    _, epochs = best(mean["convolution"][None], EPOCHS)
    choices["convolution"] = {"epochs": epochs, "max_epochs": EPOCHS}
    final["convolution"] = "convolution", epochs
    for name, choice in choices.items():
        print(f"chosen on validation for {name!r}: {choice}", flush=True)

    # 3. The final recipes on training + validation digits; the test digits once, at the end.
    jobs = [(recipe, "test", seed, epochs) for recipe, epochs in final.values() for seed in SEEDS]
    runs = run_all(jobs)
    test = {name: {"recipe": recipe, "epochs": epochs, "train_rows": len(DATA[2][1]), "seeds": list(SEEDS),
                   "test_accuracy": [runs[recipe, "test", seed, epochs]["test_accuracy"] for seed in SEEDS]}
            for name, (recipe, epochs) in final.items()}

    results = {
        "platform": {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                     "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), **numeric_platform()},
        "split": "dlfs.data.digit_splits()", "train_rows": len(DATA[0][1]), "validation_rows": len(DATA[1][1]),
        "test_rows": len(DATA[3][1]), "epochs": EPOCHS, "chapter_epochs": CHAPTER_EPOCHS,
        "batch_size": BATCH_SIZE, "conv_scales": list(CONV_SCALES), "choice_seeds": list(CHOICE_SEEDS),
        "recipes": {
            "convolution": "chapter 9: conv16-pool-conv32-pool-fc64, Adam 1e-3, batch 64",
            **{recipe: f"chapter 10: Standardize, conv16-BN-pool-conv32-BN-pool-fc64, Adam 1e-3, batch 64, "
                       f"convolution weights He x {recipe.split()[1]}" for recipe in RECIPES[1:]}},
        "validation": validation, "choices": choices, "test": test,
    }
    for recipe in RECIPES:
        print(f"{recipe:17s} mean validation accuracy by epoch:", " ".join(f"{a:.3f}" for a in mean[recipe]))
    for name, run in test.items():
        print(f"{name!r}: {run['recipe']}, {run['epochs']} epochs on {run['train_rows']} digits, "
              f"test accuracy of seeds {run['seeds']}:", " ".join(f"{a:.3f}" for a in run["test_accuracy"]))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
