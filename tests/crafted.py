"""Files built by hand from the npy format's definition, for the tests of crafted model files."""

import json
import struct


def npy_bytes(dtype: str, shape: tuple, data: bytes = b"") -> bytes:
    """An .npy member: magic, version 1.0, a header declaring dtype and shape, then ``data``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def record_bytes(record) -> bytes:
    """An architecture member holding ``record`` as JSON (a str is taken as JSON text already)."""
    text = record if isinstance(record, str) else json.dumps(record)
    return npy_bytes(f"<U{len(text)}", (), text.encode("utf-32-le"))
