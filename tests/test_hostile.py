"""Careless and hostile input: late-set hyperparameters, misleading errors, and fuzzed files.

The fuzz tests use hypothesis rather than atheris: hypothesis is already a test dependency, runs
inside pytest with a fixed budget (and the same examples in CI), and shrinks a failure to a small
file; atheris's coverage guidance finds deeper bugs in parsers, but needs a compiled engine and
open-ended runs, which a test suite that must finish in seconds cannot give it.
"""

import gzip
import io
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crafted import record_bytes
from dlfs import (SGD, Adam, BinaryCrossEntropy, Callback, CategoricalCrossEntropy, Dense, Dropout, Model, ReLU,
                  Sigmoid, Softmax, load, read_idx, save)

MiB = 1 << 20


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


def classifier(optimizer=None) -> Model:
    return Model([Dense(4, 8, init="he", rng=0), ReLU(), Dense(8, 3, rng=1), Softmax()],
                 loss=CategoricalCrossEntropy(), optimizer=optimizer or SGD(0.1))


def assert_unchanged(model, before):
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# -- hyperparameters set after construction ---------------------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("learning_rate", -0.5, r"^learning_rate must be"),
    ("learning_rate", float("nan"), r"^learning_rate must be"),
    ("momentum", 1.5, r"^momentum must be a finite number >= 0 and < 1, got 1.5"),
    ("weight_decay", -1.0, r"^weight_decay must be"),
])
def test_a_hyperparameter_changed_after_construction_is_checked_when_set(name, value, message):
    model = classifier(SGD(0.1, momentum=0.5))
    old = getattr(model.optimizer, name)
    with pytest.raises(ValueError, match=message):
        setattr(model.optimizer, name, value)
    assert getattr(model.optimizer, name) == old          # the old value stays
    model.fit(*data(), epochs=1, verbose=0)               # and trains


def test_fit_does_not_rebuild_the_optimizer(monkeypatch):
    model = classifier(SGD(0.1, momentum=0.5))
    monkeypatch.setattr(SGD, "__init__", lambda *args, **kwargs: pytest.fail("fit rebuilt the optimizer"))
    model.fit(*data(), epochs=1, verbose=0)


def test_an_optimizer_that_keeps_its_arguments_under_other_names_still_trains():
    class Halving(SGD):
        def __init__(self, rate: float):
            super().__init__(learning_rate=rate / 2)     # no attribute named "rate"

    model = classifier(Halving(0.2))
    before = model.get_weights()
    model.fit(*data(), epochs=1, verbose=0)
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_adams_epsilon_changed_to_zero_is_refused_when_set():
    model = classifier(Adam(0.01))
    with pytest.raises(ValueError, match=r"^epsilon must be"):
        model.optimizer.epsilon = 0.0
    assert model.optimizer.epsilon == 1e-8


# -- errors found before any weight changes, naming the real cause ----------------------------

def test_a_bad_binary_target_in_the_last_batch_is_found_before_the_first_update():
    X, _ = data(40)
    y = (X[:, :1] > 0).astype(float)
    y[-1] = 2.0
    model = Model([Dense(4, 1, rng=0), Sigmoid()], loss=BinaryCrossEntropy(), optimizer=SGD(0.1))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\], got values from 0.0 to 2.0"):
        model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert_unchanged(model, before)


def test_a_bad_validation_target_is_found_before_training_and_named():
    X, y = data()
    model = classifier()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"validation y"):
        model.fit(X, y, validation_data=(X, y + 5), epochs=1, verbose=0)
    assert_unchanged(model, before)


def test_layers_whose_widths_do_not_chain_are_named_by_index_when_the_model_is_built():
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\) takes 5 inputs, but layer 0 \(Dense\) gives 3"):
        Model([Dense(4, 3, rng=0), ReLU(), Dense(5, 2, rng=1), Softmax()])


def test_a_single_layer_instead_of_a_list_is_a_type_error():
    with pytest.raises(TypeError):
        Model(Dense(4, 3))


def test_a_finite_input_too_large_for_float32_is_reported_as_an_overflow():
    X, y = data()
    X = X.astype(np.float64)
    X[3, 2] = 1e39
    with pytest.raises(ValueError, match=r"X overflows float32: 1e\+39 at row 3, column 2"):
        classifier().fit(X, y, epochs=1, verbose=0)


def test_inputs_that_blow_up_before_any_update_are_not_blamed_on_the_learning_rate():
    X, y = data()
    X[5] = 3.4e38                                    # row 0 is fine, so the blow-up happens in batch 1
    model = classifier()
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1, before any update: .*too large for float32") as caught:
        model.fit(X, y, epochs=1, batch_size=48, shuffle=False, verbose=0)
    assert "learning rate" not in str(caught.value)
    assert_unchanged(model, before)


def test_inputs_whose_first_row_overflows_are_not_blamed_on_the_learning_rate():
    X, y = data()
    X[:] = 3.4e38
    model = classifier()
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1, before any update: layer 0 \(Dense\) .*"
                                                 r"too large for float32") as caught:
        model.fit(X, y, epochs=1, verbose=0)
    assert "learning rate" not in str(caught.value)
    assert_unchanged(model, before)


def test_a_ragged_list_is_named_as_X():
    with pytest.raises(ValueError, match=r"X must be a rectangular array, got a ragged sequence"):
        classifier().predict([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]])


def test_every_on_train_end_runs_even_when_an_on_train_begin_raises():
    ended = []

    class Recorder(Callback):
        def on_train_end(self, logs=None):
            ended.append(self)

    class Broken(Callback):
        def on_train_begin(self, logs=None):
            raise RuntimeError("broken callback")

    first, last = Recorder(), Recorder()
    with pytest.raises(RuntimeError, match="broken callback"):
        classifier().fit(*data(), epochs=1, verbose=0, callbacks=[first, Broken(), last])
    assert ended == [first]          # the one whose on_train_begin ran; the last never began


def test_an_on_train_end_that_raises_does_not_stop_the_others():
    ended = []

    class Broken(Callback):
        def on_train_end(self, logs=None):
            raise RuntimeError("broken at the end")

    class Recorder(Callback):
        def on_train_end(self, logs=None):
            ended.append(self)

    recorder = Recorder()
    with pytest.raises(RuntimeError, match="broken at the end"):
        classifier().fit(*data(), epochs=1, verbose=0, callbacks=[Broken(), recorder])
    assert ended == [recorder]


# -- fuzzing the two file readers -------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def model_file_bytes() -> bytes:
    model = Model([Dense(4, 6, rng=0), ReLU(), Dropout(0.5, rng=1), Dense(6, 3, rng=2), Softmax()],
                  loss=CategoricalCrossEntropy(), optimizer=Adam(0.01))
    model.fit(*data(), epochs=1, verbose=0, rng=0)
    with tempfile.TemporaryDirectory() as folder:
        save(model, Path(folder) / "valid.npz")
        return (Path(folder) / "valid.npz").read_bytes()


VALID_MODEL = model_file_bytes()


def rewritten_members(original: bytes, change) -> bytes:
    """The archive with ``change(members)`` applied to its {name: bytes} (extra, removed, nested)."""
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members = change(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def nested_record(members, depth):
    members["architecture.npy"] = record_bytes("[" * depth + "]" * depth)
    return members


member_changes = st.sampled_from([
    lambda m: m | {"9.weights.npy": next(iter(m.values()))},
    lambda m: {k: v for k, v in m.items() if k != "0.weights.npy"},
    lambda m: nested_record(m, 5000),
    lambda m: nested_record(m, 40),
    lambda m: m | {"0.weights.npy": m["0.weights.npy"][:60] + m["0.weights.npy"][60:].replace(
        b"(4, 6)", b"(9, 9)")},
    lambda m: m | {"0.weights.npy": m["0.weights.npy"].replace(b"(4, 6)", b"(400000, 600000)")},
    lambda m: m | {"2.state.rng.npy": m["2.state.rng.npy"].replace(b"<u8", b"|O")},
    lambda m: m | {"optimizer.0.weights.m.npy": m["optimizer.0.weights.m.npy"].replace(b"(4, 6)", b"(6, 4)")},
    lambda m: m | {"optimizer.0.step.npy": m["2.state.rng.npy"]},
])


def mutations(valid: bytes, specific):
    """Flipped bytes, truncations, overwritten runs of ``valid``, or the format-``specific`` changes."""
    flips = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1, max_size=8)
    return st.one_of(
        flips.map(lambda changes: _flipped(valid, changes)),
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=64)).map(
            lambda run: valid[:run[0]] + run[1] + valid[run[0] + len(run[1]):]),
        specific,
    )


def _flipped(valid: bytes, changes) -> bytes:
    data = bytearray(valid)
    for position, value in changes:
        data[position] = value
    return bytes(data)


def traced(function, *args):
    """(exception or None, peak traced bytes) of ``function(*args)``."""
    tracemalloc.start()
    try:
        function(*args)
        error = None
    except Exception as raised:   # noqa: BLE001 (its type is what the test checks)
        error = raised
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


@FUZZ
@given(content=mutations(VALID_MODEL, member_changes.map(lambda change: rewritten_members(VALID_MODEL, change))))
def test_a_mutated_model_file_raises_only_value_error_and_stays_small(tmp_path, content):
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(content)
    error, peak = traced(load, path)
    assert error is None or type(error) is ValueError, repr(error)
    assert peak < 64 * MiB


def idx_bytes(shape=(30, 28, 28), compress=False) -> bytes:
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(size.to_bytes(4, "big") for size in shape)
    raw = header + bytes(np.random.default_rng(0).integers(0, 256, int(np.prod(shape)), dtype=np.uint8))
    return gzip.compress(raw, mtime=0) if compress else raw


VALID_IDX = idx_bytes()
VALID_IDX_GZ = idx_bytes(compress=True)


IDX_ITEMSIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def declared_bytes(content: bytes) -> int:
    """How many bytes of data an IDX header promises, read as read_idx reads it (0 if unreadable)."""
    stream = gzip.GzipFile(fileobj=io.BytesIO(content)) if content[:2] == b"\x1f\x8b" else io.BytesIO(content)
    try:
        head = stream.read(4)
        sizes = stream.read(4 * head[3]) if len(head) == 4 else b""
    except Exception:   # noqa: BLE001 (a damaged gzip header promises nothing)
        return 0
    if len(head) < 4 or len(sizes) < 4 * head[3]:
        return 0
    count = np.prod([int.from_bytes(sizes[i:i + 4], "big") for i in range(0, len(sizes), 4)], dtype=object)
    return int(count) * IDX_ITEMSIZES.get(head[2], 0)


def idx_header_changes():
    """IDX files whose header declares other sizes, another type code or other dimensions, raw or gzip."""
    return st.builds(lambda code, shape, keep, gz: _idx_with_header(code, shape, keep, gz),
                     st.sampled_from([0x08, 0x0C, 0x0E, 0x07]),
                     st.lists(st.sampled_from([0, 1, 28, 30, 70000, 2**32 - 1]), max_size=4).map(tuple),
                     st.integers(0, 30 * 28 * 28), st.booleans())


def _idx_with_header(code: int, shape: tuple, keep: int, compress: bool) -> bytes:
    raw = bytes([0, 0, code, len(shape)]) + b"".join(size.to_bytes(4, "big") for size in shape) + VALID_IDX[16:16 + keep]
    return gzip.compress(raw, mtime=0) if compress else raw


@FUZZ
@given(content=st.one_of(mutations(VALID_IDX, idx_header_changes()), mutations(VALID_IDX_GZ, idx_header_changes())),
       max_bytes=st.sampled_from([MiB, 64 * MiB]))
def test_a_mutated_idx_file_raises_only_value_error_and_costs_no_more_than_it_declares(tmp_path, content, max_bytes):
    path = tmp_path / "fuzzed-idx"
    path.write_bytes(content)
    error, peak = traced(read_idx, path, None, max_bytes)
    assert error is None or type(error) is ValueError, repr(error)
    assert peak < min(declared_bytes(content), max_bytes) + 2 * MiB


def test_an_idx_header_promising_too_much_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x08, 3]) + (60000).to_bytes(4, "big") * 3, mtime=0))
    error, peak = traced(read_idx, path)
    assert isinstance(error, ValueError) and "more than max_bytes=67108864" in str(error)
    assert peak < MiB


def test_a_gzip_file_of_zeros_is_refused_for_its_magic_number_without_decompressing_it_all(tmp_path):
    path = tmp_path / "zeros.gz"
    path.write_bytes(gzip.compress(b"\x01" + bytes(256 * MiB - 1), mtime=0))
    assert path.stat().st_size < 300 * 1024
    error, peak = traced(read_idx, path, 0x00000803)
    assert isinstance(error, ValueError) and "magic number 0x01000000, expected 0x00000803" in str(error)
    assert peak < 2 * MiB
