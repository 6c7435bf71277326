"""dlfs.regularization: Dropout, l2_penalty and EarlyStopping.

Expected values come from the definitions (a mask of zeros and 1 / (1 - rate), half lambda times a
hand-written sum of squares, a hand-traced patience counter), not from the code's own output.
"""

import json
import math

import numpy as np
import pytest

from dlfs import (SGD, Adam, CategoricalCrossEntropy, Dense, Layer, Model, ReLU, Softmax, numerical_gradient,
                  relative_error)
from dlfs.model import Callback
from dlfs.regularization import Dropout, EarlyStopping, l2_penalty
from dlfs.saving import load, save


def positive_data(shape, seed=0, dtype=np.float64) -> np.ndarray:
    """Values in [0.5, 2): never zero, so a zero in the output means a dropped unit."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=shape).astype(dtype)


def blobs(n_per_class=30, n_classes=3, seed=0):
    """Separable clusters in 4-D: (N, 4) float32 inputs and (N,) labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(n_classes, 4))
    X = np.concatenate([centre + rng.standard_normal((n_per_class, 4)) for centre in centres])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X.astype(np.float32), y


def classifier(dropout=0.0, width=16, dtype=np.float32, seed=0, optimizer=None) -> Model:
    layers = [Dense(4, width, init="he", rng=seed, dtype=dtype), ReLU()]
    if dropout:
        layers.append(Dropout(dropout, rng=seed))
    layers += [Dense(width, 3, rng=seed + 1, dtype=dtype), Softmax()]
    return Model(layers, CategoricalCrossEntropy(), optimizer or Adam(0.01))


# Dropout -----------------------------------------------------------------------------------------

def test_dropout_is_a_layer_known_by_its_full_name():
    assert issubclass(Dropout, Layer)
    assert f"{Dropout.__module__}.{Dropout.__qualname__}" == "dlfs.regularization.Dropout"


def test_evaluation_mode_is_the_identity_forward_and_backward():
    x = positive_data((50, 20))
    layer = Dropout(0.5, rng=0)
    for out in (layer.forward(x), layer.forward(x, training=False)):
        assert np.array_equal(out, x)
    dvalues = positive_data((50, 20), seed=1)
    assert np.array_equal(layer.backward(dvalues), dvalues)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_training_mode_zeroes_about_rate_of_the_units(rate):
    n = 200_000
    out = Dropout(rate, rng=1).forward(positive_data((400, 500)), training=True)
    zeros = np.count_nonzero(out == 0)
    sigma = math.sqrt(n * rate * (1 - rate))       # binomial standard deviation
    assert abs(zeros - n * rate) < 6 * sigma


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rate", [0.2, 0.5, 0.75])
def test_survivors_are_scaled_by_exactly_one_over_keep_probability(rate, dtype):
    x = positive_data((64, 32), seed=2, dtype=dtype)
    out = Dropout(rate, rng=3).forward(x, training=True)
    assert out.dtype == dtype
    kept = out != 0
    assert 0 < kept.sum() < kept.size
    scale = dtype(1 / (1 - rate))
    assert np.array_equal(out[kept], x[kept] * scale)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_the_mean_activation_is_preserved_approximately(rate):
    x = np.ones((500, 400))
    out = Dropout(rate, rng=4).forward(x, training=True)
    # out.mean() = (kept fraction) / (1 - rate); the kept fraction has std sqrt(rate (1 - rate) / n).
    tolerance = 6 * math.sqrt(rate * (1 - rate) / x.size) / (1 - rate)
    assert abs(out.mean() - 1.0) < tolerance


def test_backward_multiplies_by_the_forward_mask():
    rate = 0.4
    layer = Dropout(rate, rng=5)
    out = layer.forward(positive_data((30, 10), seed=6), training=True)
    dvalues = np.random.default_rng(7).standard_normal((30, 10))
    dinputs = layer.backward(dvalues)
    mask_from_output = (out != 0) / (1 - rate)        # rebuilt from the output, not read from the layer
    assert np.array_equal(dinputs, dvalues * mask_from_output)
    assert np.array_equal(dinputs, dvalues * layer.mask)
    assert np.array_equal(layer.dinputs, dinputs)


def test_backward_matches_finite_differences_with_the_mask_held_fixed():
    x = np.random.default_rng(8).standard_normal((6, 5))
    upstream = np.random.default_rng(9).standard_normal((6, 5))
    layer = Dropout(0.5)

    def loss():
        layer.rng = np.random.default_rng(10)            # the same mask on every call
        return float(np.sum(layer.forward(x, training=True) * upstream))

    loss()
    analytic = layer.backward(upstream)
    assert relative_error(analytic, numerical_gradient(loss, x)) < 1e-8


def test_same_seed_gives_the_same_mask_and_another_seed_another():
    x = np.ones((40, 40))
    first = Dropout(0.5, rng=11).forward(x, training=True)
    again = Dropout(0.5, rng=np.random.default_rng(11)).forward(x, training=True)
    other = Dropout(0.5, rng=12).forward(x, training=True)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_each_training_call_draws_a_new_mask():
    layer = Dropout(0.5, rng=13)
    x = np.ones((40, 40))
    assert not np.array_equal(layer.forward(x, training=True), layer.forward(x, training=True))


def test_rate_zero_keeps_everything_in_training():
    x = positive_data((10, 10))
    assert np.array_equal(Dropout(0.0, rng=0).forward(x, training=True), x)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan")])
def test_rate_outside_zero_one_raises_naming_rate(rate):
    with pytest.raises(ValueError, match=r"rate must be a finite number >= 0 and < 1"):
        Dropout(rate)


@pytest.mark.parametrize("rate", ["0.5", True, None])
def test_a_rate_that_is_not_a_number_raises_naming_rate(rate):
    with pytest.raises(TypeError, match=r"rate must be a real number"):
        Dropout(rate)


def test_a_bad_seed_raises_naming_rng():
    with pytest.raises(ValueError, match=r"rng must be None, a seed"):
        Dropout(0.5, rng=-1)


def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        Dropout(0.5).backward(np.ones((2, 2)))


def test_backward_with_the_wrong_shape_raises():
    layer = Dropout(0.5, rng=0)
    layer.forward(np.ones((3, 4)), training=True)
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.ones((4, 3)))


def test_config_rebuilds_the_layer_and_state_carries_its_generator_on():
    layer = Dropout(0.25, rng=0)
    config = layer.get_config()
    layer.forward(np.ones((3, 4)), training=True)          # the generator has moved on
    assert layer.get_config() == config == {"rate": 0.25}  # the config does not change in training
    rebuilt = Dropout(**json.loads(json.dumps(config)))    # as a saved model stores it
    state = layer.state()
    assert list(state) == ["rng"] and state["rng"].dtype == np.uint64 and state["rng"].shape == (6,)
    rebuilt.set_state(state)
    x = np.ones((5, 6))
    assert np.array_equal(rebuilt.forward(x, training=True), layer.forward(x, training=True))
    assert repr(layer) == "Dropout(rate=0.25)"


def test_only_a_pcg64_generator_state_can_be_saved():
    with pytest.raises(TypeError, match="PCG64"):
        Dropout(0.5, rng=np.random.Generator(np.random.MT19937(0))).state()


def test_a_model_with_dropout_predicts_deterministically_and_trains():
    X, y = blobs()
    model = classifier(dropout=0.5)
    assert np.array_equal(model.predict(X), model.predict(X))
    assert not np.array_equal(model.forward(X, training=True), model.forward(X, training=True))
    before = model.evaluate(X, y)["loss"]
    history = model.fit(X, y, epochs=30, batch_size=16, rng=0, verbose=0)
    after = model.evaluate(X, y)
    assert after["loss"] < 0.5 * before
    assert after["accuracy"] > 0.9
    assert len(history["loss"]) == 30
    assert np.array_equal(model.predict(X), model.predict(X))


def test_a_model_with_dropout_survives_save_and_load(tmp_path):
    X, _ = blobs()
    model = classifier(dropout=0.3)
    path = tmp_path / "dropout.npz"
    save(model, path)
    restored = load(path)
    dropouts = [layer for layer in restored.layers if isinstance(layer, Dropout)]
    assert len(dropouts) == 1 and dropouts[0].rate == 0.3
    assert np.array_equal(restored.predict(X), model.predict(X))


def test_training_a_loaded_model_with_dropout_repeats_the_original(tmp_path):
    X, y = blobs()
    model = classifier(dropout=0.3, optimizer=SGD(0.05))
    model.fit(X, y, epochs=2, batch_size=16, rng=0, verbose=0)
    path = tmp_path / "dropout.npz"
    save(model, path)
    runs = []
    for source in (lambda: load(path), lambda: load(path), lambda: model):
        trained = source()
        trained.optimizer = SGD(0.05)
        trained.fit(X, y, epochs=2, batch_size=16, rng=1, verbose=0)
        runs.append(trained.get_weights())
    for weights in runs[1:]:                   # loaded twice, and the original carried on
        assert all(np.array_equal(a, b) for a, b in zip(runs[0], weights))


# l2_penalty --------------------------------------------------------------------------------------

def float64_model(seed=0) -> Model:
    model = classifier(dtype=np.float64, seed=seed, width=5)
    for layer in model.layers:
        if isinstance(layer, Dense):        # non-zero biases, so that they count
            layer.biases[...] = np.random.default_rng(seed + 7).standard_normal(layer.biases.shape)
    return model


def test_l2_penalty_equals_an_independent_sum_of_squares():
    model = float64_model()
    lam = 0.3
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, Dense):
            total += sum(float(w) ** 2 for w in layer.weights.ravel())
            total += sum(float(b) ** 2 for b in layer.biases.ravel())
    assert l2_penalty(model, lam) == pytest.approx(lam / 2 * total, rel=1e-12)
    assert l2_penalty(model.layers, lam) == l2_penalty(model, lam)
    assert l2_penalty(model, 0.0) == 0.0
    assert l2_penalty([ReLU(), Softmax()], lam) == 0.0


def test_l2_penalty_sums_float32_weights_in_float64():
    layer = Dense(100, 100, rng=0)                       # float32
    expected = 0.5 * (np.sum(layer.weights.astype(np.float64) ** 2))
    assert isinstance(l2_penalty([layer], 1.0), float)
    assert l2_penalty([layer], 1.0) == pytest.approx(expected, rel=1e-12)


def test_l2_penalty_gradient_matches_finite_differences():
    model = float64_model(seed=1)
    lam = 0.2
    X, y = blobs(n_per_class=4)
    X = X.astype(np.float64)

    def total_loss():
        return model.loss.calculate(model.forward(X), y) + l2_penalty(model, lam)

    model.backward(model.forward(X), y)
    for layer in (model.layers[0], model.layers[2]):
        for name, param in layer.parameters().items():
            analytic = layer.gradients()[name] + lam * param
            assert relative_error(analytic, numerical_gradient(total_loss, param)) < 1e-6
            penalty_only = numerical_gradient(lambda: l2_penalty(model, lam), param)
            assert relative_error(lam * param, penalty_only) < 1e-8


def test_optimizer_weight_decay_uses_the_l2_penalty_gradient():
    # With plain SGD and learning rate 1 the step is exactly the gradient it used.
    lam = 0.05
    layer = Dense(3, 4, rng=2, dtype=np.float64)
    layer.biases[...] = 0.5
    layer.dweights = np.random.default_rng(3).standard_normal((3, 4))
    layer.dbiases = np.random.default_rng(4).standard_normal((1, 4))
    data_grads = {"weights": layer.dweights.copy(), "biases": layer.dbiases.copy()}
    before = {name: param.copy() for name, param in layer.parameters().items()}
    penalty_grads = {name: numerical_gradient(lambda: l2_penalty([layer], lam), param)
                     for name, param in layer.parameters().items()}
    SGD(1.0, weight_decay=lam).update_params(layer)
    for name, param in layer.parameters().items():
        used = before[name] - param
        assert np.allclose(used, data_grads[name] + penalty_grads[name], rtol=1e-7, atol=1e-9)


def test_l2_penalty_rejects_bad_arguments():
    with pytest.raises(ValueError, match="weight_decay"):
        l2_penalty([Dense(2, 2, rng=0)], -0.1)
    with pytest.raises(TypeError, match="layers_or_model"):
        l2_penalty([np.ones((2, 2))], 0.1)


# EarlyStopping -----------------------------------------------------------------------------------

def tiny_model() -> Model:
    return Model([Dense(2, 2, rng=0, dtype=np.float64), Softmax()], CategoricalCrossEntropy(), SGD(0.1))


def run_logs(stopper, model, values, key="val_loss"):
    """Feed ``values`` as one epoch each, as fit does (the epoch's index from 0, as in Keras),
    setting the weights to the epoch number as fit prints it (from 1) first.

    Returns, epoch by epoch, whether the callback asked to stop, up to the first True.
    """
    stopper.set_model(model)
    model.stop_training = False
    stopper.on_train_begin()
    answers = []
    for index, value in enumerate(values):
        model.set_weights([np.full_like(w, index + 1) for w in model.get_weights()])
        stopper.on_epoch_end(index, {"loss": 0.0, key: value})
        answers.append(model.stop_training)
        if answers[-1]:
            break
    return answers


def test_early_stopping_is_a_callback():
    assert isinstance(EarlyStopping(), Callback)


def test_the_hooks_take_keras_arguments():
    model, stopper = tiny_model(), EarlyStopping(monitor="loss", patience=1)
    stopper.set_model(model)
    assert stopper.model is model
    stopper.on_train_begin()                         # logs=None, as Keras calls it
    stopper.on_epoch_end(0, logs={"loss": 1.0})
    stopper.on_epoch_end(1, {"loss": 2.0})
    assert model.stop_training and stopper.stopped_epoch == 2 and stopper.best_epoch == 1
    stopper.on_train_end()
    with pytest.raises(ValueError, match=r"monitors 'loss', but the epoch's logs hold only \[\]"):
        stopper.on_epoch_end(2)                      # no logs at all


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best():
    model = tiny_model()
    stopper = EarlyStopping(patience=3)
    # best at epoch 3 (0.5); epochs 4, 5, 6 do not beat it -> stop at 6.
    answers = run_logs(stopper, model, [1.0, 0.7, 0.5, 0.6, 0.5, 0.9, 0.1, 0.1])
    assert answers == [False, False, False, False, False, True]
    assert (stopper.best_epoch, stopper.best, stopper.stopped_epoch) == (3, 0.5, 6)
    snapshot_at_best = [np.full_like(w, 3) for w in model.get_weights()]
    assert all(np.all(w == 6) for w in model.get_weights())
    stopper.on_train_end()
    for restored, expected in zip(model.get_weights(), snapshot_at_best):
        assert np.array_equal(restored, expected)


def test_an_improvement_resets_the_count():
    stopper = EarlyStopping(patience=2)
    answers = run_logs(stopper, tiny_model(), [1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.95, 0.7])
    assert answers == [False, False, False, False, False, False, True]
    assert (stopper.best_epoch, stopper.stopped_epoch) == (5, 7)


def test_improvements_smaller_than_min_delta_do_not_count():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    answers = run_logs(stopper, tiny_model(), [1.0, 0.95, 0.92, 0.5])
    assert answers == [False, False, True]
    assert (stopper.best_epoch, stopper.best) == (1, 1.0)


def test_never_stopping_leaves_stopped_epoch_none_and_still_restores_the_best():
    model = tiny_model()
    stopper = EarlyStopping(patience=5)
    run_logs(stopper, model, [1.0, 0.5, 0.6])
    assert stopper.stopped_epoch is None and stopper.best_epoch == 2
    stopper.on_train_end()
    assert all(np.all(w == 2) for w in model.get_weights())


def test_restore_best_weights_false_keeps_the_last_weights():
    model = tiny_model()
    stopper = EarlyStopping(patience=1, restore_best_weights=False)
    run_logs(stopper, model, [0.5, 0.9])
    stopper.on_train_end()
    assert all(np.all(w == 2) for w in model.get_weights())


def test_another_monitored_key_is_used():
    stopper = EarlyStopping(monitor="loss", patience=1)
    assert run_logs(stopper, tiny_model(), [0.5, 0.6], key="loss") == [False, True]


def test_accuracy_is_maximised_by_default_and_the_highest_epoch_restored():
    model = tiny_model()
    stopper = EarlyStopping(monitor="val_accuracy", patience=3)
    answers = run_logs(stopper, model, [0.50, 0.70, 0.90, 0.80, 0.85, 0.60, 0.95], key="val_accuracy")
    assert answers == [False, False, False, False, False, True]
    assert (stopper.best_epoch, stopper.best, stopper.stopped_epoch) == (3, 0.90, 6)
    stopper.on_train_end()
    assert all(np.all(w == 3) for w in model.get_weights())


@pytest.mark.parametrize("monitor, mode, values, best_epoch", [
    ("val_loss", "min", [1.0, 0.7, 0.5, 0.6], 3),
    ("val_loss", "auto", [1.0, 0.7, 0.5, 0.6], 3),
    ("accuracy", "auto", [0.2, 0.4, 0.3, 0.3], 2),
    ("val_accuracy", "min", [0.9, 0.5, 0.7, 0.8], 2),      # an explicit mode wins over the name
    ("val_f1", "max", [0.2, 0.6, 0.5, 0.4], 2),
])
def test_mode_decides_the_direction(monitor, mode, values, best_epoch):
    stopper = EarlyStopping(monitor=monitor, mode=mode, patience=10)
    run_logs(stopper, tiny_model(), values, key=monitor)
    assert stopper.best_epoch == best_epoch and stopper.best == values[best_epoch - 1]


def test_min_delta_applies_upwards_in_max_mode():
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.05)
    answers = run_logs(stopper, tiny_model(), [0.80, 0.84, 0.83, 0.95], key="val_accuracy")
    assert answers == [False, False, True]
    assert (stopper.best_epoch, stopper.best) == (1, 0.80)


@pytest.mark.parametrize("mode", ["maximum", "MAX", None, ""])
def test_bad_mode_raises_naming_mode(mode):
    with pytest.raises(ValueError, match=r"mode must be 'min', 'max' or 'auto'"):
        EarlyStopping(mode=mode)


def test_on_train_begin_resets_the_record():
    model = tiny_model()
    stopper = EarlyStopping(patience=1)
    run_logs(stopper, model, [0.1, 0.2])
    run_logs(stopper, model, [5.0, 4.0])
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (4.0, 2, None)


def test_fit_stops_early_when_the_validation_loss_rises():
    # Random labels: the training set can only be memorised, so the validation loss rises.
    rng = np.random.default_rng(0)
    X_train, y_train = rng.standard_normal((60, 4)).astype(np.float32), rng.integers(0, 3, 60)
    X_val, y_val = rng.standard_normal((200, 4)).astype(np.float32), rng.integers(0, 3, 200)
    model = classifier(width=64, optimizer=Adam(0.01))
    stopper = EarlyStopping(patience=3)
    epochs = 100
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=16, validation_data=(X_val, y_val),
                        rng=0, verbose=0, callbacks=[stopper])
    n_run = len(history["val_loss"])
    assert n_run < epochs
    assert stopper.stopped_epoch == n_run == stopper.best_epoch + 3
    assert stopper.best == min(history["val_loss"]) == history["val_loss"][stopper.best_epoch - 1]
    assert model.evaluate(X_val, y_val)["loss"] == pytest.approx(stopper.best, rel=1e-6)


def test_a_missing_monitored_value_raises_a_clear_error():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"'val_loss'.*validation_data"):
        classifier().fit(X, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


@pytest.mark.parametrize("patience", [0, -1, 2.5, True])
def test_bad_patience_raises(patience):
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=patience)


def test_bad_min_delta_and_monitor_raise():
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-1.0)
    with pytest.raises(TypeError, match="min_delta must be a real number"):
        EarlyStopping(min_delta="0.1")
    with pytest.raises(TypeError, match="monitor"):
        EarlyStopping(monitor=3)


def test_dropout_refuses_integer_inputs():
    with pytest.raises(TypeError, match="floating-point"):
        Dropout(0.5).forward(np.ones((2, 2), dtype=np.int64), training=True)


def test_the_layer_configs_are_the_same_before_and_after_training():
    X, y = blobs()
    model = classifier(dropout=0.3)
    before = [layer.get_config() for layer in model.layers]
    model.fit(X, y, epochs=2, batch_size=16, rng=0, verbose=0)
    assert [layer.get_config() for layer in model.layers] == before


def test_a_saved_model_with_dropout_draws_the_masks_the_original_draws_next(tmp_path):
    X, y = blobs()
    model = classifier(dropout=0.3, optimizer=SGD(0.05))
    model.fit(X, y, epochs=1, batch_size=16, rng=0, verbose=0)
    save(model, tmp_path / "dropout.npz")
    restored = load(tmp_path / "dropout.npz")
    for ours, theirs in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    dropout = next(i for i, layer in enumerate(model.layers) if isinstance(layer, Dropout))
    x = np.ones((4, 8))                                # Dropout takes any shape
    assert np.array_equal(restored.layers[dropout].forward(x, training=True),
                          model.layers[dropout].forward(x, training=True))
