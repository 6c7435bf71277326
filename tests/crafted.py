"""Files built by hand from the zip and npy formats' definitions, for the tests of crafted model files."""

import json
import struct
import zipfile

from dlfs.saving import FORMAT


def npy_bytes(dtype: str, shape: tuple, data: bytes = b"") -> bytes:
    """An .npy member: magic, version 1.0, a header declaring dtype and shape, then ``data``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def record_bytes(record) -> bytes:
    """An architecture member holding ``record`` as JSON (a str is taken as JSON text already)."""
    text = record if isinstance(record, str) else json.dumps(record)
    return npy_bytes(f"<U{len(text)}", (), text.encode("utf-32-le"))


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    """A zip archive at ``path`` of the members {name: bytes}, all stored with ``compression``."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def dense_record(n_inputs: int, n_neurons: int) -> dict:
    """The record of a model that is one float32 Dense(n_inputs, n_neurons), without loss or optimizer."""
    return {"format": FORMAT, "loss": None, "optimizer": None,
            "layers": [{"class": "dlfs.layers.Dense",
                        "config": {"n_inputs": n_inputs, "n_neurons": n_neurons, "init": "glorot",
                                   "dtype": "float32"}}]}
