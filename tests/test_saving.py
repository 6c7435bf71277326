"""Model files (dlfs.saving): round trips, exact resumption, class lookup, and crafted files refused cheaply.

The crafted files are built by hand from the definitions of the zip and npy formats, so each test
knows what the file claims and what it really holds; tracemalloc measures what loading costs.
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import dlfs.activations
from dlfs import (RNN, SGD, Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Dropout, Embedding, Layer,
                  MeanSquaredError, Model, MultiHeadAttention, ReLU, Softmax, Standardize, Tanh, load, save)
from dlfs.saving import FORMAT, _arrays, _record

from crafted import dense_record, npy_bytes, record_bytes, write_zip

MiB = 1 << 20


def spirals(n=120, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    angle = labels * 2.1 + rng.uniform(0, 3, n)
    radius = rng.uniform(0.2, 1, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]).astype(np.float32)
    return X, labels


def network(optimizer) -> Model:
    layers = [Dense(2, 16, init="he", rng=0), ReLU(), Dropout(0.25, rng=1), Dense(16, 3, rng=2), Softmax()]
    return Model(layers, loss=CategoricalCrossEntropy(), optimizer=optimizer)


def small_classifier(seed=0, dtype=np.float32) -> Model:
    layers = [Dense(4, 16, rng=seed, dtype=dtype), ReLU(), Dense(16, 3, rng=seed + 1, dtype=dtype), Softmax()]
    return Model(layers, loss=CategoricalCrossEntropy(), optimizer=Adam(0.01))


def small_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


def same_weights(a: Model, b: Model) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


# -- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, dtype):
    X, y = small_data()
    model = small_classifier(dtype=dtype)
    model.fit(X, y, epochs=2, rng=0, verbose=0)
    save(model, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert isinstance(loaded.loss, CategoricalCrossEntropy) and loaded.dtype == dtype
    assert np.array_equal(loaded.predict(X), model.predict(X))
    fresh = small_classifier(seed=9, dtype=dtype)               # weights into a model built in code
    fresh.load_state_dict(loaded.state_dict())
    assert np.array_equal(fresh.predict(X), model.predict(X))


def test_saved_file_is_a_plain_npz_with_a_json_record(tmp_path):
    X, y = small_data()
    model = small_classifier()
    model.fit(X, y, epochs=1, rng=0, verbose=0)
    save(model, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(
            ["architecture", "0.weights", "0.biases", "2.weights", "2.biases", "optimizer.0.step",
             "optimizer.2.step"] + [f"optimizer.{i}.{name}.{slot}" for i in (0, 2)
                                    for name in ("weights", "biases") for slot in "mv"])
        record = json.loads(str(archive["architecture"]))
    assert record["format"] == FORMAT == "dlfs.saving/1"
    assert record["layers"][0] == {"class": "dlfs.layers.Dense", "config": model.layers[0].get_config()}
    assert record["optimizer"]["class"] == "dlfs.optimizers.Adam"


def test_save_writes_the_path_it_is_given(tmp_path):
    save(small_classifier(), tmp_path / "no-suffix")           # np.savez alone would add .npz
    assert [p.name for p in tmp_path.iterdir()] == ["no-suffix"]
    load(tmp_path / "no-suffix")


@pytest.mark.parametrize("make_optimizer", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.9)],
                         ids=["Adam", "SGD with momentum"])
def test_training_resumed_from_a_file_is_bit_identical_to_training_straight_through(tmp_path, make_optimizer):
    X, y = spirals()
    straight = network(make_optimizer())
    straight.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0)
    halfway = network(make_optimizer())
    halfway.fit(X, y, epochs=2, batch_size=16, rng=7, verbose=0)
    save(halfway, tmp_path / "halfway.npz")
    resumed = load(tmp_path / "halfway.npz")
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    history = resumed.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0, initial_epoch=2)
    assert len(history["loss"]) == 2
    assert same_weights(resumed, straight)


def test_resuming_without_the_optimizer_state_would_differ(tmp_path):
    """The oracle above can fail: a fresh Adam after the load does not give the same weights."""
    X, y = spirals()
    straight = network(Adam(0.01))
    straight.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0)
    halfway = network(Adam(0.01))
    halfway.fit(X, y, epochs=2, batch_size=16, rng=7, verbose=0)
    save(halfway, tmp_path / "halfway.npz")
    resumed = load(tmp_path / "halfway.npz")
    resumed.optimizer = Adam(0.01)
    resumed.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0, initial_epoch=2)
    assert not same_weights(resumed, straight)


def test_each_epoch_order_depends_on_the_epoch_number():
    X, y = spirals()
    one = network(SGD(0.05))
    one.fit(X, y, epochs=3, batch_size=16, rng=3, verbose=0, initial_epoch=2)   # epoch 3 only
    other = network(SGD(0.05))
    other.fit(X, y, epochs=1, batch_size=16, rng=3, verbose=0)                 # epoch 1 only
    assert not np.array_equal(one.get_weights()[0], other.get_weights()[0])


@pytest.mark.parametrize("initial_epoch", [-1, 3, 4, 1.5, True])
def test_initial_epoch_must_lie_below_epochs(initial_epoch):
    X, y = spirals()
    model = network(SGD(0.05))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"initial_epoch must be an integer from 0 to epochs - 1 = 2"):
        model.fit(X, y, epochs=3, verbose=0, initial_epoch=initial_epoch)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# -- state dicts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make_optimizer", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.9), lambda: SGD(0.1)],
                         ids=["Adam", "momentum", "plain SGD"])
def test_optimizer_state_dict_round_trip_continues_the_same_steps(make_optimizer):
    X, y = spirals()
    trained = network(make_optimizer())
    trained.fit(X, y, epochs=2, batch_size=16, rng=1, verbose=0)
    state = trained.optimizer.state_dict(trained.layers)
    assert state["0.step"].dtype == np.int64 and int(state["0.step"]) == 2 * 8
    assert all(key.split(".")[0] in ("0", "3") for key in state)          # only layers with parameters
    twin = network(make_optimizer())
    twin.load_state_dict(trained.state_dict())
    twin.optimizer.load_state_dict(twin.layers, state)
    after = twin.optimizer.state_dict(twin.layers)
    assert after.keys() == state.keys() and all(np.array_equal(after[k], state[k]) for k in state)
    for model in (trained, twin):
        model.fit(X, y, epochs=3, batch_size=16, rng=1, verbose=0, initial_epoch=2)
    assert same_weights(trained, twin)


def test_optimizer_state_dict_is_a_copy():
    X, y = spirals()
    model = network(Adam(0.01))
    model.fit(X, y, epochs=1, verbose=0, rng=0)
    state = model.optimizer.state_dict(model.layers)
    state["0.weights.m"] += 1.0
    assert not np.array_equal(model.optimizer.state_dict(model.layers)["0.weights.m"], state["0.weights.m"])


@pytest.mark.parametrize("key, value, message", [
    ("0.weights.m", np.zeros((3, 3), np.float32), r"0.weights.m \(float32 of shape \(3, 3\)\) is no finite slot"),
    ("0.weights.m", np.full((2, 16), np.nan, np.float32), r"0.weights.m .* is no finite slot"),
    ("0.weights.m", np.full((2, 16), 1e300), r"0.weights.m .* is no finite slot"),   # overflows float32
    ("9.step", np.array(1), r"9.step .* nor a step count"),
    ("0.step", np.array(-1), r"0.step .* nor a step count"),
    ("0.step", np.array(1.5), r"0.step .* nor a step count"),
    ("1.weights.m", np.zeros(1), r"1.weights.m"),                          # ReLU has no weights
    ("x.weights.m", np.zeros(1), r"x.weights.m"),
])
def test_optimizer_load_state_dict_refuses_a_bad_state_and_changes_nothing(key, value, message):
    X, y = spirals()
    model = network(Adam(0.01))
    model.fit(X, y, epochs=1, verbose=0, rng=0)
    before = model.optimizer.state_dict(model.layers)
    with pytest.raises(ValueError, match=message):
        model.optimizer.load_state_dict(model.layers, before | {key: value})
    after = model.optimizer.state_dict(model.layers)
    assert after.keys() == before.keys() and all(np.array_equal(after[k], before[k]) for k in before)


def test_optimizer_state_without_a_step_count_is_refused():
    model = network(Adam(0.01))
    with pytest.raises(ValueError, match="not its step count"):
        model.optimizer.load_state_dict(model.layers, {"0.weights.m": np.zeros((2, 16), np.float32)})


def test_model_state_dict_names_parameters_and_states_by_layer_index():
    model = network(SGD(0.1))
    state = model.state_dict()
    assert list(state) == ["0.weights", "0.biases", "2.state.rng", "3.weights", "3.biases"]
    state["0.weights"] += 1.0                                             # copies, not views
    assert not np.array_equal(model.layers[0].weights, state["0.weights"])


@pytest.mark.parametrize("change, message", [
    (lambda s: s | {"3.biases": np.zeros((1, 4), np.float32)}, r"3.biases must be numbers of shape \(1, 3\)"),
    (lambda s: s | {"3.biases": np.array([[0.0, np.inf, 0.0]])}, r"3.biases must be finite, got inf"),
    (lambda s: s | {"3.biases": np.array([[0.0, 1e39, 0.0]])}, r"3.biases overflows float32"),
    (lambda s: s | {"3.biases": np.array([["a", "b", "c"]])}, r"3.biases must be numbers"),
    (lambda s: {k: v for k, v in s.items() if k != "0.biases"}, r"expected the arrays"),
    (lambda s: s | {"2.state.rng": np.array([2**64 - 1] * 6, np.uint64)},
     r"layer 2 \(Dropout\) refuses its state arrays: not a PCG64 generator state"),
])
def test_model_load_state_dict_is_all_or_nothing(change, message):
    model = network(SGD(0.1))
    source = network(SGD(0.1))
    source.layers[0].weights += 1.0
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(change(source.state_dict()))
    after = model.state_dict()
    assert all(np.array_equal(after[key], before[key]) for key in before)


def test_set_weights_goes_through_the_same_checks():
    model = network(SGD(0.1))
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"weights must hold 4 arrays"):
        model.set_weights(weights[:3])
    weights[1] = np.full_like(weights[1], np.nan)
    with pytest.raises(ValueError, match=r"0.biases must be finite"):
        model.set_weights(weights)
    weights[1] = np.ones_like(weights[1])
    model.set_weights(weights)
    np.testing.assert_array_equal(model.layers[0].biases, 1.0)


# -- which class a record names ------------------------------------------------------------------

def test_a_users_class_of_the_same_name_cannot_replace_dlfs_class_at_load(tmp_path):
    save(network(SGD(0.05)), tmp_path / "model.npz")

    class ReLU(Layer):            # noqa: F811 (the point: the same name as dlfs's ReLU)
        def forward(self, inputs, training=False):
            raise AssertionError("the user's ReLU was used")

    restored = load(tmp_path / "model.npz")
    assert type(restored.layers[1]) is dlfs.activations.ReLU
    restored.predict(spirals()[0])


def test_a_class_that_calls_itself_dlfs_but_is_not_dlfs_own_is_never_picked(tmp_path):
    class Impostor(Layer):
        __module__, __qualname__ = "dlfs.activations", "ReLU"

        def forward(self, inputs, training=False):
            raise AssertionError("the impostor was used")

    class Newcomer(Layer):
        __module__, __qualname__ = "dlfs.layers", "Newcomer"

    save(Model([Dense(2, 3, rng=0), Impostor(), Softmax()]), tmp_path / "impostor.npz")
    assert type(load(tmp_path / "impostor.npz").layers[1]) is dlfs.activations.ReLU
    save(Model([Dense(2, 3, rng=0), Newcomer()]), tmp_path / "newcomer.npz")
    with pytest.raises(ValueError, match=r"layer 1: the record names the Layer class 'dlfs.layers.Newcomer', "
                                         r"which is not one of dlfs's"):
        load(tmp_path / "newcomer.npz")
    assert type(load(tmp_path / "newcomer.npz", custom_objects={"Newcomer": Newcomer}).layers[1]) is Newcomer


@pytest.mark.parametrize("name", ["posix.system", "builtins.eval", "dlfs.model.Layer", "dlfs.layers.np",
                                  "dlfs.layers.__class__", "dlfs.model.Model", "dlfs", ""])
def test_a_record_naming_anything_but_a_dlfs_layer_class_is_refused(tmp_path, name):
    record = dense_record(2, 2)
    record["layers"][0]["class"] = name
    members = {"architecture.npy": record_bytes(record), "0.weights.npy": npy_bytes("<f4", (2, 2), bytes(16)),
               "0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8))}
    with pytest.raises(ValueError, match=r"layer 0: the record names the Layer class .* not one of dlfs's"):
        load(write_zip(tmp_path / "named.npz", members))


class Scale(Layer):
    def __init__(self, factor: float):
        self.factor = factor

    def forward(self, inputs, training=False):
        return np.asarray(inputs) * self.factor

    def backward(self, dvalues):
        return dvalues * self.factor

    def get_config(self):
        return {"factor": self.factor}


def test_a_users_own_layer_loads_only_when_named_in_custom_objects(tmp_path):
    model = Model([Dense(2, 3, rng=0), Scale(2.0), Softmax()], loss=CategoricalCrossEntropy())
    save(model, tmp_path / "scaled.npz")
    with pytest.raises(ValueError, match=r"layer 1: the record names the Layer class .*Scale', which is not one of "
                                         r"dlfs's.*custom_objects=\{'Scale': Scale\}"):
        load(tmp_path / "scaled.npz")
    restored = load(tmp_path / "scaled.npz", custom_objects={"Scale": Scale})
    assert type(restored.layers[1]) is Scale and restored.layers[1].factor == 2.0
    with pytest.raises(TypeError, match=r"custom_objects\['Scale'\] must be a Layer subclass"):
        load(tmp_path / "scaled.npz", custom_objects={"Scale": print})
    with pytest.raises(TypeError, match=r"custom_objects\['Scale'\] must be a Layer subclass"):
        load(tmp_path / "scaled.npz", custom_objects={"Scale": SGD})


def test_a_loss_defined_by_the_user_saves_and_loads(tmp_path):
    class HalfSquaredError(MeanSquaredError):
        def forward(self, y_pred, y_true, check_input=True):
            return super().forward(y_pred, y_true, check_input) / 2

    save(Model([Dense(3, 2, rng=0)], loss=HalfSquaredError()), tmp_path / "half.npz")
    with pytest.raises(ValueError, match=r"the loss: .*not one of dlfs's.*custom_objects=\{'HalfSquaredError': "
                                         r"HalfSquaredError\}"):
        load(tmp_path / "half.npz")
    restored = load(tmp_path / "half.npz", custom_objects={"HalfSquaredError": HalfSquaredError})
    assert type(restored.loss) is HalfSquaredError


# -- save refuses what load could not rebuild ----------------------------------------------------

class Forgetful(Layer):
    """A custom layer that forgot get_config: the base class's {} cannot rebuild it."""

    def __init__(self, factor: float):
        self.factor = factor

    def forward(self, inputs, training=False):
        return inputs * self.factor


def test_save_refuses_a_layer_its_config_cannot_rebuild_and_writes_nothing(tmp_path):
    model = Model([Dense(2, 3, rng=0), Forgetful(2.0), Softmax()], loss=CategoricalCrossEntropy())
    with pytest.raises(ValueError, match=r"layer 1 \(Forgetful\) cannot be saved: Forgetful\(\*\*get_config\(\)\) "
                                         r"fails \(TypeError.*factor.*give Forgetful a get_config\(\)"):
        save(model, tmp_path / "forgetful.npz")
    assert not (tmp_path / "forgetful.npz").exists()


def test_save_refuses_an_optimizer_its_config_cannot_rebuild(tmp_path):
    class Halving(SGD):
        def __init__(self, rate: float):
            super().__init__(learning_rate=rate / 2)     # no attribute named "rate": get_config fails

    model = Model([Dense(2, 3, rng=0), Softmax()], loss=CategoricalCrossEntropy(), optimizer=Halving(0.2))
    with pytest.raises(ValueError, match=r"the optimizer \(Halving\) cannot be saved"):
        save(model, tmp_path / "halving.npz")
    assert not (tmp_path / "halving.npz").exists()


def test_a_refused_save_leaves_an_existing_file_as_it_was(tmp_path):
    path = tmp_path / "model.npz"
    save(small_classifier(), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="cannot be saved"):
        save(Model([Dense(2, 3), Forgetful(1.0)]), path)
    assert path.read_bytes() == before


# -- files that are not model files --------------------------------------------------------------

def saved_arrays(tmp_path) -> dict:
    path = tmp_path / "good.npz"
    save(small_classifier(), path)
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_load_refuses_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        load(tmp_path / "missing.npz")
    good = tmp_path / "good.npz"
    save(small_classifier(), good)
    (tmp_path / "truncated.npz").write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"truncated\.npz: not a \.npz archive"):
        load(tmp_path / "truncated.npz")
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ValueError, match=r"noise\.npz: not a \.npz archive"):
        load(tmp_path / "noise.npz")


def test_a_zip_directory_asking_for_an_unknown_zip_version_is_a_value_error(tmp_path):
    """Found by the fuzz test: zipfile raises NotImplementedError for a version it cannot read."""
    good = tmp_path / "good.npz"
    save(small_classifier(), good)
    data = bytearray(good.read_bytes())
    entry = data.index(b"PK\x01\x02")             # the first entry of the central directory
    data[entry + 6] = 64                          # "version needed to extract": 6.4
    (tmp_path / "v64.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"v64\.npz: not a \.npz archive \(zip file version 6.4\)"):
        load(tmp_path / "v64.npz")


def test_load_refuses_a_corrupt_member(tmp_path):
    good = tmp_path / "good.npz"
    save(small_classifier(), good)
    data = bytearray(good.read_bytes())
    data[100:140] = bytes(40)                           # damage the first array's bytes
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"bad\.npz: .*(Bad CRC-32|cannot be read|not a plain \.npy)"):
        load(tmp_path / "bad.npz")


def test_load_refuses_a_file_without_architecture_record_or_in_another_format(tmp_path):
    arrays = saved_arrays(tmp_path)
    del arrays["architecture"]
    with pytest.raises(ValueError, match="no architecture record"):
        load(write_npz(tmp_path / "bare.npz", **arrays))
    with pytest.raises(ValueError, match=r"in the format 'keras'; this dlfs reads dlfs.saving/1$"):
        load(write_npz(tmp_path / "other.npz", architecture=np.array('{"format": "keras"}')))
    with pytest.raises(ValueError, match=r"in the format 'dlfs.Model/3'; this dlfs reads dlfs.saving/1$"):
        load(write_npz(tmp_path / "old.npz", architecture=np.array('{"format": "dlfs.Model/3", "layers": []}')))
    with pytest.raises(ValueError, match=r"not valid JSON"):
        load(write_npz(tmp_path / "garbled.npz", architecture=np.array("{not json")))


def test_load_refuses_an_unknown_layer_class(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["architecture"] = np.array(str(arrays["architecture"]).replace('"dlfs.activations.ReLU"', '"Evil"'))
    with pytest.raises(ValueError, match=r"layer 1: the record names the Layer class 'Evil', which is not one of dlfs's"):
        load(write_npz(tmp_path / "evil.npz", **arrays))


def test_load_refuses_non_finite_weights(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["2.biases"] = np.full((1, 3), np.nan, np.float32)
    with pytest.raises(ValueError, match=r"nan\.npz: 2.biases must be finite, got nan at row 0, column 0"):
        load(write_npz(tmp_path / "nan.npz", **arrays))


@pytest.mark.parametrize("key, array, message", [
    ("2.weights", np.zeros((3, 16), np.float32),
     r"layer 2 \(Dense\) needs weights of shape \(16, 3\), the file holds \(3, 16\)"),
    ("0.biases", np.zeros((1, 16), np.float64),
     r"0.biases is float64 of shape \(1, 16\) in the file, float32 of shape \(1, 16\) here"),
    ("9.weights", np.zeros(3), r"expected the arrays .* found .*9.weights"),
    ("optimizer.9.step", np.array(1), r"9.step \(int64 of shape \(\)\) is no finite slot"),
])
def test_load_refuses_arrays_of_the_wrong_shape_dtype_or_name(tmp_path, key, array, message):
    arrays = saved_arrays(tmp_path)
    arrays[key] = array
    with pytest.raises(ValueError, match=message):
        load(write_npz(tmp_path / "crafted.npz", **arrays))


def test_load_refuses_optimizer_state_without_an_optimizer(tmp_path):
    arrays = saved_arrays(tmp_path)
    record = json.loads(str(arrays["architecture"])) | {"optimizer": None}
    arrays["architecture"] = np.array(json.dumps(record))
    arrays["optimizer.0.step"] = np.array(3)
    with pytest.raises(ValueError, match=r"holds an optimizer's state but no optimizer"):
        load(write_npz(tmp_path / "orphan.npz", **arrays))


class Bomb:
    def __reduce__(self):
        return (pytest.fail, ("unpickling ran code",))


def test_load_refuses_a_pickled_object_array(tmp_path):
    arrays = saved_arrays(tmp_path)
    arrays["0.weights"] = np.array([Bomb()], dtype=object)
    path = write_npz(tmp_path / "pickled.npz", **arrays)
    with zipfile.ZipFile(path) as archive:
        assert b"unpickling ran code" in archive.read("0.weights.npy")   # the trap is really there
    with pytest.raises(ValueError, match=r"0.weights.npy has the dtype object: save writes plain numbers only"):
        load(path)


# -- crafted files -------------------------------------------------------------------------------

def peak_of_loading(path) -> tuple[Exception | None, int]:
    """(the exception load raised, or None; the peak traced memory in bytes)."""
    tracemalloc.start()
    try:
        load(path)
        error = None
    except Exception as raised:   # noqa: BLE001 (returned to the test, which checks its type)
        error = raised
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


def test_a_record_declaring_a_huge_layer_is_refused_before_building_it(tmp_path):
    tiny = npy_bytes("<f4", (2, 2), bytes(16))
    path = write_zip(tmp_path / "huge.npz", {"architecture.npy": record_bytes(dense_record(4000, 4000)),
                                             "0.weights.npy": tiny, "0.biases.npy": tiny})
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "needs weights of shape (4000, 4000), the file holds (2, 2)" in str(error)
    assert peak < 4 * MiB


def test_an_honest_record_of_deflated_zeros_is_refused_as_compressed(tmp_path):
    members = {"architecture.npy": record_bytes(dense_record(1024, 1024)),
               "0.weights.npy": npy_bytes("<f4", (1024, 1024), bytes(4 * 1024 * 1024)),
               "0.biases.npy": npy_bytes("<f4", (1, 1024), bytes(4096))}
    path = write_zip(tmp_path / "zeros.npz", members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 64 * 1024
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "is compressed: model files hold uncompressed arrays only" in str(error)
    assert peak < 4 * MiB


def test_the_memory_measure_can_fail(tmp_path):
    """Reading the deflated zeros as numpy would, without the member checks, does cost its 4 MiB."""
    members = {"0.weights.npy": npy_bytes("<f4", (1024, 1024), bytes(4 * 1024 * 1024))}
    path = write_zip(tmp_path / "zeros.npz", members, compression=zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    with np.load(path) as archive:
        archive["0.weights"]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak > 4 * MiB


def test_a_header_declaring_more_than_the_member_holds_is_refused_unread(tmp_path):
    members = {"architecture.npy": record_bytes(dense_record(2, 2)),
               "0.weights.npy": npy_bytes("<f4", (10**6, 10**6), bytes(16)),
               "0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8))}
    error, peak = peak_of_loading(write_zip(tmp_path / "liar.npz", members))
    assert isinstance(error, ValueError) and "declares float32 of shape (1000000, 1000000)" in str(error)
    assert peak < 4 * MiB


@pytest.mark.parametrize("members, message", [
    ({"architecture.npy": record_bytes({"format": "dlfs.saving/9"})},
     r"in the format 'dlfs.saving/9'; this dlfs reads dlfs.saving/1"),
    ({"architecture.npy": record_bytes({"format": FORMAT, "layers": [json.loads("[" * 40 + "]" * 40)]})},
     r"nests deeper than 32 levels"),
    ({"architecture.npy": record_bytes("[" * 5000 + "]" * 5000)}, r"not valid JSON \(RecursionError\)"),
    ({"architecture.npy": npy_bytes("<U1", (300_000,), bytes(4 * 300_000))}, r"architecture record must be a string"),
    ({"architecture.npy": record_bytes({"format": FORMAT, "pad": "x" * (MiB // 4)})},
     r"architecture record is larger than 1048576 bytes"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "0.weights.npy": b"not an npy file at all",
      "0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8))}, r"0.weights.npy is not a plain .npy array"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "notes.txt": b"hello"}, r"'notes.txt' is not NAME.npy"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "0.weights.npy": npy_bytes("<f4", (2, 2), bytes(16)),
      "0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8)), "extra.npy": npy_bytes("<f4", (1,), bytes(4))},
     r"expected the arrays \['0.biases', '0.weights'\], found \['0.biases', '0.weights', 'extra'\]"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": "Dense"})}, r"layers must be a list, got str"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": [{"class": "dlfs.layers.Dense", "config": {}}]})},
     r"layer 0 \(Dense\): its config is not valid \(KeyError\('n_inputs'\)\)"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": [["dlfs.layers.Dense", {}]]})},
     r"layer 0: expected \{'class': ..., 'config': \{...\}\}, got a list of 2 items"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": [], "optimizer": {
        "class": "dlfs.optimizers.SGD", "config": {"learning_rate": -1}}})},
     r"the optimizer \(SGD\) cannot be rebuilt from its record: learning_rate"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": [], "loss": {
        "class": "dlfs.optimizers.SGD", "config": {}}})},
     r"the loss: the record names the Loss class 'dlfs.optimizers.SGD'"),
])
def test_a_crafted_file_gets_a_clear_value_error(tmp_path, members, message):
    with pytest.raises(ValueError, match=message):
        load(write_zip(tmp_path / "crafted.npz", members))


def test_optimizer_state_that_fits_no_parameter_is_refused(tmp_path):
    model = network(Adam(0.01))
    model.fit(*spirals(), epochs=1, verbose=0, rng=0)
    buffer = io.BytesIO()
    np.savez(buffer, **(_arrays(model) | {"optimizer.0.weights.m": np.zeros((3, 3), np.float32),
                                          "architecture": np.array(json.dumps(_record(model)))}))
    (tmp_path / "bad.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"0.weights.m \(float32 of shape \(3, 3\)\) is no finite slot of a parameter"):
        load(tmp_path / "bad.npz")


@pytest.mark.parametrize("words", [[2**64 - 1] * 6, [1, 2, 3, 4, 5, 99]], ids=["overflowing", "not a PCG64 state"])
def test_a_generator_state_the_layer_refuses_is_a_value_error_and_changes_nothing(tmp_path, words):
    model = network(SGD(0.05))
    arrays = _arrays(model) | {"2.state.rng": np.array(words, dtype=np.uint64)}
    np.savez(tmp_path / "state.npz", architecture=np.array(json.dumps(_record(model))), **arrays)
    with pytest.raises(ValueError, match=r"layer 2 \(Dropout\) refuses its state arrays: not a PCG64 generator state"):
        load(tmp_path / "state.npz")
    target = network(SGD(0.05))
    target.layers[3].weights += 1.0
    before, rng_before = target.get_weights(), target.layers[2].state()["rng"]
    with pytest.raises(ValueError, match=r"layer 2 \(Dropout\) refuses its state arrays"):
        target.load_state_dict({key: value for key, value in arrays.items() if not key.startswith("optimizer.")})
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))
    np.testing.assert_array_equal(target.layers[2].state()["rng"], rng_before)


def test_a_record_declaring_a_huge_batchnorm_is_refused_before_building_it(tmp_path):
    record = {"format": FORMAT, "loss": None, "optimizer": None,
              "layers": [{"class": "dlfs.normalization.BatchNorm", "config": {"n_channels": 10**9}}]}
    path = write_zip(tmp_path / "bn.npz", {"architecture.npy": record_bytes(record)})
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "needs gamma of shape (1000000000,), the file holds none" in str(error)
    assert peak < 4 * MiB


@pytest.mark.parametrize("layer", [Dense(3, 5), Conv2D(2, 4, (3, 2), stride=2, padding=1), BatchNorm(6),
                                   Standardize(3), Embedding(5, 3), RNN(3, 4), MultiHeadAttention(4, 2)],
                         ids=lambda layer: type(layer).__name__)
def test_array_shapes_says_what_a_layer_built_from_its_config_saves(layer):
    config = json.loads(json.dumps(layer.get_config()))               # as a file's record holds it
    saved = {name: array.shape for name, array in layer.parameters().items()}
    saved |= {f"state.{name}": array.shape for name, array in layer.state().items()}
    assert type(layer).array_shapes(config) == saved


def dlfs_layer_classes() -> list[type]:
    found, todo = [], [Layer]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("dlfs.") and getattr(dlfs, cls.__name__, None) is cls:
            found.append(cls)
    return found


def test_every_dlfs_layer_that_holds_arrays_says_their_shapes():
    """The loader can bound what it builds only for layers that answer array_shapes."""
    expected = {"Dense", "Conv2D", "BatchNorm", "Standardize", "Embedding", "RNN", "MultiHeadAttention"}
    holders = {cls.__name__ for cls in dlfs_layer_classes()} & expected
    assert holders == expected
    for cls in dlfs_layer_classes():
        if cls.__name__ in holders:
            assert "array_shapes" in vars(cls), cls


@pytest.mark.parametrize("cls", dlfs_layer_classes(), ids=lambda cls: cls.__name__)
def test_every_dlfs_layer_saves_and_loads_with_its_defaults(tmp_path, cls):
    """Each layer class that dlfs exports rebuilds from its config (save would refuse it otherwise)."""
    examples = {"Dense": lambda: Dense(3, 2), "Conv2D": lambda: Conv2D(1, 2, 3), "BatchNorm": lambda: BatchNorm(3),
                "Standardize": lambda: Standardize(3), "Dropout": lambda: Dropout(0.5, rng=0),
                "Embedding": lambda: Embedding(5, 3), "RNN": lambda: RNN(3, 4),
                "MultiHeadAttention": lambda: MultiHeadAttention(4, 2)}
    try:
        layer = examples.get(cls.__name__, cls)()
    except TypeError:
        pytest.skip(f"{cls.__name__} needs arguments this test does not know")
    save(Model([layer]), tmp_path / "one.npz")
    restored = load(tmp_path / "one.npz").layers[0]
    as_json = json.loads(json.dumps(layer.get_config()))
    assert type(restored) is cls and json.loads(json.dumps(restored.get_config())) == as_json


def test_tanh_and_relu_models_differ_in_their_records(tmp_path):
    """A record is not just the arrays: two models with the same arrays but other layers load as they were."""
    relu = Model([Dense(4, 16, rng=0), ReLU(), Dense(16, 3, rng=1), Softmax()])
    tanh = Model([Dense(4, 16, rng=0), Tanh(), Dense(16, 3, rng=1), Softmax()])
    save(relu, tmp_path / "relu.npz")
    save(tanh, tmp_path / "tanh.npz")
    assert type(load(tmp_path / "tanh.npz").layers[1]) is Tanh
    assert type(load(tmp_path / "relu.npz").layers[1]) is ReLU
