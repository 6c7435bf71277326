"""The training loop.

Generated from chapters/06-training-loop.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['Callback', 'MODEL_FORMAT', 'LOSSES', 'Model']

import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from dlfs.activations import Softmax
from dlfs.layers import DEFAULT_DTYPE, Layer, check_inputs
from dlfs.losses import (BinaryCrossEntropy, CategoricalCrossEntropy, Loss, accuracy,
                         softmax_cross_entropy_backward)


def _batches(n_rows: int, batch_size: int, order: np.ndarray | None = None):
    """Index slices (or index arrays when ``order`` is given) covering ``n_rows`` rows."""
    for start in range(0, n_rows, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start:start + batch_size]


def _progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total
    return f"[{'=' * filled}{'.' * (width - filled)}] {done}/{total}"


class Callback:
    """Hooks into ``Model.fit``: override what you need. ``on_epoch_end`` returns True to stop."""

    def on_train_begin(self, model) -> None:
        pass

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        return False

    def on_train_end(self, model) -> None:
        pass

MODEL_FORMAT = "dlfs.Model/1"
LOSSES = {cls.__name__: cls for cls in Loss.__subclasses__()}


def _read_model_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The architecture record and the arrays of a file written by ``Model.save``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        architecture = json.loads(str(arrays.pop("architecture")))
    except KeyError:
        raise ValueError(f"{path} has no architecture record: not a file written by Model.save") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable dlfs model file (truncated or corrupt?): {error}") from error
    if not isinstance(architecture, dict) or architecture.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a {MODEL_FORMAT} file")
    return architecture, arrays


class Model:
    """A stack of layers trained as one.

    ``forward`` runs the layers in order; ``backward(output, y_true)`` runs the loss gradient
    back through them (the fused softmax + cross-entropy gradient when the last layer is
    ``Softmax`` and the loss is ``CategoricalCrossEntropy``). ``fit``, ``evaluate`` and
    ``predict`` train and use it on whole data sets in mini-batches.
    """

    def __init__(self, layers=None, loss: Loss | None = None, optimizer=None):
        self.layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)
        self.loss = loss
        self.optimizer = optimizer
        self.history: dict[str, list[float]] = {}

    def add(self, layer: Layer) -> "Model":
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a dlfs Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def forward(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, n_features) -> the last layer's output, e.g. (N, C) probabilities."""
        for layer in self.layers:
            inputs = layer.forward(inputs, training=training)
        return inputs

    def backward(self, output: np.ndarray, y_true) -> np.ndarray:
        """Gradients of the loss for every layer, from the output back; returns dL/d(inputs)."""
        loss = self._require("loss", Loss)
        layers = self.layers
        if isinstance(layers[-1], Softmax) and isinstance(loss, CategoricalCrossEntropy):
            dvalues = layers[-1].dinputs = softmax_cross_entropy_backward(output, y_true)
            layers = layers[:-1]
        else:
            dvalues = loss.backward(output, y_true)
        for layer in reversed(layers):
            dvalues = layer.backward(dvalues)
        return dvalues

    def _require(self, name: str, kind: type):
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"set model.{name} before training (e.g. model.{name} = ...)")
        if not isinstance(value, kind):
            raise TypeError(f"model.{name} must be a {kind.__name__}, got {type(value).__name__}")
        return value

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter array, layer by layer."""
        return [param.copy() for layer in self.layers for param in layer.parameters().values()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the layers, checking shapes."""
        params = [(i, name, p) for i, layer in enumerate(self.layers) for name, p in layer.parameters().items()]
        if len(weights) != len(params):
            raise ValueError(f"expected {len(params)} arrays, got {len(weights)}")
        for (i, name, param), new in zip(params, weights):
            if np.shape(new) != param.shape:
                raise ValueError(f"layer {i} ({self.layers[i]!r}) {name}: expected shape {param.shape}, got {np.shape(new)}")
            param[...] = new

    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, validation_data=None, shuffle: bool = True,
            seed=None, verbose: int = 1, callbacks=()) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; returns ``history`` (one value per epoch).

        X (N, n_features); y integer labels (N,), one-hot rows or targets shaped like the output.
        ``validation_data=(X_val, y_val)`` is evaluated after each epoch. ``seed`` fixes the
        shuffling. ``verbose=1`` prints one line per epoch (and a progress bar in a terminal).
        Each callback's ``on_epoch_end(model, epoch, logs)`` may return True to stop training.
        """
        loss_fn = self._require("loss", Loss)
        if self.optimizer is None:
            raise RuntimeError("set model.optimizer before fit (e.g. model.optimizer = SGD(learning_rate=0.1))")
        X = check_inputs(X, name="X", dtype=self.dtype)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} rows but X has {len(X)}")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        y = np.asarray(y)
        rng = np.random.default_rng(seed)
        n_batches = -(-len(X) // batch_size)
        show_bar = verbose and sys.stdout.isatty()
        self.history = {}
        for callback in callbacks:
            callback.on_train_begin(self)
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(X)) if shuffle else None
            total = 0.0
            for b, rows in enumerate(_batches(len(X), batch_size, order), start=1):
                output = self.forward(X[rows], training=True)
                batch_loss = loss_fn.calculate(output, y[rows])
                if not np.isfinite(batch_loss):
                    raise FloatingPointError(
                        f"the loss became {batch_loss} at epoch {epoch}, batch {b}: training diverged; "
                        f"try a smaller learning rate (now {self.optimizer.learning_rate})"
                    )
                self.backward(output, y[rows])
                for layer in self.layers:
                    if layer.parameters():
                        self.optimizer.update_params(layer)
                total += batch_loss * len(output)
                if show_bar:
                    print("\r" + _progress_bar(b, n_batches), end="", flush=True)
            logs = {"loss": total / len(X)}
            if isinstance(loss_fn, (CategoricalCrossEntropy, BinaryCrossEntropy)):
                logs["accuracy"] = self.evaluate(X, y)["accuracy"]
            if validation_data is not None:
                logs |= {"val_" + k: v for k, v in self.evaluate(*validation_data).items()}
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            if verbose:
                print(("\r" if show_bar else "") + f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                      + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()))
            if any([callback.on_epoch_end(self, epoch, logs) for callback in callbacks]):
                break
        for callback in callbacks:
            callback.on_train_end(self)
        return self.history


    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's output for X (N, n_features), computed in batches, in evaluation mode."""
        X = check_inputs(X, name="X", dtype=self.dtype)
        return np.concatenate([self.forward(X[rows]) for rows in _batches(len(X), batch_size)])


    def evaluate(self, X, y, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss (and accuracy, for classification losses) over the whole of X and y."""
        loss_fn = self._require("loss", Loss)
        output = self.predict(X, batch_size)
        scores = {"loss": loss_fn.calculate(output, y)}
        if isinstance(loss_fn, (CategoricalCrossEntropy, BinaryCrossEntropy)):
            scores["accuracy"] = accuracy(output, y)
        return scores


    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first layer that has one (float32 by default)."""
        return next((layer.dtype for layer in self.layers if hasattr(layer, "dtype")), np.dtype(DEFAULT_DTYPE))

    def architecture(self) -> dict:
        """A JSON-ready description of the layers and the loss (no learned values)."""
        def describe(obj):
            return None if obj is None else {"class": type(obj).__name__, "config": obj.get_config()}
        return {"format": MODEL_FORMAT, "layers": [describe(layer) for layer in self.layers], "loss": describe(self.loss)}

    def save(self, path) -> None:
        """Write the architecture and the weights to ``path``: a NumPy .npz archive, no pickle."""
        arrays = {f"layer{i}.{name}": param for i, layer in enumerate(self.layers)
                  for name, param in layer.parameters().items()}
        arrays["architecture"] = np.array(json.dumps(self.architecture()))
        with open(path, "wb") as file:
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path) -> "Model":
        """Rebuild a model saved with ``save``: its layers, its loss and its weights."""
        architecture, arrays = _read_model_file(path)
        try:
            layers = [Layer.registry[spec["class"]](**spec["config"]) for spec in architecture["layers"]]
            loss = architecture["loss"] and LOSSES[architecture["loss"]["class"]](**architecture["loss"]["config"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: the architecture record cannot be rebuilt ({error!r})") from error
        model = cls(layers, loss or None)
        model._set_saved_arrays(arrays, path)
        return model

    def load_weights(self, path) -> None:
        """Load the weights saved by ``save`` from a model of the same architecture."""
        architecture, arrays = _read_model_file(path)
        if architecture["layers"] != self.architecture()["layers"]:
            raise ValueError(f"{path} holds another architecture: {architecture['layers']} "
                             f"where this model has {self.architecture()['layers']}")
        self._set_saved_arrays(arrays, path)

    def _set_saved_arrays(self, arrays: dict[str, np.ndarray], path) -> None:
        expected = {f"layer{i}.{name}": param for i, layer in enumerate(self.layers)
                    for name, param in layer.parameters().items()}
        if set(arrays) != set(expected):
            raise ValueError(f"{path}: expected the arrays {sorted(expected)}, found {sorted(arrays)}")
        for key, param in expected.items():
            saved = arrays[key]
            if saved.shape != param.shape or saved.dtype != param.dtype:
                raise ValueError(f"{path}: {key} must be {param.dtype} of shape {param.shape}, "
                                 f"got {saved.dtype} of shape {saved.shape}")
            param[...] = saved

    def __repr__(self) -> str:
        return "Model([\n" + "".join(f"    {layer!r},\n" for layer in self.layers) + "])"
