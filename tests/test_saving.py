"""Model files (dlfs._saving): exact resumption, class lookup, and crafted files refused cheaply.

The crafted files are built by hand from the definitions of the zip and npy formats, so each test
knows what the file claims and what it really holds; tracemalloc measures what loading costs.
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from dlfs import (SGD, Adam, BatchNorm, CategoricalCrossEntropy, Conv2D, Dense, Dropout, Layer, Model, ReLU, Softmax,
                  Standardize, _saving)
from dlfs.activations import ReLU as DlfsReLU

from crafted import npy_bytes, record_bytes

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


@pytest.mark.parametrize("make_optimizer", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.9)],
                         ids=["Adam", "SGD with momentum"])
def test_training_resumed_from_a_file_is_bit_identical_to_training_straight_through(tmp_path, make_optimizer):
    X, y = spirals()
    straight = network(make_optimizer())
    straight.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0)
    halfway = network(make_optimizer())
    halfway.fit(X, y, epochs=2, batch_size=16, rng=7, verbose=0)
    halfway.save(tmp_path / "halfway.npz")
    resumed = Model.load(tmp_path / "halfway.npz")
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    history = resumed.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0, initial_epoch=2)
    assert len(history["loss"]) == 2
    for ours, theirs in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_resuming_without_the_optimizer_state_would_differ(tmp_path):
    """The oracle above can fail: a fresh Adam after the load does not give the same weights."""
    X, y = spirals()
    straight = network(Adam(0.01))
    straight.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0)
    halfway = network(Adam(0.01))
    halfway.fit(X, y, epochs=2, batch_size=16, rng=7, verbose=0)
    halfway.save(tmp_path / "halfway.npz")
    resumed = Model.load(tmp_path / "halfway.npz")
    resumed.optimizer = Adam(0.01)
    resumed.fit(X, y, epochs=4, batch_size=16, rng=7, verbose=0, initial_epoch=2)
    assert not all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), straight.get_weights()))


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


# -- which class a record names ----------------------------------------------------------------

def test_a_users_class_of_the_same_name_cannot_replace_dlfs_class_at_load(tmp_path):
    model = network(SGD(0.05))
    model.save(tmp_path / "model.npz")

    class ReLU(Layer):            # noqa: F811 (the point: the same name as dlfs's ReLU)
        def forward(self, inputs, training=False):
            raise AssertionError("the user's ReLU was used")

    assert "dlfs.activations.ReLU" in Layer.registry and Layer.registry["dlfs.activations.ReLU"] is DlfsReLU
    restored = Model.load(tmp_path / "model.npz")
    assert type(restored.layers[1]) is DlfsReLU
    restored.predict(spirals()[0])


def test_a_users_own_layer_loads_only_when_named_in_custom_objects(tmp_path):
    class Scale(Layer):
        def __init__(self, factor: float):
            self.factor = factor

        def forward(self, inputs, training=False):
            return np.asarray(inputs) * self.factor

        def backward(self, dvalues):
            return dvalues * self.factor

        def get_config(self):
            return {"factor": self.factor}

    model = Model([Dense(2, 3, rng=0), Scale(2.0), Softmax()], loss=CategoricalCrossEntropy())
    model.save(tmp_path / "scaled.npz")
    with pytest.raises(ValueError, match=r"layer 1: the record names the Layer class .*Scale', which is not one of "
                                         r"dlfs's.*custom_objects=\{'Scale': Scale\}"):
        Model.load(tmp_path / "scaled.npz")
    restored = Model.load(tmp_path / "scaled.npz", custom_objects={"Scale": Scale})
    assert type(restored.layers[1]) is Scale and restored.layers[1].factor == 2.0
    with pytest.raises(TypeError, match=r"custom_objects\['Scale'\] must be a Layer subclass"):
        Model.load(tmp_path / "scaled.npz", custom_objects={"Scale": print})


# -- crafted files -----------------------------------------------------------------------------

def dense_record(n_inputs: int, n_neurons: int) -> dict:
    return {"format": _saving.MODEL_FORMAT, "loss": None, "optimizer": None,
            "layers": [{"class": "dlfs.layers.Dense",
                        "config": {"n_inputs": n_inputs, "n_neurons": n_neurons, "init": "glorot", "dtype": "float32"}}]}


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def peak_of_loading(path) -> tuple[Exception | None, int]:
    """(the exception Model.load raised, or None; the peak traced memory in bytes)."""
    tracemalloc.start()
    try:
        Model.load(path)
        error = None
    except Exception as raised:   # noqa: BLE001 (returned to the test, which checks its type)
        error = raised
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


def test_a_record_declaring_a_huge_layer_is_refused_before_building_it(tmp_path):
    tiny = npy_bytes("<f4", (2, 2), bytes(16))
    path = write_zip(tmp_path / "huge.npz", {"architecture.npy": record_bytes(dense_record(4000, 4000)),
                                             "layer0.weights.npy": tiny, "layer0.biases.npy": tiny})
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "needs weights of shape (4000, 4000), the file holds (2, 2)" in str(error)
    assert peak < 4 * MiB


def test_an_honest_record_of_deflated_zeros_is_refused_as_compressed(tmp_path):
    members = {"architecture.npy": record_bytes(dense_record(1024, 1024)),
               "layer0.weights.npy": npy_bytes("<f4", (1024, 1024), bytes(4 * 1024 * 1024)),
               "layer0.biases.npy": npy_bytes("<f4", (1, 1024), bytes(4096))}
    path = write_zip(tmp_path / "zeros.npz", members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 64 * 1024
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "is compressed: model files hold uncompressed arrays only" in str(error)
    assert peak < 4 * MiB


def test_the_memory_measure_can_fail(tmp_path):
    """Reading the deflated zeros as numpy would, without the member checks, does cost its 4 MiB."""
    members = {"layer0.weights.npy": npy_bytes("<f4", (1024, 1024), bytes(4 * 1024 * 1024))}
    path = write_zip(tmp_path / "zeros.npz", members, compression=zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    with np.load(path) as archive:
        archive["layer0.weights"]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak > 4 * MiB


def test_a_header_declaring_more_than_the_member_holds_is_refused_unread(tmp_path):
    members = {"architecture.npy": record_bytes(dense_record(2, 2)),
               "layer0.weights.npy": npy_bytes("<f4", (10**6, 10**6), bytes(16)),
               "layer0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8))}
    error, peak = peak_of_loading(write_zip(tmp_path / "liar.npz", members))
    assert isinstance(error, ValueError) and "declares float32 of shape (1000000, 1000000)" in str(error)
    assert peak < 4 * MiB


@pytest.mark.parametrize("members, message", [
    ({"architecture.npy": record_bytes({"format": "dlfs.Model/9"})},
     r"in the format 'dlfs.Model/9'; this dlfs reads dlfs.Model/3 .*written by a newer dlfs"),
    ({"architecture.npy": record_bytes({"format": "dlfs.Model/3", "layers": [[[[]]]] * 1 + [json.loads("[" * 40 + "]" * 40)]})},
     r"nests deeper than 32 levels"),
    ({"architecture.npy": npy_bytes("<U1", (300_000,), bytes(4 * 300_000))}, r"architecture record must be a string"),
    ({"architecture.npy": record_bytes({"format": "dlfs.Model/3", "pad": "x" * (MiB // 4)})},
     r"architecture record is larger than 1048576 bytes"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "layer0.weights.npy": b"not an npy file at all",
      "layer0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8))}, r"layer0.weights.npy is not a plain .npy array"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "notes.txt": b"hello"}, r"'notes.txt' is not NAME.npy"),
    ({"architecture.npy": record_bytes(dense_record(2, 2)), "layer0.weights.npy": npy_bytes("<f4", (2, 2), bytes(16)),
      "layer0.biases.npy": npy_bytes("<f4", (1, 2), bytes(8)), "extra.npy": npy_bytes("<f4", (1,), bytes(4))},
     r"expected the arrays \['layer0.biases', 'layer0.weights'\], found \['extra', 'layer0.biases', 'layer0.weights'\]"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": "Dense"})}, r"layers must be a list, got str"),
    ({"architecture.npy": record_bytes(dense_record(2, 2) | {"layers": [{"class": "dlfs.layers.Dense", "config": {}}]})},
     r"layer 0 \(Dense\): its config is not valid \(KeyError\('n_inputs'\)\)"),
])
def test_a_crafted_file_gets_a_clear_value_error(tmp_path, members, message):
    with pytest.raises(ValueError, match=message):
        Model.load(write_zip(tmp_path / "crafted.npz", members))


def test_optimizer_state_that_fits_no_parameter_is_refused(tmp_path):
    model = network(Adam(0.01))
    X, y = spirals()
    model.fit(X, y, epochs=1, verbose=0, rng=0)
    buffer = io.BytesIO()
    np.savez(buffer, **(_saving.model_arrays(model) | {"layer0.optimizer.weights.m": np.zeros((3, 3), np.float32),
                                                        "architecture": np.array(json.dumps(_saving.architecture(model)))}))
    (tmp_path / "bad.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"layer0.optimizer.weights.m \(float32 of shape \(3, 3\)\) matches no parameter"):
        Model.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("words", [[2**64 - 1] * 6, [1, 2, 3, 4, 5, 99]], ids=["overflowing", "not a PCG64 state"])
def test_a_generator_state_the_layer_refuses_is_a_value_error_and_changes_nothing(tmp_path, words):
    model = network(SGD(0.05))
    arrays = _saving.model_arrays(model) | {"layer2.state.rng": np.array(words, dtype=np.uint64)}
    np.savez(tmp_path / "state.npz", architecture=np.array(json.dumps(_saving.architecture(model))), **arrays)
    target = network(SGD(0.05))
    target.layers[3].weights += 1.0
    before, rng_before = target.get_weights(), target.layers[2].state()["rng"]
    with pytest.raises(ValueError, match=r"layer 2 \(Dropout\) refuses its state arrays: not a PCG64 generator state"):
        target.load_weights(tmp_path / "state.npz")
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))
    np.testing.assert_array_equal(target.layers[2].state()["rng"], rng_before)


def test_a_record_declaring_a_huge_batchnorm_is_refused_before_building_it(tmp_path):
    record = {"format": _saving.MODEL_FORMAT, "loss": None, "optimizer": None,
              "layers": [{"class": "dlfs.normalization.BatchNorm", "config": {"n_channels": 10**9}}]}
    path = write_zip(tmp_path / "bn.npz", {"architecture.npy": record_bytes(record)})
    error, peak = peak_of_loading(path)
    assert isinstance(error, ValueError) and "needs gamma of shape (1000000000,), the file holds none" in str(error)
    assert peak < 4 * MiB


@pytest.mark.parametrize("layer", [Dense(3, 5), Conv2D(2, 4, (3, 2), stride=2, padding=1), BatchNorm(6),
                                   Standardize(3)], ids=lambda layer: type(layer).__name__)
def test_array_shapes_says_what_a_layer_built_from_its_config_saves(layer):
    config = json.loads(json.dumps(layer.get_config()))               # as a file's record holds it
    saved = {name: array.shape for name, array in layer.parameters().items()}
    saved |= {f"state.{name}": array.shape for name, array in layer.state().items()}
    assert type(layer).array_shapes(config) == saved


def test_every_dlfs_layer_that_holds_arrays_says_their_shapes():
    """The loader can bound what it builds only for layers that answer array_shapes."""
    holders = {"Dense", "Conv2D", "BatchNorm", "Standardize"}
    for key, cls in Layer.registry.items():
        if key.startswith("dlfs.") and cls.__name__ in holders:
            assert "array_shapes" in vars(cls), key
