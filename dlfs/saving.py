"""The model file. save(model, path) writes a NumPy .npz archive of plain arrays and one JSON
record of the classes; load(path) reads it.

Generated from chapters/06-training-loop.md, chapters/b-robustness.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['FORMAT', 'save', 'load', 'MAX_RECORD_BYTES', 'MAX_RECORD_DEPTH']

# %% chapters/06-training-loop.md cell 32
# dlfs.saving: the model file. save(model, path) writes a NumPy .npz archive
# of plain arrays and one JSON record of the classes; load(path) reads it.
import json
import sys

import numpy as np

from dlfs.layers import Layer
from dlfs.losses import Loss
from dlfs.model import Model
from dlfs.optimizers import Optimizer

FORMAT = "dlfs.saving/1"


def _spec(obj) -> dict | None:
    """An object's class and constructor arguments, for the record."""
    if obj is None:
        return None
    return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "config": obj.get_config()}


def _record(model: Model) -> dict:
    """The record: the format, and each object's class and config."""
    return {"format": FORMAT,
            "layers": [_spec(layer) for layer in model.layers],
            "loss": _spec(model.loss), "optimizer": _spec(model.optimizer)}


def _arrays(model: Model) -> dict[str, np.ndarray]:
    """The model's state_dict(), and its optimizer's under "optimizer."."""
    arrays = model.state_dict()
    if model.optimizer is not None:
        state = model.optimizer.state_dict(model.layers)
        arrays |= {f"optimizer.{key}": value for key, value in state.items()}
    return arrays


# %% chapters/b-robustness.md cell 38
def save(model: Model, path) -> None:
    """Write ``model`` to ``path`` (.npz: its arrays and the JSON record),
    once ``load`` is known to be able to rebuild it; else write nothing."""
    _check_rebuilds(model)
    text, arrays = json.dumps(_record(model)), _arrays(model)
    with open(path, "wb") as file:
        np.savez(file, architecture=np.array(text), **arrays)


# %% chapters/06-training-loop.md cell 33
def _find_class(name: str, base: type, custom_objects: dict) -> type:
    """``custom_objects[short name]``, else dlfs's own ``base`` subclass
    of that full name ("dlfs.layers.Dense")."""
    module, _, short = name.rpartition(".")
    if short in custom_objects:
        return custom_objects[short]
    found = getattr(sys.modules.get(module), short, None)
    if (module.startswith("dlfs.") and isinstance(found, type)
            and issubclass(found, base) and found.__module__ == module):
        return found
    raise ValueError(
        f"the record names the {base.__name__} class {name!r}, which is not "
        f"one of dlfs's; if you trust the file, pass the class: "
        f"load(path, custom_objects={{{short!r}: {short}}})")


# %% chapters/b-robustness.md cell 34
def _build(spec, base: type, custom_objects: dict, where: str = "the record",
           shapes: dict | None = None):
    """4. The object a record describes, or None; a layer whose class says
    its ``array_shapes(config)`` only once ``shapes`` (the file's) match."""
    if spec is None:
        return None
    if not (isinstance(spec, dict) and isinstance(spec.get("class"), str)
            and isinstance(spec.get("config"), dict)):
        raise ValueError(f"{where}: expected {{'class': ..., 'config': "
                         f"{{...}}}}, got {describe(spec)}")
    try:
        cls = _find_class(spec["class"], base, custom_objects)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        short = spec["class"].rpartition(".")[2]
        raise TypeError(f"custom_objects[{short!r}] must be a {base.__name__} "
                        f"subclass, got {cls!r}")
    name, config = f"{where} ({cls.__name__})", spec["config"]
    if shapes is not None and hasattr(cls, "array_shapes"):
        try:
            needed = cls.array_shapes(config)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{name}: its config is not valid "
                             f"({error!r})") from None
        for key, shape in needed.items():
            if shapes.get(key) != shape:
                raise ValueError(f"{name} needs {key} of shape {shape}, the "
                                 f"file holds {shapes.get(key, 'none')}")
    try:
        return cls(**config)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{name} cannot be rebuilt from its record: "
                         f"{error}") from None


def _restore(model: Model, arrays: dict[str, np.ndarray]) -> None:
    """Copy a file's arrays into ``model`` and its optimizer."""
    ours = {k: v for k, v in arrays.items() if not k.startswith("optimizer.")}
    theirs = {k.removeprefix("optimizer."): v for k, v in arrays.items()
              if k not in ours}
    if theirs and model.optimizer is None:
        raise ValueError(
            "the file holds an optimizer's state but no optimizer")
    model.load_state_dict(ours)
    if model.optimizer is not None:
        model.optimizer.load_state_dict(model.layers, theirs)


# %% chapters/b-robustness.md cell 36
def load(path, custom_objects: dict | None = None) -> Model:
    """The model that ``save`` wrote to ``path``, with every array in place.

    Classes that are not dlfs's own load only when named in
    ``custom_objects``: ``load(path, custom_objects={"Scale": Scale})``.
    A file that is not such a model, crafted or damaged, is a ValueError
    naming the file, found before it costs more memory than its size.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            size = path.stat().st_size
            return _load_checked(archive, size, custom_objects or {})
    except (zipfile.BadZipFile, EOFError, OSError,
            NotImplementedError) as error:       # "zip file version 6.4"
        raise ValueError(f"{path}: not a .npz archive ({error})") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


# %% chapters/b-robustness.md cell 29
import math
import zipfile
from pathlib import Path

from dlfs.validation import describe

MAX_RECORD_BYTES = 1 << 20      # the architecture record: at most 1 MiB ...
MAX_RECORD_DEPTH = 32           # ... and 32 levels of JSON nesting


def _members(archive: zipfile.ZipFile, file_size: int) -> dict:
    """1. The members by array name, from the zip directory alone: each a
    NAME.npy, once, stored uncompressed and ending inside the file."""
    members = {}
    for info in archive.infolist():
        key = info.filename.removesuffix(".npy")
        if key == info.filename or key in members:
            raise ValueError(f"the member {info.filename!r} is not NAME.npy, "
                             f"or it appears twice")
        if (info.compress_type != zipfile.ZIP_STORED
                or info.compress_size != info.file_size):
            raise ValueError(f"the member {info.filename} is compressed: "
                             f"model files hold uncompressed arrays only")
        if info.header_offset + info.file_size > file_size:
            raise ValueError(
                f"truncated: {info.filename} ends beyond the file")
        members[key] = info
    if "architecture" not in members:
        raise ValueError("no architecture record: not a file written by save")
    return members


# %% chapters/b-robustness.md cell 31
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple:
    """2. (shape, dtype, start of the data) from a member's npy header,
    checked against the member's size. No data are read."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            shape, fortran_order, dtype = _NPY_HEADERS[version](member)
            offset = member.tell()
    except Exception as error:   # noqa: BLE001 (any failure: the file's fault)
        raise ValueError(f"{info.filename} is not a plain .npy array "
                         f"({error!r})") from None
    if dtype.hasobject or fortran_order or dtype.kind not in "biufU":
        raise ValueError(f"{info.filename} has the dtype {dtype}: "
                         f"save writes plain numbers only")
    declared = math.prod(shape) * dtype.itemsize
    if offset + declared != info.file_size:
        raise ValueError(f"{info.filename}: its header declares {dtype} of "
                         f"shape {shape} ({declared:,} bytes), the member "
                         f"holds {info.file_size - offset:,}")
    return shape, dtype, offset


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, header):
    """The array (np.ndarray) of a member whose header has been checked."""
    shape, dtype, offset = header
    try:
        with archive.open(info) as member:
            member.seek(offset)
            data = member.read()
    except Exception as error:   # noqa: BLE001 (a damaged archive)
        raise ValueError(f"{info.filename} cannot be read "
                         f"({error!r})") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape)


# %% chapters/b-robustness.md cell 33
def _read_record(archive: zipfile.ZipFile, members: dict, headers: dict):
    """3. The architecture record: a string of at most MAX_RECORD_BYTES,
    JSON at most MAX_RECORD_DEPTH deep, in this dlfs's FORMAT: a dict."""
    shape, dtype, _ = headers["architecture"]
    if dtype.kind != "U" or shape != ():
        raise ValueError(f"its architecture record must be a string, "
                         f"got {dtype} of shape {shape}")
    if members["architecture"].file_size > MAX_RECORD_BYTES:
        raise ValueError(f"its architecture record is larger than "
                         f"{MAX_RECORD_BYTES} bytes")
    text = _read(archive, members["architecture"], headers["architecture"])
    try:
        record = json.loads(str(text))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"its architecture record is not valid JSON "
                         f"({type(error).__name__})") from None
    if _depth(record) > MAX_RECORD_DEPTH:
        raise ValueError(f"its architecture record nests deeper than "
                         f"{MAX_RECORD_DEPTH} levels")
    found = record.get("format") if isinstance(record, dict) else None
    if found != FORMAT:
        raise ValueError(f"its architecture record is in the format "
                         f"{found!r}; this dlfs reads {FORMAT}")
    return record


def _depth(value) -> int:
    """How deeply lists and dicts nest in a parsed JSON value (0: neither)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            todo += [(child, depth + 1) for child in children]
    return deepest


# %% chapters/b-robustness.md cell 36
def _check_headers(model: Model, headers: dict) -> None:
    """5. The file holds the model's arrays, and no others, each of the
    model's shape and dtype: the headers tell, before any data are read."""
    want = {key: (a.shape, a.dtype) for key, a in model.state_dict().items()}
    have = {key: header[:2] for key, header in headers.items()
            if key != "architecture" and not key.startswith("optimizer.")}
    if want.keys() != have.keys():
        raise ValueError(f"expected the arrays {sorted(want)}, "
                         f"found {sorted(have)}")
    for key, (shape, dtype) in want.items():
        if have[key] != (shape, dtype):
            raise ValueError(f"{key} is {have[key][1]} of shape "
                             f"{have[key][0]} in the file, {dtype} of shape "
                             f"{shape} here")


def _load_checked(archive: zipfile.ZipFile, size: int, custom_objects: dict):
    """The Model in ``archive``: steps 1 to 6, each made cheap by the ones
    before it."""
    members = _members(archive, size)
    headers = {key: _header(archive, info) for key, info in members.items()}
    record = _read_record(archive, members, headers)
    if not isinstance(record.get("layers"), list):
        raise ValueError(f"the record's layers must be a list, "
                         f"got {describe(record.get('layers'))}")
    layers = []
    for i, spec in enumerate(record["layers"]):
        prefix = f"{i}."
        shapes = {key.removeprefix(prefix): header[0]
                  for key, header in headers.items() if key.startswith(prefix)}
        layers.append(_build(spec, Layer, custom_objects, f"layer {i}",
                             shapes))
    loss = _build(record.get("loss"), Loss, custom_objects, "the loss")
    optimizer = _build(record.get("optimizer"), Optimizer, custom_objects,
                       "the optimizer")
    try:
        model = Model(layers, loss, optimizer)
    except (TypeError, ValueError) as error:
        raise ValueError(f"its layers do not make a model: {error}") from None
    _check_headers(model, headers)
    del headers["architecture"]
    _restore(model, {key: _read(archive, members[key], header)
                     for key, header in headers.items()})
    return model


# %% chapters/b-robustness.md cell 38
def _check_rebuilds(model: Model) -> None:
    """Refuse an object that ``load`` could not rebuild: one for which
    ``type(obj)(**obj.get_config())`` fails."""
    parts = [(f"layer {i}", layer) for i, layer in enumerate(model.layers)]
    parts += [("the loss", model.loss), ("the optimizer", model.optimizer)]
    for where, obj in parts:
        if obj is None:
            continue
        name = type(obj).__name__
        try:
            type(obj)(**obj.get_config())
        except Exception as error:   # noqa: BLE001 (load would fail alike)
            raise ValueError(
                f"{where} ({name}) cannot be saved: {name}(**get_config()) "
                f"fails ({error!r}); give {name} a get_config() that returns "
                f"its constructor's arguments") from None
