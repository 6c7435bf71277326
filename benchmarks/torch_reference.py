"""The PyTorch reference runs that the convolution chapter compares its networks with.

Four networks, in PyTorch with its default initialisation, trained with the chapters' recipe
(Adam, learning rate 0.001, batches of 64, cross-entropy on the logits) on the book's one split
of the 5,000 bundled digits, ``dlfs.data.digit_splits()`` (3,200 training, 800 validation and
1,000 test digits), with seeds 0, 1 and 2:

- ``mlp``: 784-128-64-10 with ReLU (chapter 7's perceptron);
- ``small_cnn``: conv8-pool-conv16-pool, then a linear layer to the ten classes;
- ``cnn``: conv16-pool-conv32-pool-fc64 (chapter 9's network);
- ``cnn_bn``: standardised inputs, conv16-BN-pool-conv32-BN-pool-fc64 (chapter 10's network).

Convolutions are 3 x 3 with padding 1 and are followed by ReLU; pooling is 2 x 2 max-pooling.
They are trained as ``long_runs.py`` trains dlfs's networks, and the same honesty rule holds:

1. every network is trained on the 3,200 training digits for ``EPOCHS`` (15) epochs with each
   seed, and measured on the 800 validation digits after every epoch: ``val_accuracy[name]``,
   one curve of ``EPOCHS`` values per seed (in ``seeds`` order), epoch 1 first;
2. its number of epochs is chosen on the mean of those curves over the seeds (the best mean
   validation accuracy; ties go to the earlier epoch): ``chosen_epochs[name]``;
3. it is trained again from scratch, with each seed, on the 4,000 training and validation digits
   (the training digits, then the validation digits) for that many epochs, and the 1,000 test
   digits are measured once, at the end: ``test_accuracy[name]``, one figure per seed.

PyTorch's results depend on the CPU and its thread count, so they are stored, in
``torch_reference.json`` beside this script, and the chapters glue them from there:

    .venv/bin/python benchmarks/torch_reference.py      # make torch-reference

It takes about 9 minutes on 2 idle cores (26 on the busy shared machine that wrote the stored
file).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
from torch import nn

from long_runs import splits
from train_mlp import torch_epoch

SEEDS = (0, 1, 2)
EPOCHS = 15
BATCH_SIZE = 64
LEARNING_RATE = 0.001


class Standardise(nn.Module):
    """(x - mean) / std, with the training digits' statistics."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std


def network(name: str, X_train: np.ndarray) -> nn.Module:
    """One of the four reference networks (PyTorch modules, default initialisation)."""
    def conv_block(n_in: int, n_out: int, batchnorm: bool) -> list:
        return [nn.Conv2d(n_in, n_out, 3, padding=1), *([nn.BatchNorm2d(n_out)] if batchnorm else []),
                nn.ReLU(), nn.MaxPool2d(2)]

    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))
    if name == "small_cnn":
        return nn.Sequential(*conv_block(1, 8, False), *conv_block(8, 16, False), nn.Flatten(),
                             nn.Linear(16 * 7 * 7, 10))
    batchnorm = name == "cnn_bn"
    mean, std = float(X_train.mean(dtype=np.float64)), float(X_train.std(dtype=np.float64))
    standardise = [Standardise(mean, std)] if batchnorm else []
    return nn.Sequential(*standardise, *conv_block(1, 16, batchnorm), *conv_block(16, 32, batchnorm),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


def train(name: str, seed: int, X: np.ndarray, y: np.ndarray, epochs: int, validation=None):
    """Train one network with one seed on (X, y) for ``epochs`` epochs; the network and, given
    ``validation`` (X, y), its validation accuracy after every epoch."""
    torch.manual_seed(seed)
    net = network(name, X)
    one_epoch = torch_epoch(net, torch.optim.Adam(net.parameters(), lr=LEARNING_RATE), X, y,
                            BATCH_SIZE, np.random.default_rng(seed))
    curve = []
    for _ in range(epochs):
        one_epoch()
        if validation is not None:
            curve.append(accuracy(net, *validation))
    return net, curve


def accuracy(net: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of (X, y) that ``net`` classifies right, in evaluation mode."""
    net.eval()
    with torch.no_grad():
        return float((net(torch.from_numpy(X)).argmax(dim=1) == torch.from_numpy(y)).double().mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("torch_reference.json"))
    args = parser.parse_args()
    (X_train, y_train), validation, (X_both, y_both), test = splits()
    val_accuracy, chosen_epochs, test_accuracy = {}, {}, {}
    for name in ("mlp", "small_cnn", "cnn", "cnn_bn"):
        val_accuracy[name] = [train(name, seed, X_train, y_train, EPOCHS, validation)[1] for seed in SEEDS]
        mean = np.mean(val_accuracy[name], axis=0)
        chosen_epochs[name] = int(np.argmax(mean)) + 1
        test_accuracy[name] = [accuracy(train(name, seed, X_both, y_both, chosen_epochs[name])[0], *test)
                               for seed in SEEDS]
        print(f"{name:9s} mean validation accuracy of seeds {list(SEEDS)}, epochs 1-{EPOCHS}:",
              " ".join(f"{a:.3f}" for a in mean), flush=True)
        print(f"{'':9s} {chosen_epochs[name]} epochs on {len(y_both)} digits, test accuracy:",
              " ".join(f"{a:.3f}" for a in test_accuracy[name]), flush=True)
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor(),
               "split": "dlfs.data.digit_splits()", "seeds": list(SEEDS), "epochs": EPOCHS,
               "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE, "train_rows": len(y_train),
               "validation_rows": len(validation[1]), "test_rows": len(test[1]), "final_train_rows": len(y_both),
               "val_accuracy": val_accuracy, "chosen_epochs": chosen_epochs, "test_accuracy": test_accuracy}
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
