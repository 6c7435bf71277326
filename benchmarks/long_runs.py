"""Train the CNNs of the convolution and normalisation chapters for 15 epochs and store every epoch.

The chapters train for as long as their time budget allows; this script records what more
epochs give, for the chapters to quote (glued from ``long_runs.json``, which it writes beside
itself). Each recipe is copied from its chapter (the splits, seeds, architecture and optimizer)
with the layers imported from dlfs, and is run twice:

- ``validation_run``: trained on the chapter's fit split (3,200 digits), measured after every
  epoch on its validation split (800) and on the 1,000 held-out digits;
- ``full_run``: trained on all 4,000 training digits, as the chapters' final runs and the PyTorch
  reference runs are, measured after every epoch on the held-out digits.

Chapter 11 chooses the scale of its convolution weights on validation, among ``CONV_SCALES``; the
script makes the same choice from the same validation runs (the best validation accuracy within
the chapter's first ``CHAPTER_EPOCHS`` epochs) and stores every scale's runs.

Fit calls ask for all 15 epochs at once; since ``fit`` seeds each epoch's shuffle from the seed
and the epoch number, epoch k of these runs is epoch k of a chapter's shorter run. Run it on the
book's pinned numeric platform, so that the numbers are the ones a chapter would compute:

    python tools/numeric_platform.py .venv/bin/python benchmarks/long_runs.py      # a few minutes
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from dlfs import (Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Flatten, MaxPool2D, Model, ReLU,
                  Softmax, Standardize, load_digits_5k, stratified_split)
from dlfs.model import Callback
from train_mlp import numeric_platform

SEED = 0
EPOCHS = 15
BATCH_SIZE = 64
CHAPTER_EPOCHS = 8        # chapter 11's MAX_EPOCHS: the epochs its choice looks at
CONV_SCALES = (1.0, 0.3, 0.1)   # chapter 11's candidates: He's scale times these


def convolution_cnn(training_images: np.ndarray) -> Model:
    """Chapter 10's build_cnn(SEED): conv16-pool-conv32-pool-dense64-dense10 (``training_images``
    unused: the network has no statistics to fit)."""
    rng = np.random.default_rng(SEED)
    layers = [Conv2D(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Conv2D(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
              Flatten(), Dense(32 * 7 * 7, 64, init="he", rng=rng), ReLU(),
              Dense(64, 10, rng=rng), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), Adam(learning_rate=1e-3))


def normalization_cnn(training_images: np.ndarray, conv_scale: float) -> Model:
    """Chapter 11's cnn(training_images, conv_scale): conv16-BN-pool-conv32-BN-pool-fc64 behind a
    Standardize, the convolution weights He's times ``conv_scale``."""
    rng = np.random.default_rng(SEED)
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
    held out and a fifth of the rest for validation (chapter 10 splits the images, chapter 11 the
    rows of pixels: the same digits)."""
    X, y = load_digits_5k()
    (X_train, y_train), (X_test, y_test) = stratified_split(X.reshape(-1, 1, 28, 28), y, test_fraction=0.2, rng=SEED)
    (X_fit, y_fit), (X_val, y_val) = stratified_split(X_train, y_train, test_fraction=0.2, rng=SEED)
    return (X_fit, y_fit), (X_val, y_val), (X_train, y_train), (X_test, y_test)


def run_recipe(build, data) -> dict:
    (X_fit, y_fit), (X_val, y_val), (X_train, y_train), (X_test, y_test) = data
    held_out = HeldOut(X_test, y_test)
    history = build(X_fit).fit(X_fit, y_fit, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(X_val, y_val),
                               rng=SEED, verbose=0, callbacks=[held_out])
    validation_run = {"train_rows": len(X_fit), "val_rows": len(X_val),
                      "val_accuracy": [float(a) for a in history["val_accuracy"]],
                      "val_loss": [float(v) for v in history["val_loss"]],
                      "held_out_accuracy": held_out.accuracy}
    held_out = HeldOut(X_test, y_test)
    build(X_train).fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, rng=SEED, verbose=0,
                       callbacks=[held_out])
    full_run = {"train_rows": len(X_train), "held_out_accuracy": held_out.accuracy}
    return {"validation_run": validation_run, "full_run": full_run}


def report(name: str, runs: dict) -> None:
    print(f"{name}: held-out accuracy by epoch, trained on {runs['full_run']['train_rows']} digits:",
          " ".join(f"{a:.3f}" for a in runs["full_run"]["held_out_accuracy"]))
    print(f"{' ' * len(name)}  validation accuracy by epoch, trained on {runs['validation_run']['train_rows']}:",
          " ".join(f"{a:.3f}" for a in runs["validation_run"]["val_accuracy"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("long_runs.json"))
    args = parser.parse_args()
    data = splits()
    results = {
        "platform": {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                     "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), **numeric_platform()},
        "epochs": EPOCHS, "batch_size": BATCH_SIZE, "held_out_rows": len(data[3][1]),
        "convolution": {"recipe": "chapter 10: conv16-pool-conv32-pool-fc64, Adam 1e-3, batch 64"},
        "normalization": {"recipe": "chapter 11: Standardize, conv16-BN-pool-conv32-BN-pool-fc64, Adam 1e-3, batch 64, "
                                   f"convolution weights He x the best of {list(CONV_SCALES)} on validation"},
    }
    results["convolution"] |= run_recipe(convolution_cnn, data)
    report("convolution", results["convolution"])
    by_scale = results["normalization"]["by_conv_scale"] = {}
    for scale in CONV_SCALES:
        by_scale[str(scale)] = run_recipe(lambda images: normalization_cnn(images, scale), data)
        report(f"normalization, scale {scale}", by_scale[str(scale)])
    chosen = max(by_scale, key=lambda scale: max(by_scale[scale]["validation_run"]["val_accuracy"][:CHAPTER_EPOCHS]))
    results["normalization"] |= {"conv_scale": float(chosen), **by_scale[chosen]}
    print(f"chosen on validation, as chapter 11 does: convolution weights He x {chosen}")
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
