"""dlfs.data: the IDX reader, the (offline-tested) MNIST download, the bundled 5,000 digits, the
stratified split, and the chapter's end-to-end training run. No test touches the network."""

import gzip
import hashlib
import io
import urllib.error
import urllib.request

import numpy as np
import pytest

from dlfs import CategoricalCrossEntropy, Dense, Model, ReLU, SGD, Softmax
from dlfs.data import (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MNIST_FILES, MNIST_SHA256, digit_splits,
                       download_mnist,
                       load_digits_5k, load_mnist, mnist_dir, one_hot, read_idx, read_idx_pair,
                       stratified_split)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file written independently of dlfs: header packed byte by byte, then the data."""
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim])
    for size in array.shape:
        header += bytes([(size >> shift) & 0xFF for shift in (24, 16, 8, 0)])
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


@pytest.fixture(scope="module")
def small_set():
    """Six 28 x 28 images (uint8) and their labels."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8)


@pytest.fixture(scope="module")
def digits():
    return load_digits_5k()


# The IDX reader ---------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_idx_round_trip(tmp_path, small_set, compress):
    images, labels = small_set
    pack = gzip.compress if compress else bytes
    suffix = ".gz" if compress else ""
    (tmp_path / f"img{suffix}").write_bytes(pack(idx_bytes(images)))
    (tmp_path / f"lab{suffix}").write_bytes(pack(idx_bytes(labels)))

    back = read_idx(tmp_path / f"img{suffix}", IDX_IMAGES_MAGIC)
    assert back.shape == (6, 28, 28) and back.dtype == np.uint8
    np.testing.assert_array_equal(back, images)

    X, y = read_idx_pair(tmp_path / f"img{suffix}", tmp_path / f"lab{suffix}")
    assert X.shape == (6, 784) and X.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [3, 1, 4, 1, 5, 9])
    np.testing.assert_allclose(X * 255, images.reshape(6, -1), atol=1e-4)
    assert X.min() >= 0 and X.max() <= 1


@pytest.mark.parametrize("type_code", [0x0B, 0x0D])
def test_idx_multibyte_types_are_big_endian(tmp_path, type_code):
    array = np.array([[1, -2, 300], [-30000, 5, -6]], dtype=np.float32 if type_code == 0x0D else np.int16)
    (tmp_path / "x").write_bytes(idx_bytes(array, type_code))
    back = read_idx(tmp_path / "x")
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("keep", [2, 10, -100], ids=["magic", "header", "data"])
def test_truncated_file(tmp_path, small_set, keep):
    (tmp_path / "img").write_bytes(idx_bytes(small_set[0])[:keep])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "img")


def test_truncated_gzip(tmp_path, small_set):
    data = gzip.compress(idx_bytes(small_set[0]))
    (tmp_path / "img.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged gzip"):
        read_idx(tmp_path / "img.gz")


def test_trailing_bytes(tmp_path, small_set):
    (tmp_path / "img").write_bytes(idx_bytes(small_set[0]) + b"\0")
    with pytest.raises(ValueError, match="beyond its data"):
        read_idx(tmp_path / "img")


def test_wrong_magic_number(tmp_path, small_set):
    images, labels = small_set
    (tmp_path / "img").write_bytes(idx_bytes(images))
    (tmp_path / "lab").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="0x00000801, expected 0x00000803"):
        read_idx_pair(tmp_path / "lab", tmp_path / "img")      # arguments swapped
    with pytest.raises(ValueError, match="expected 0x00000801"):
        read_idx(tmp_path / "img", IDX_LABELS_MAGIC)


def test_not_an_idx_file(tmp_path):
    (tmp_path / "page.html").write_bytes(b"<!DOCTYPE html><html></html>")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "page.html")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no IDX file"):
        read_idx(tmp_path / "nothing")


def test_count_mismatch(tmp_path, small_set):
    images, labels = small_set
    (tmp_path / "img").write_bytes(idx_bytes(images))
    (tmp_path / "lab").write_bytes(idx_bytes(labels[:5]))
    with pytest.raises(ValueError, match="6 images but .* 5 labels"):
        read_idx_pair(tmp_path / "img", tmp_path / "lab")


# Downloading, offline -------------------------------------------------------------------------

def serve(files: dict[str, bytes], requested: list[str]):
    """A stand-in for urllib.request.urlopen that answers from ``files`` by the URL's file name."""
    def urlopen(url, timeout=None):
        requested.append(url)
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return io.BytesIO(files[name])
    return urlopen


@pytest.fixture
def mnist_like(small_set):
    """Gzipped IDX files under the MNIST names (6 'training' and 6 'test' digits)."""
    images, labels = small_set
    pair = [gzip.compress(idx_bytes(images)), gzip.compress(idx_bytes(labels))]
    return dict(zip(MNIST_FILES, pair + pair))


def test_download_then_load(tmp_path, monkeypatch, mnist_like):
    requested = []
    monkeypatch.setattr(urllib.request, "urlopen", serve(mnist_like, requested))
    checksums = {name: hashlib.sha256(data).hexdigest() for name, data in mnist_like.items()}
    folder = download_mnist(tmp_path / "mnist", mirror="https://mirror.example/mnist", checksums=checksums)
    assert folder == tmp_path / "mnist"
    assert requested == [f"https://mirror.example/mnist/{name}" for name in MNIST_FILES]
    assert sorted(p.name for p in folder.iterdir()) == sorted(MNIST_FILES)     # no .part left over

    (X_train, y_train), (X_test, y_test) = load_mnist(folder)
    assert X_train.shape == X_test.shape == (6, 784) and X_train.dtype == np.float32
    np.testing.assert_array_equal(y_test, [3, 1, 4, 1, 5, 9])

    download_mnist(folder, mirror="https://mirror.example/mnist", checksums=checksums)
    assert len(requested) == 4, "files already present with the right checksum are fetched again"


def test_checksum_mismatch(tmp_path, monkeypatch, mnist_like):
    monkeypatch.setattr(urllib.request, "urlopen", serve(mnist_like, []))
    # The real MNIST checksums cannot match these little stand-in files.
    with pytest.raises(ValueError, match="SHA-256 .* expected " + MNIST_SHA256[MNIST_FILES[0]]):
        download_mnist(tmp_path, mirror="https://mirror.example/")
    assert list(tmp_path.iterdir()) == [], "a file that fails its checksum must not be saved"


def test_offline_gives_a_clear_connection_error(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="could not download") as info:
        download_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and all(name in message for name in MNIST_FILES)
    assert isinstance(info.value.__cause__, urllib.error.URLError)


def test_mirror_from_environment_and_file_urls(tmp_path, monkeypatch, mnist_like):
    served = tmp_path / "served"
    served.mkdir()
    for name, data in mnist_like.items():
        (served / name).write_bytes(data)
    checksums = {name: hashlib.sha256(data).hexdigest() for name, data in mnist_like.items()}
    monkeypatch.setenv("DLFS_MNIST_MIRROR", served.as_uri())
    folder = download_mnist(tmp_path / "cache", checksums=checksums)
    assert all((folder / name).read_bytes() == mnist_like[name] for name in MNIST_FILES)


def test_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DLFS_DATA", str(tmp_path))
    assert mnist_dir() == tmp_path / "mnist"
    assert mnist_dir(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.delenv("DLFS_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert mnist_dir() == tmp_path / "cache" / "dlfs" / "mnist"


def test_load_mnist_reads_unpacked_files_and_names_a_missing_one(tmp_path, mnist_like):
    for name, data in mnist_like.items():
        (tmp_path / name.removesuffix(".gz")).write_bytes(gzip.decompress(data))
    (_, y_train), _ = load_mnist(tmp_path)
    np.testing.assert_array_equal(y_train, [3, 1, 4, 1, 5, 9])
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz is not in"):
        load_mnist(tmp_path)


# The bundled digits, the split, one-hot ---------------------------------------------------------

def test_digits_5k(digits):
    X, y = digits
    assert X.shape == (5000, 784) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)
    # Real digits: mostly background with some ink. A 1 has less ink than an 8 on average.
    assert 0.05 < X.mean() < 0.25
    assert X[y == 1].mean() < X[y == 8].mean()


def test_stratified_split(digits):
    X, y = digits
    (X_train, y_train), (X_test, y_test) = stratified_split(X, y, test_fraction=0.2, rng=7)
    assert X_train.shape == (4000, 784) and X_test.shape == (1000, 784)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)

    # Disjoint and complete: every original row lands in exactly one part, with its label.
    def keys(images):
        return {row.tobytes() for row in images}
    assert not keys(X_train) & keys(X_test)
    assert keys(X_train) | keys(X_test) == keys(X)
    label_of = {row.tobytes(): label for row, label in zip(X, y)}
    assert all(label_of[row.tobytes()] == label for row, label in zip(X_test, y_test))

    # Shuffled, not sorted by class like the source.
    assert np.any(np.diff(y_test) < 0)

    # Deterministic for a seed, different for another.
    (_, again), _ = stratified_split(X, y, test_fraction=0.2, rng=7)
    np.testing.assert_array_equal(again, y_train)
    (_, other), _ = stratified_split(X, y, test_fraction=0.2, rng=8)
    assert not np.array_equal(other, y_train)


@pytest.mark.parametrize("y, fraction, message", [
    (np.zeros((4, 1), dtype=int), 0.5, "1-D array of integer labels"),
    (np.array([0.0, 1.0, 0.0, 1.0]), 0.5, "1-D array of integer labels"),
    (np.array([0, 1, 0]), 0.5, "X has 4 rows but y has 3"),
    (np.array([0, 0, 1, 1]), 1.0, "test_fraction must be between 0 and 1"),
    (np.array([0, 0, 0, 1]), 0.5, "class 1 has 1 examples"),
])
def test_stratified_split_rejects_bad_input(y, fraction, message):
    with pytest.raises(ValueError, match=message):
        stratified_split(np.zeros((4, 2)), y, test_fraction=fraction, rng=0)


def check_digit_splits(make_splits):
    """Assert that ``make_splits()`` returns the book's split of the 5,000 digits: three parts of
    3,200 / 800 / 1,000, stratified (320 / 80 / 100 per class), float32 in [0, 1], no digit (row of
    X) in two parts, every digit of the 5,000 in one part with its own label, and the same parts on
    a second call."""
    X_all, y_all = load_digits_5k()
    label_of = {row.tobytes(): label for row, label in zip(X_all, y_all)}
    parts = make_splits()
    assert len(parts) == 3
    rows = []
    for (X, y), n, per_class in zip(parts, (3200, 800, 1000), (320, 80, 100)):
        assert X.shape == (n, 784) and X.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [per_class] * 10)
        keys = [row.tobytes() for row in X]
        assert len(set(keys)) == n, "a digit appears twice in one part"
        assert all(label_of.get(key) == label for key, label in zip(keys, y)), "not the digits' labels"
        rows.append(set(keys))
    train, validation, test = rows
    assert not train & validation, "a training digit is also a validation digit"
    assert not train & test, "a training digit is also a test digit"
    assert not validation & test, "a validation digit is also a test digit"
    assert train | validation | test == set(label_of)
    for (X, y), (X_again, y_again) in zip(parts, make_splits()):
        np.testing.assert_array_equal(X, X_again)
        np.testing.assert_array_equal(y, y_again)


def test_digit_splits():
    check_digit_splits(digit_splits)


def _validation_reused_as_test():
    """Wrong: the test set is the 800 validation digits again and 20 test digits per class (sizes
    and class counts are right, so only the disjointness check can catch it)."""
    train, (X_val, y_val), (X_te, y_te) = digit_splits()
    extra = np.concatenate([np.flatnonzero(y_te == label)[:20] for label in range(10)])
    return train, (X_val, y_val), (np.concatenate([X_val, X_te[extra]]),
                                   np.concatenate([y_val, y_te[extra]]))


def _unstratified():
    """Wrong: a plain random permutation cut 3,200 / 800 / 1,000 (classes not in proportion)."""
    X, y = load_digits_5k()
    order = np.random.default_rng(0).permutation(len(y))
    return tuple((X[rows], y[rows]) for rows in np.split(order, [3200, 4000]))


def _a_new_split_every_call(calls=iter(range(1000))):
    """Wrong: stratified, but drawn with a new seed on every call."""
    X, y = load_digits_5k()
    seed = next(calls)
    rest, test = stratified_split(X, y, test_fraction=0.2, rng=seed)
    return (*stratified_split(*rest, test_fraction=0.2, rng=seed), test)


def _grey_levels():
    """Wrong: pixels as grey levels 0..255 instead of [0, 1]."""
    return tuple((X * np.float32(255), y) for X, y in digit_splits())


@pytest.mark.parametrize("wrong, message", [
    (_validation_reused_as_test, "a validation digit is also a test digit"),
    (_unstratified, "Arrays are not equal"),
    (_a_new_split_every_call, "Arrays are not equal"),
    (_grey_levels, "<= 1.0"),
])
def test_check_digit_splits_catches_wrong_splits(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_digit_splits(wrong)


def test_one_hot():
    encoded = one_hot(np.array([2, 0, 1]), 4)
    expected = np.eye(4, dtype=np.float32)[[2, 0, 1]]
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, expected)
    with pytest.raises(ValueError, match="labels from 0 to 3"):
        one_hot(np.array([4]), 4)


@pytest.mark.parametrize("n_classes", [2.0, 0, -3, True, "10", None])
def test_one_hot_names_a_bad_number_of_classes(n_classes):
    with pytest.raises(ValueError, match=r"n_classes must be a positive integer, got "):
        one_hot(np.array([0, 1]), n_classes)


# End to end ----------------------------------------------------------------------------------

def test_the_chapter_network_reaches_93_percent():
    """The network and settings of the MNIST chapter, trained on the 3,200 training digits and
    measured on the 800 validation digits (the test digits are the chapters' to read)."""
    (X_train, y_train), (X_val, y_val), _ = digit_splits()
    rng = np.random.default_rng(0)
    model = Model([Dense(784, 128, init="he", rng=rng), ReLU(),
                   Dense(128, 64, init="he", rng=rng), ReLU(),
                   Dense(64, 10, init="glorot", rng=rng), Softmax()],
                  CategoricalCrossEntropy(), SGD(learning_rate=0.1, momentum=0.9))
    model.fit(X_train, y_train, epochs=25, batch_size=64, rng=0, verbose=0)
    predicted = model.predict(X_val).argmax(axis=1)
    assert np.mean(predicted == y_val) >= 0.93
