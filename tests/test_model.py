"""dlfs.model: the Model class and its training loop (its files: tests/test_saving.py)."""

import re

import numpy as np
import pytest

from dlfs import (SGD, Adam, BinaryCrossEntropy, Callback, CategoricalCrossEntropy, Dense, EarlyStopping,
                  MeanSquaredError, Model, ReLU, Sigmoid, Softmax, Tanh)

N_CLASSES, N_FEATURES = 10, 784


def clusters(n: int, seed: int, spread: float = 0.5):
    """784-dim Gaussian clouds around 10 fixed random centres: X (n, 784) float32, labels (n,)."""
    centres = np.random.default_rng(0).standard_normal((N_CLASSES, N_FEATURES)) * spread
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    return (centres[labels] + rng.standard_normal((n, N_FEATURES))).astype(np.float32), labels


def one_hot(labels, n_classes=N_CLASSES):
    return np.eye(n_classes, dtype=np.int64)[labels]


def seed_readme_model(dtype=np.float32) -> Model:
    model = Model()
    model.add(Dense(784, 128, rng=1, dtype=dtype)); model.add(ReLU())
    model.add(Dense(128, 64, rng=2, dtype=dtype)); model.add(ReLU())
    model.add(Dense(64, 10, rng=3, dtype=dtype)); model.add(Softmax())
    model.loss = CategoricalCrossEntropy()
    return model


def small_classifier(seed=0, dtype=np.float32, optimizer=None) -> Model:
    layers = [Dense(4, 16, rng=seed, dtype=dtype), ReLU(), Dense(16, 3, rng=seed + 1, dtype=dtype), Softmax()]
    return Model(layers, loss=CategoricalCrossEntropy(), optimizer=optimizer or Adam(0.01))


def small_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)   # labels 0, 1, 2


# -- the seed README's loop ------------------------------------------------------------------

@pytest.mark.parametrize("label_kind", ["integer", "one-hot"])
def test_seed_readme_loop_learns(label_kind):
    X_train, labels = clusters(500, seed=1)
    y_train = labels if label_kind == "integer" else one_hot(labels)
    model = seed_readme_model()
    optimizer = SGD(learning_rate=0.3)
    losses = []
    for epoch in range(20):
        output = model.forward(X_train)
        loss = model.loss.calculate(output, y_train)
        model.backward(output, y_train)
        for layer in model.layers:
            if hasattr(layer, "weights"):
                optimizer.update_params(layer)
        losses.append(loss)
    output = model.forward(X_train)
    # independent of dlfs: the mean of -log p(true class), and the arg-max accuracy
    final_loss = -np.mean(np.log(output[np.arange(len(labels)), labels]))
    assert final_loss < losses[0] / 20
    assert np.mean(output.argmax(axis=1) == labels) >= 0.95


# -- fit, evaluate, predict ------------------------------------------------------------------

def test_fit_evaluate_predict_shapes_and_history_keys():
    X, y = small_data()
    X_val, y_val = small_data(30, seed=1)
    model = small_classifier()
    history = model.fit(X, y, epochs=4, batch_size=16, validation_data=(X_val, y_val), rng=0, verbose=0)
    assert history is model.history
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 for values in history.values())
    probs = model.predict(X_val)
    assert probs.shape == (30, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    scores = model.evaluate(X_val, y_val)
    assert set(scores) == {"loss", "accuracy"}
    # the last val figures are measured after the last epoch: they equal evaluate's
    assert scores["loss"] == pytest.approx(history["val_loss"][-1])
    assert scores["accuracy"] == np.mean(probs.argmax(axis=1) == y_val) == history["val_accuracy"][-1]
    assert set(small_classifier().fit(X, y, epochs=2, verbose=0)) == {"loss", "accuracy"}


def test_fit_training_loss_is_the_mean_over_all_rows():
    """With a learning rate too small to matter, the epoch loss is the loss of the whole set."""
    X, y = small_data(50)
    model = small_classifier(optimizer=SGD(1e-12))
    history = model.fit(X, y, epochs=1, batch_size=16, rng=0, verbose=0)
    assert history["loss"][0] == pytest.approx(model.evaluate(X, y)["loss"], rel=1e-5)


def test_regression_history_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = Model([Dense(3, 1, rng=0, dtype=np.float64)], loss=MeanSquaredError(), optimizer=SGD(0.1))
    history = model.fit(X, y, epochs=30, batch_size=8, rng=0, verbose=0)
    assert set(history) == {"loss"}
    assert history["loss"][-1] < history["loss"][0] / 100


def test_verbose_prints_one_line_per_epoch_without_a_bar_off_a_terminal(capsys):
    X, y = small_data()
    small_classifier().fit(X, y, epochs=3, rng=0, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    assert not any("[" in line or "\r" in line for line in lines)
    small_classifier().fit(X, y, epochs=2, rng=0, verbose=0)
    assert capsys.readouterr().out == ""


def test_callbacks_are_called_and_can_stop_training():
    """Keras's protocol: set_model, then on_train_begin(logs), on_epoch_end(epoch, logs) with the
    0-based epoch, on_train_end(logs); self.model.stop_training = True stops after that epoch."""
    calls = []

    class StopAfterTwo(Callback):
        def set_model(self, model):
            calls.append("set_model")
            super().set_model(model)

        def on_train_begin(self, logs=None):
            calls.append(("begin", logs))

        def on_epoch_end(self, epoch, logs=None):
            calls.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            calls.append(("end", sorted(logs)))

    X, y = small_data()
    model = small_classifier()
    callback = StopAfterTwo()
    history = model.fit(X, y, epochs=10, rng=0, verbose=0, callbacks=[callback])
    assert calls == ["set_model", ("begin", None), (0, ["accuracy", "loss"]), (1, ["accuracy", "loss"]),
                     ("end", ["accuracy", "loss"])]
    assert callback.model is model
    assert len(history["loss"]) == 2


def test_a_keras_style_callback_works_unchanged():
    """Written as for Keras (no dlfs base class): self.model, hooks (epoch, logs=None) and
    (logs=None), stop via self.model.stop_training; the epoch index counts from 0 while fit prints
    from 1, and the logs hold plain Python floats."""
    class KerasStyle:
        def __init__(self):
            self.model, self.seen = None, []

        def set_model(self, model):
            self.model = model

        def on_train_begin(self, logs=None):
            self.seen.append("begin")

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, logs["loss"], logs["val_accuracy"]))
            if epoch == 2:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self.seen.append("end")

    X, y = small_data()
    model, callback = small_classifier(), KerasStyle()
    history = model.fit(X, y, epochs=6, rng=0, verbose=0, validation_data=(X, y), callbacks=[callback])
    assert callback.model is model and model.stop_training is True
    assert [entry[0] for entry in callback.seen[1:-1]] == [0, 1, 2]
    assert callback.seen[0] == "begin" and callback.seen[-1] == "end"
    assert [entry[1] for entry in callback.seen[1:-1]] == history["loss"]
    assert all(type(value) is float for entry in callback.seen[1:-1] for value in entry[1:])
    assert len(history["loss"]) == 3


def test_fit_prints_epochs_from_one_while_callbacks_count_from_zero(capsys):
    seen = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    X, y = small_data()
    small_classifier().fit(X, y, epochs=4, initial_epoch=2, rng=0, verbose=1, callbacks=[Record()])
    printed = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["3/4", "4/4"] and seen == [2, 3]          # as in Keras


def test_returning_true_from_on_epoch_end_no_longer_stops_training():
    class ReturnsTrue(Callback):
        def on_epoch_end(self, epoch, logs=None):
            return True

    X, y = small_data()
    assert len(small_classifier().fit(X, y, epochs=3, verbose=0, callbacks=[ReturnsTrue()])["loss"]) == 3


def test_on_train_end_runs_when_fit_diverges_and_can_restore_the_weights():
    """A callback that keeps the starting weights puts them back after a FloatingPointError."""
    calls = []

    class RestoreOnEnd(Callback):
        def on_train_begin(self, logs=None):
            self.saved = self.model.get_weights()

        def on_train_end(self, logs=None):
            calls.append("end")
            self.model.set_weights(self.saved)

    X, y = small_data()
    model = small_classifier(optimizer=SGD(learning_rate=1e30))
    start = model.get_weights()
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1"):
        model.fit(X, y, epochs=3, batch_size=16, rng=0, verbose=0, callbacks=[RestoreOnEnd()])
    assert calls == ["end"]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start))


def test_get_and_set_weights():
    model, other = small_classifier(seed=0), small_classifier(seed=5)
    X, _ = small_data()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 16), (1, 16), (16, 3), (1, 3)]
    weights[0][...] = 0                                  # copies: the model is unchanged
    assert not np.array_equal(model.layers[0].weights, weights[0])
    other.set_weights(model.get_weights())
    assert np.array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="4 arrays"):
        other.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"2.weights must be numbers of shape \(16, 3\), got float64 of shape \(3, 16\)"):
        other.set_weights([weights[0], weights[1], np.zeros((3, 16)), weights[3]])


@pytest.mark.parametrize("bad, message", [
    (np.inf, r"2.weights must be finite, got inf at row 5, column 1"),
    (np.nan, r"2.weights must be finite, got nan at row 5, column 1"),
    (1e300, r"2.weights overflows float32: 1e\+300 at row 5, column 1"),        # finite in float64 only
])
def test_set_weights_refuses_non_finite_values_and_changes_nothing(recwarn, bad, message):
    model = small_classifier()
    before = model.get_weights()
    weights = model.get_weights()
    weights[2] = weights[2].astype(np.float64)
    weights[2][5, 1] = bad
    with pytest.raises(ValueError, match=message):
        model.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not recwarn.list


def test_set_weights_changes_nothing_when_a_later_array_is_wrong():
    model = small_classifier()
    before = model.get_weights()
    new = [np.ones_like(w) for w in before]
    new[3] = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"2.biases must be numbers of shape \(1, 3\)"):
        model.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# -- backward --------------------------------------------------------------------------------

def float64_model(last=Softmax, loss=CategoricalCrossEntropy):
    layers = [Dense(5, 7, rng=0, dtype=np.float64), Tanh(), Dense(7, 4, rng=1, dtype=np.float64), last()]
    return Model(layers, loss=loss())


def test_fused_backward_equals_the_unfused_chain():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((9, 5))
    y = rng.integers(0, 4, 9)
    model = float64_model()
    output = model.forward(X)
    dX = model.backward(output, y, need_dinputs=True)
    gradients = [(0, "dweights"), (0, "dbiases"), (2, "dweights"), (2, "dbiases"), (3, "dinputs")]
    fused = {(i, name): getattr(model.layers[i], name).copy() for i, name in gradients}

    dvalues = model.layers[3].backward(model.loss.backward(output, y))   # Softmax.backward(CCE.backward)
    for layer in reversed(model.layers[:3]):
        dvalues = layer.backward(dvalues)
    np.testing.assert_allclose(dvalues, dX, rtol=1e-10, atol=1e-15)
    for i, name in gradients:
        np.testing.assert_allclose(getattr(model.layers[i], name), fused[i, name], rtol=1e-10, atol=1e-15)


def test_backward_matches_torch_autograd(torch):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 5))
    y = rng.integers(0, 4, 9)
    model = float64_model()
    dX = model.backward(model.forward(X), y, need_dinputs=True)

    W1, b1, W2, b2 = (torch.tensor(p, requires_grad=True) for p in model.get_weights())
    Xt = torch.tensor(X, requires_grad=True)
    logits = torch.tanh(Xt @ W1 + b1) @ W2 + b2
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    for ours, theirs in [(dX, Xt), (model.layers[0].dweights, W1), (model.layers[0].dbiases, b1),
                         (model.layers[2].dweights, W2), (model.layers[2].dbiases, b2)]:
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_backward_without_a_fused_pair_uses_the_loss_gradient():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 5))
    y = (rng.random((6, 4)) > 0.5).astype(np.float64)
    model = float64_model(last=Sigmoid, loss=MeanSquaredError)
    output = model.forward(X)
    model.backward(output, y)
    expected = model.layers[3].backward(model.loss.backward(output, y))
    np.testing.assert_array_equal(model.layers[2].dinputs, model.layers[2].backward(expected))


def test_sigmoid_with_binary_cross_entropy_takes_the_fused_path(torch):
    """A confident float32 mistake: the chain through the clipped loss would shrink the gradient
    a million times; the fused path gives torch's BCE-with-logits gradient, (p - y) / (N k)."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    dense = Dense(2, 2, rng=0)
    dense.weights[:] = [[-30.0, 30.0], [0.0, -30.0]]    # scores far on the wrong side for most answers
    dense.biases[:] = 0.0
    model = Model([dense, Sigmoid()], loss=BinaryCrossEntropy())
    model.backward(model.forward(X), y)

    Wt = torch.tensor(dense.weights, requires_grad=True)
    bt = torch.tensor(dense.biases, requires_grad=True)
    logits = torch.tensor(X) @ Wt + bt
    logits.retain_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(y)).backward()
    np.testing.assert_allclose(model.layers[1].dinputs, logits.grad.numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dense.dweights, Wt.grad.numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dense.dbiases, bt.grad.numpy(), rtol=1e-5, atol=1e-8)


# -- reproducibility -------------------------------------------------------------------------

def train(fit_seed, layer_seed=0):
    X, y = small_data()
    model = small_classifier(seed=layer_seed)
    model.fit(X, y, epochs=3, batch_size=8, rng=fit_seed, verbose=0)
    return model.get_weights()


def test_same_seed_gives_bit_identical_weights():
    first, again, other = train(7), train(7), train(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_does_not_depend_on_the_batch_size(dtype):
    X, _ = clusters(300, seed=3)
    model = seed_readme_model(dtype)
    whole = model.predict(X, batch_size=300)
    # not bit-exact, even in float64: BLAS sums in a different order for different row counts
    for batch_size in (1, 7, 64):
        np.testing.assert_allclose(model.predict(X, batch_size=batch_size), whole,
                                   rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("X, message", [
    (np.zeros((10, 3)), r"X does not fit layer 0 \(Dense\), tried on one row: inputs must have 4 features"),
    (np.zeros((10, 4, 1)), r"X does not fit layer 0 \(Dense\), tried on one row: inputs must have 4 "
                           r"features on the last axis, got shape \(1, 4, 1\)"),
    (np.zeros((0, 4)), r"X is an empty batch"),
    ([[0.0, np.nan, 0.0, 0.0]] * 10, r"X must be finite, got nan at row 0, column 1"),
    ([[0.0, 0.0, 0.0, np.inf]] * 10, r"X must be finite, got inf at row 0, column 3"),
])
def test_bad_X_is_refused_by_fit_evaluate_and_predict(X, message):
    model = small_classifier()
    y = np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(X, y)
    with pytest.raises(ValueError, match=message):
        model.predict(X)


@pytest.mark.parametrize("y, error, message", [
    (np.zeros(9, dtype=int), ValueError, r"y must have one row per row of X \(10\), got shape \(9,\)"),
    (np.full(10, 3), ValueError, r"y must hold class indices in \[0, 2\], got values from 3 to 3"),
    (np.full(10, -1), ValueError, r"class indices in \[0, 2\]"),
    (np.zeros(10), TypeError, r"y must hold integer class labels, got dtype float64"),
    (np.zeros((10, 1), dtype=int), ValueError, r"y has shape \(10, 1\)"),
])
def test_bad_labels_are_refused_before_training(y, error, message):
    X, _ = small_data(10)
    model = small_classifier()
    before = model.get_weights()
    with pytest.raises(error, match=message):
        model.fit(X, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(error, match=message):
        model.evaluate(X, y)


def test_bad_validation_data_is_refused_before_training():
    X, y = small_data(10)
    model = small_classifier()
    with pytest.raises(ValueError, match=r"validation X does not fit layer 0 \(Dense\), tried on one row: inputs must have 4 features"):
        model.fit(X, y, validation_data=(X[:, :2], y), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(X_val, y_val\), "
                                         r"got an array of shape \(10, 4\)"):
        model.fit(X, y, validation_data=X, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a pair .*got a tuple of 3 items"):
        model.fit(X, y, validation_data=(X, y, y), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a pair .*got dict"):
        model.fit(X, y, validation_data={"X": X, "y": y}, verbose=0)
    assert model.history == {}


def test_regression_targets_must_match_the_output():
    model = Model([Dense(3, 2, rng=0)], loss=MeanSquaredError(), optimizer=SGD(0.1))
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"y must have 2 features per row, got shape \(5, 1\)"):
        model.fit(X, np.zeros((5, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"y must be finite"):
        model.fit(X, np.full((5, 2), np.nan), verbose=0)


@pytest.mark.parametrize("loss", [MeanSquaredError, BinaryCrossEntropy])
def test_one_dimensional_targets_for_one_output_get_a_reshape_hint(loss):
    model = Model([Dense(3, 1, rng=0), Sigmoid()], loss=loss(), optimizer=SGD(0.1))
    X, y = np.zeros((5, 3)), np.zeros(5)
    for call in (lambda: model.fit(X, y, verbose=0), lambda: model.evaluate(X, y)):
        with pytest.raises(ValueError, match=r"y must have the shape \(N, 1\) of the outputs, got shape \(5,\) "
                                             r"\(reshape [^()]*\.reshape\(-1, 1\)\)$") as raised:
            call()
        assert "reshape(1, -1)" not in str(raised.value)                   # one hint, the right one
    with pytest.raises(ValueError, match=r"validation y must have the shape .*\(reshape [^()]*\.reshape\(-1, 1\)\)$"):
        model.fit(X, y.reshape(-1, 1), validation_data=(X, y), verbose=0)
    model.fit(X, y.reshape(-1, 1), verbose=0)                          # the hint works


def test_one_example_as_a_1d_row_gets_a_reshape_hint():
    model = small_classifier()
    row = small_data(1)[0][0]                                          # shape (4,)
    with pytest.raises(ValueError, match=r"X must have the shape \(batch, ...\), the examples along axis 0, "
                                         r"got shape \(4,\) \(X.reshape\(1, -1\) for one example\)"):
        model.predict(row)
    assert model.predict(row.reshape(1, -1)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"does not fit layer 0 \(Dense\).*4 features"):   # reshaped, still too narrow
        model.predict(np.zeros(3).reshape(1, -1))


def test_fit_needs_a_loss_an_optimizer_layers_and_sane_counts():
    X, y = small_data(10)
    with pytest.raises(RuntimeError, match=r"model.loss is not set"):
        Model([Dense(4, 3)], optimizer=SGD()).fit(X, y, verbose=0)
    with pytest.raises(RuntimeError, match=r"model.optimizer is not set"):
        Model([Dense(4, 3), Softmax()], loss=CategoricalCrossEntropy()).fit(X, y, verbose=0)
    with pytest.raises(TypeError, match=r"model.optimizer must be a dlfs Optimizer, got str"):
        Model([Dense(4, 3), Softmax()], loss=CategoricalCrossEntropy(), optimizer="adam").fit(X, y, verbose=0)
    with pytest.raises(RuntimeError, match=r"the model has no layers"):
        Model(loss=CategoricalCrossEntropy(), optimizer=SGD()).fit(X, y, verbose=0)
    for name, value in [("epochs", 0), ("batch_size", 2.5), ("epochs", True)]:
        with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
            small_classifier().fit(X, y, verbose=0, **{name: value})
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback objects, got an item of type "
                                        r"builtin_function_or_method"):
        small_classifier().fit(X, y, verbose=0, callbacks=[print])
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback objects, got int"):
        small_classifier().fit(X, y, verbose=0, callbacks=3)


def test_a_single_callback_needs_no_list():
    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            Count.epochs += 1

    X, y = small_data()
    small_classifier().fit(X, y, epochs=2, verbose=0, callbacks=Count())
    assert Count.epochs == 2


@pytest.mark.parametrize("callbacks", [EarlyStopping, [EarlyStopping], (Callback,)],
                         ids=["the class", "[the class]", "(Callback,)"])
def test_a_callback_class_instead_of_an_instance_is_named(callbacks):
    """Not a bare "missing 1 required positional argument: 'self'" from inside fit, and before
    any training."""
    X, y = small_data()
    model = small_classifier()
    before = model.get_weights()
    name = "EarlyStopping" if callbacks is EarlyStopping or callbacks == [EarlyStopping] else "Callback"
    with pytest.raises(TypeError, match=rf"callbacks must be a list of Callback objects, got the class {name}: "
                                        rf"create one, {name}\(\.\.\.\)"):
        model.fit(X, y, epochs=2, verbose=0, callbacks=callbacks)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(X, y, epochs=2, verbose=0, validation_data=(X, y), callbacks=EarlyStopping(patience=1))  # the fix works


@pytest.mark.parametrize("rng", [-1, 2.5, "0"])
def test_a_bad_fit_rng_is_named(rng):
    X, y = small_data()
    with pytest.raises(ValueError, match=r"rng must be None, a seed \(an integer >= 0\) or a numpy Generator, "
                                         rf"got {re.escape(repr(rng))}"):
        small_classifier().fit(X, y, verbose=0, rng=rng)


def test_add_refuses_what_is_not_a_layer():
    with pytest.raises(TypeError, match=r"layer must be a dlfs Layer .*got str"):
        Model().add("Dense")
    with pytest.raises(TypeError, match=r"got an array of shape \(2, 2\)"):
        Model([np.zeros((2, 2))])
    with pytest.raises(TypeError, match=r"layer must be a dlfs Layer .*got the class ReLU: create one, ReLU\(\.\.\.\)"):
        Model([Dense(4, 3), ReLU])                                   # the class, not a layer
    assert len(Model().add(Dense(4, 3)).add(ReLU()).layers) == 2      # add returns the model


def test_add_refuses_a_layer_object_that_is_already_in_the_model():
    dense = Dense(4, 4, rng=0)
    model = Model([dense, ReLU()])
    message = r"this layer object is already in the model.*; shared layers are not supported: create a new layer"
    with pytest.raises(ValueError, match=message):
        model.add(dense)
    assert len(model.layers) == 2
    with pytest.raises(ValueError, match=message):
        Model([dense, ReLU(), dense])
    relu = ReLU()
    with pytest.raises(ValueError, match=message):
        Model([Dense(4, 4), relu, Dense(4, 4), relu])
    Model([Dense(4, 4), ReLU(), Dense(4, 4), ReLU()])             # equal but distinct layers are fine


def test_divergence_names_epoch_and_batch_and_suggests_a_smaller_learning_rate():
    X, y = small_data()
    model = small_classifier(optimizer=SGD(learning_rate=1e30))
    with pytest.raises(FloatingPointError,
                       match=r"diverged at epoch 1, batch 2: .*inf or nan.*smaller learning rate \(now 1e\+30\)"):
        model.fit(X, y, epochs=3, batch_size=16, rng=0, verbose=0)


def test_a_non_finite_loss_stops_fit_with_epoch_and_batch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32) * 1e3
    model = Model([Dense(3, 1, rng=0)], loss=MeanSquaredError(), optimizer=SGD(learning_rate=10.0))
    with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+, batch \d+: .*smaller learning rate"):
        model.fit(X, X[:, :1] * 2, epochs=5, batch_size=8, rng=0, verbose=0)


def test_divergence_in_the_very_last_update_is_reported():
    """One batch, one epoch: the only update throws the weights to inf; fit must not return them."""
    X, y = small_data()
    model = small_classifier(optimizer=SGD(learning_rate=1e39))
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1, batch 1: layer \d \(Dense\) has inf or nan"):
        model.fit(X, y, epochs=1, batch_size=60, verbose=0)


def test_divergence_seen_by_the_validation_pass_is_one_floating_point_error(recwarn):
    """Huge but finite weights: the training step passes, the validation forward pass overflows."""
    X, y = small_data()
    model = small_classifier(optimizer=SGD(learning_rate=1e25))
    with pytest.raises(FloatingPointError,
                       match=r"diverged at epoch 1 \(validation pass\): .*inf or nan.*smaller learning rate"):
        model.fit(X, y, epochs=1, batch_size=60, validation_data=(X, y), verbose=0)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_multi_label_binary_cross_entropy_trains_and_scores_every_answer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4)).astype(np.float32)
    y = (X[:, :3] > 0).astype(np.float32)                  # three independent yes/no answers (N, 3)
    model = Model([Dense(4, 8, rng=0), ReLU(), Dense(8, 3, rng=1), Sigmoid()],
                  loss=BinaryCrossEntropy(), optimizer=Adam(0.05))
    history = model.fit(X, y, epochs=30, batch_size=16, validation_data=(X, y), rng=0, verbose=0)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    probs = model.predict(X)
    right = sum((probs[i, j] > 0.5) == (y[i, j] == 1) for i in range(80) for j in range(3))
    assert model.evaluate(X, y)["accuracy"] == history["val_accuracy"][-1] == right / 240
    assert right / 240 > 0.9


def test_missing_loss_or_optimizer_error_names_the_method_that_needs_it():
    X, y = small_data(10)
    with pytest.raises(RuntimeError, match=r"model.loss is not set: assign a dlfs Loss before calling (fit or )?evaluate$"):
        Model([Dense(4, 3), Softmax()]).evaluate(X, y)
    with pytest.raises(RuntimeError, match=r"model.optimizer is not set: assign a dlfs Optimizer before calling fit$"):
        Model([Dense(4, 3), Softmax()], loss=CategoricalCrossEntropy()).fit(X, y, verbose=0)
    scores = Model([Dense(4, 3), Softmax()], loss=CategoricalCrossEntropy()).evaluate(X, y)   # no optimizer needed
    assert set(scores) == {"loss", "accuracy"}


def test_backward_without_a_loss_names_the_method():
    X, y = small_data(10)
    with pytest.raises(RuntimeError, match=r"model.loss is not set: assign a dlfs Loss before calling backward$"):
        Model([Dense(4, 3), Softmax()]).backward(np.full((10, 3), 1 / 3), y)


def test_summary_counts_every_learned_value():
    model = Model([Dense(784, 128, rng=1), ReLU(), Dense(128, 64, rng=2), ReLU(), Dense(64, 10, rng=3), Softmax()])
    lines = model.summary().splitlines()
    assert len(lines) == len(model.layers) + 1
    counts = [int(line.split()[-1].replace(",", "")) for line in lines]
    assert counts[:-1] == [784 * 128 + 128, 0, 128 * 64 + 64, 0, 64 * 10 + 10, 0]
    assert counts[-1] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert lines[0].split()[:5] == ["0", "Dense", "weights", "(784,", "128),"]
    assert all(len(line) <= 79 for line in lines)


# --- the habits of PyTorch and Keras users, and one contract between Model, layers and losses ---

def test_layers_models_and_losses_are_callable():
    model = seed_readme_model(np.float64)
    X, y = clusters(5, seed=3)
    np.testing.assert_array_equal(model(X), model.forward(X))
    dense = model.layers[0]
    np.testing.assert_array_equal(dense(X), dense.forward(X))
    loss = CategoricalCrossEntropy()
    assert loss(model(X), y) == loss.calculate(model(X), y)


def test_a_callback_can_stop_training_the_keras_way():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:                                   # the second epoch: Keras counts from 0
                self.model.stop_training = True

    model = seed_readme_model()
    model.loss, model.optimizer = CategoricalCrossEntropy(), SGD(learning_rate=0.1)
    X, y = clusters(64, seed=0)
    history = model.fit(X, y, epochs=5, verbose=0, callbacks=[StopAfterTwo()])
    assert len(history["loss"]) == 2
    assert len(model.fit(X, y, epochs=3, verbose=0)["loss"]) == 3      # the next fit starts afresh


def test_summary_prints_the_text_it_returns(capsys):
    text = seed_readme_model().summary()
    assert capsys.readouterr().out == text + "\n"


def test_a_single_layer_instead_of_a_list_is_pythons_own_type_error():
    """Model(layers) iterates over its argument, as any Python function taking a list would."""
    with pytest.raises(TypeError, match=r"'Dense' object is not iterable"):
        Model(Dense(4, 3))
    assert len(Model([Dense(4, 3)]).layers) == 1 and len(Model((Dense(4, 3), ReLU())).layers) == 2


def test_widths_that_do_not_chain_are_refused_when_the_model_is_built():
    """Dense after Dense (looking through activations, dropout and normalisation): reported by
    add, naming both layers and widths, before any data is seen."""
    from dlfs import BatchNorm, Dropout
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\) takes 8 inputs, but layer 0 \(Dense\) gives 16"):
        Model([Dense(4, 16), ReLU(), Dense(8, 3), Softmax()])
    model = Model([Dense(4, 16), ReLU(), Dropout(0.5), BatchNorm(16)])
    with pytest.raises(ValueError, match=r"layer 4 \(Dense\) takes 15 inputs, but layer 0 \(Dense\) gives 16"):
        model.add(Dense(15, 3))
    assert len(model.layers) == 4                                     # refused: not appended
    model.add(Dense(16, 3))
    with pytest.raises(ValueError, match=r"takes 4 inputs, but layer 0 \(Dense\) gives 3"):
        Model().add(Dense(2, 3)).add(Dense(4, 1))


def test_a_flatten_or_an_unknown_layer_defers_the_width_check_to_the_first_batch():
    """After a Flatten the width depends on the images: the first batch (fit, evaluate, predict
    each try one row first) reports it, naming the layer."""
    from dlfs import Conv2D, Flatten, Layer

    class Identity(Layer):                             # a user's layer: its width is unknown
        def forward(self, inputs, training=False):
            return inputs

    model = Model([Conv2D(1, 2, 3, rng=0), ReLU(), Flatten(), Dense(10, 3, rng=0), Softmax()],
                  CategoricalCrossEntropy(), SGD(0.1))                   # built: no error yet
    images = np.zeros((4, 1, 5, 5), dtype=np.float32)                  # 2 x 3 x 3 = 18 values per image
    with pytest.raises(ValueError, match=r"layer 2's output does not fit layer 3 \(Dense\), tried on one row: "
                                         r"inputs must have 10 features per row, got shape \(1, 18\)"):
        model.fit(images, np.zeros(4, dtype=int), verbose=0)
    Model([Dense(4, 16), Identity(), Dense(8, 3)])                     # built: deferred too
    with pytest.raises(ValueError, match=r"layer 1's output does not fit layer 2 \(Dense\)"):
        Model([Dense(4, 16), Identity(), Dense(8, 3)]).predict(np.zeros((2, 4)))


def test_the_model_tells_its_first_layer_that_no_input_gradient_is_needed():
    model = seed_readme_model(np.float64)
    model.loss, model.optimizer = CategoricalCrossEntropy(), SGD(learning_rate=0.1)
    X, y = clusters(32, seed=1)
    model.fit(X, y, epochs=1, verbose=0)
    first = model.layers[0]
    assert first.dinputs is None and first.needs_input_gradient      # skipped in training, then reset
    assert model.backward(model.forward(X), y) is None                # not asked for: skipped
    dinputs = model.backward(model.forward(X), y, need_dinputs=True)
    assert dinputs.shape == X.shape


def test_model_knows_no_loss_or_layer_class():
    """Loss-specific behaviour lives on the loss: model.py names no loss and no layer type."""
    import ast

    import dlfs
    import dlfs.model

    tree = ast.parse(open(dlfs.model.__file__, encoding="utf-8").read())
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    classes = {name for name in dlfs.__all__ if isinstance(getattr(dlfs, name), type)}
    assert used & classes <= {"Model", "Callback", "Layer", "Loss", "Optimizer"}


def test_a_new_loss_with_its_own_metric_and_shortcut_needs_no_change_to_model():
    class SoftmaxHinge(CategoricalCrossEntropy):
        """Cross-entropy that reports the error rate instead of the accuracy."""
        metric_name = "error_rate"

        def metric(self, y_pred, y_true, check_input=True):
            return 1 - super().metric(y_pred, y_true, check_input)

    model = seed_readme_model()
    model.loss, model.optimizer = SoftmaxHinge(), SGD(learning_rate=0.1)
    X, y = clusters(64, seed=2)
    history = model.fit(X, y, epochs=2, verbose=0, validation_data=(X, y))
    assert set(history) == {"loss", "error_rate", "val_loss", "val_error_rate"}
    assert model.evaluate(X, y)["error_rate"] == pytest.approx(1 - CategoricalCrossEntropy().metric(model.predict(X), y))


def test_a_first_layer_told_by_the_user_to_skip_its_input_gradient_stays_told():
    model = seed_readme_model(np.float64)
    model.loss, model.optimizer = CategoricalCrossEntropy(), SGD(learning_rate=0.1)
    model.layers[0].needs_input_gradient = False
    X, y = clusters(16, seed=4)
    model.fit(X, y, epochs=1, verbose=0)
    assert model.layers[0].needs_input_gradient is False
    assert model.backward(model.forward(X), y, need_dinputs=True) is None


# --- issue 25: what users expect -------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: (small_classifier(), *small_data()),
    lambda: (Model([Dense(4, 2, rng=0), Sigmoid()], BinaryCrossEntropy()),
             small_data()[0], (small_data()[0][:, :2] > 0).astype(np.float32)),
    lambda: (Model([Dense(4, 1, rng=0, dtype=np.float64)], MeanSquaredError()),
             small_data()[0], small_data()[0][:, :1] * 2),
], ids=["categorical", "binary", "regression"])
def test_evaluate_returns_plain_python_floats(make):
    """Not np.float64 nor np.float32: the accuracy too (it was np.float64), so that the scores
    print, compare and serialise as the loss does."""
    model, X, y = make()
    scores = model.evaluate(X, y)
    assert scores and all(type(value) is float for value in scores.values()), {k: type(v) for k, v in scores.items()}
    model.optimizer = SGD(0.01)
    history = model.fit(X, y, epochs=2, validation_data=(X, y), rng=0, verbose=0)
    assert all(type(value) is float for values in history.values() for value in values), history


def test_evaluate_gives_floats_even_for_a_metric_that_returns_a_numpy_number():
    class NumpyMetric(CategoricalCrossEntropy):
        def metric(self, y_pred, y_true, check_input=True):
            return np.float32(super().metric(y_pred, y_true, check_input))

    model = small_classifier()
    model.loss = NumpyMetric()
    scores = model.evaluate(*small_data())
    assert type(scores["accuracy"]) is float and type(scores["loss"]) is float


def test_finite_inputs_that_overflow_the_first_layer_are_not_blamed_on_the_learning_rate(recwarn):
    """X is finite float32, but X @ W is not: that happens before any update, so the message says
    so and suggests scaling the inputs, not a smaller learning rate."""
    X = np.full((8, 4), 2e38, dtype=np.float32)                      # finite; 4 x 2e38 is not
    dense = Dense(4, 3, rng=0)
    dense.weights[...] = 1.0
    model = Model([dense, Softmax()], CategoricalCrossEntropy(), SGD(learning_rate=0.1))
    before = model.get_weights()
    with pytest.raises(FloatingPointError) as raised:
        model.fit(X, np.zeros(8, dtype=int), verbose=0)
    message = str(raised.value)
    assert re.search(r"training failed at epoch 1, batch 1, before any update: layer 0 \(Dense\) has inf or nan "
                     r"in its output; the inputs or starting weights are too large for float32 \(scale the inputs\)",
                     message), message
    assert "learning rate" not in message
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_after_an_update_the_learning_rate_is_still_named():
    X, y = small_data()
    model = small_classifier(optimizer=SGD(learning_rate=1e30))
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1, batch 2: .*smaller learning rate") as raised:
        model.fit(X, y, epochs=1, batch_size=16, rng=0, verbose=0)
    assert "before any update" not in str(raised.value)


def test_fit_keeps_the_optimizer_and_its_state():
    """No rebuild per fit: the same object, its settings as assigned, its state carried over."""
    X, y = small_data()
    optimizer = Adam(0.01)
    model = small_classifier(optimizer=optimizer)
    model.fit(X, y, epochs=1, batch_size=60, rng=0, verbose=0)
    assert model.optimizer is optimizer and optimizer.state[model.layers[0]]["step"] == 1
    optimizer.learning_rate = 0.001                               # a later change is kept
    model.fit(X, y, epochs=1, batch_size=60, rng=0, verbose=0)
    assert model.optimizer is optimizer and optimizer.learning_rate == 0.001
    assert optimizer.state[model.layers[0]]["step"] == 2


def count_value_checks(monkeypatch) -> dict[str, int]:
    """Count the checks that pass over values (finiteness, labels, probabilities, checked loss
    calls), wherever dlfs imported them; the cheap shape checks of the layers are not counted."""
    import sys

    import dlfs.validation
    counts = {}

    def counting(name, function, counted=lambda *args, **kwargs: True):
        def wrapper(*args, **kwargs):
            if counted(*args, **kwargs):
                counts[name] = counts.get(name, 0) + 1
            return function(*args, **kwargs)
        return wrapper

    for name in ("check_finite", "class_indices", "check_probabilities", "check_same_shape", "check_batch"):
        original = getattr(dlfs.validation, name)
        counted = (lambda *a, finite=False, **k: finite) if name == "check_batch" else (lambda *a, **k: True)
        wrapper = counting(name, original, counted)
        for module in [m for key, m in sys.modules.items() if key == "dlfs" or key.startswith("dlfs.")]:
            if getattr(module, name, None) is original:
                monkeypatch.setattr(module, name, wrapper)
    return counts


@pytest.mark.parametrize("make_model, make_y", [
    (small_classifier, lambda y: y),
    (small_classifier, lambda y: one_hot(y, 3)),
    (lambda: Model([Dense(4, 3, rng=0), Sigmoid()], BinaryCrossEntropy(), SGD(0.1)),
     lambda y: one_hot(y, 3).astype(np.float32)),
    (lambda: Model([Dense(4, 3, rng=0)], MeanSquaredError(), SGD(0.01)), lambda y: one_hot(y, 3) * 1.0),
], ids=["labels", "one-hot", "binary", "regression"])
def test_fit_checks_the_data_once_not_once_per_batch(monkeypatch, make_model, make_y):
    """Validate once, at the boundary: the value checks that fit runs do not grow with the number
    of batches or epochs (inside the loop the losses run with check_input=False)."""
    X, labels = small_data(64)
    y = make_y(labels)
    counts = count_value_checks(monkeypatch)
    runs = {}
    for epochs, batch_size in ((1, 64), (3, 4)):          # 1 batch, then 48
        counts.clear()
        make_model().fit(X, y, epochs=epochs, batch_size=batch_size, validation_data=(X, y), rng=0, verbose=0)
        runs[epochs, batch_size] = dict(counts)
    assert runs[1, 64] == runs[3, 4], runs
    assert sum(runs[1, 64].values()) <= 12, runs
