"""The PyTorch reference runs that the convolution chapter compares its networks with.

Four networks, in PyTorch with its default initialisation, trained with the chapters' recipe
(Adam, learning rate 0.001, batches of 64, cross-entropy on the logits, 15 epochs) on the 4,000
training digits of the chapters' split of the 5,000 bundled digits, with seeds 0, 1 and 2; the
held-out accuracy (the other 1,000 digits) is measured after every epoch:

- ``mlp``: 784-128-64-10 with ReLU (chapter 7's perceptron);
- ``small_cnn``: conv8-pool-conv16-pool, then a linear layer to the ten classes;
- ``cnn``: conv16-pool-conv32-pool-fc64 (chapter 9's network);
- ``cnn_bn``: standardised inputs, conv16-BN-pool-conv32-BN-pool-fc64 (chapter 10's network).

Convolutions are 3 x 3 with padding 1 and are followed by ReLU; pooling is 2 x 2 max-pooling.
PyTorch's results depend on the CPU and its thread count, so they are stored, in
``torch_reference.json`` beside this script, and the chapter glues them from there:

    .venv/bin/python benchmarks/torch_reference.py      # about 5 minutes on 2 cores
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


def held_out_curve(name: str, seed: int, data) -> list[float]:
    """Train one network with one seed; its held-out accuracy after every epoch."""
    _, _, (X_train, y_train), (X_test, y_test) = data
    torch.manual_seed(seed)
    net = network(name, X_train)
    one_epoch = torch_epoch(net, torch.optim.Adam(net.parameters(), lr=LEARNING_RATE), X_train, y_train,
                            BATCH_SIZE, np.random.default_rng(seed))
    X_t, y_t, accuracy = torch.from_numpy(X_test), torch.from_numpy(y_test), []
    for _ in range(EPOCHS):
        one_epoch()
        net.eval()
        with torch.no_grad():
            accuracy.append(float((net(X_t).argmax(dim=1) == y_t).double().mean()))
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("torch_reference.json"))
    args = parser.parse_args()
    data = splits()
    runs = {}
    for name in ("mlp", "small_cnn", "cnn", "cnn_bn"):
        runs[name] = [held_out_curve(name, seed, data) for seed in SEEDS]
        mean = np.mean(runs[name], axis=0)
        print(f"{name:9s} mean held-out accuracy of seeds {list(SEEDS)}, epochs 1-{EPOCHS}:",
              " ".join(f"{a:.3f}" for a in mean), flush=True)
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor(),
               "seeds": list(SEEDS), "epochs": EPOCHS, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE,
               "train_rows": len(data[2][1]), "held_out_rows": len(data[3][1]), "held_out_accuracy": runs}
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
