"""The model file format (internal); Model.save, Model.load and Model.load_weights call it.

Generated from chapters/06-training-loop.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['ModelFiles', 'MODEL_FORMAT', 'OLDER_FORMATS', 'MAX_RECORD_BYTES', 'MAX_RECORD_DEPTH', 'NPY_READERS', 'spec_of', 'architecture', 'model_arrays', 'save_model', 'ModelFile', 'json_depth', 'resolve', 'build', 'construct', 'rebuild', 'build_layer', 'load_model', 'copy_arrays_in', 'array_difference', 'optimizer_state', 'load_weights_into', 'short_name', 'summary', 'layer_difference', 'set_parameters']

# %% chapters/06-training-loop.md cell 10
# dlfs._saving: the model file format (internal); Model.save, Model.load and Model.load_weights call it.
import copy
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from dlfs._guards import describe, finite
from dlfs.layers import Layer
from dlfs.losses import Loss
from dlfs.optimizers import Optimizer


class ModelFiles:
    """The weights and files of a model: ``get_weights``, ``set_weights``, ``save``, ``load`` and
    ``load_weights``. ``Model`` inherits them; they read ``self.layers``, ``self.loss`` and
    ``self.optimizer``."""

    # %% chapters/06-training-loop.md cell 17
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter array, layer by layer."""
        return [param.copy() for layer in self.layers for param in layer.parameters().values()]

    # %% chapters/06-training-loop.md cell 17
    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the layers, all checked first."""
        set_parameters(self, weights)

    # %% chapters/06-training-loop.md cell 35
    def save(self, path) -> None:
        """Write the model to ``path``: architecture, weights, layer states and optimizer state (.npz, no pickle)."""
        save_model(self, path)

    # %% chapters/06-training-loop.md cell 35
    @classmethod
    def load(cls, path, custom_objects: dict | None = None) -> "ModelFiles":
        """Rebuild a model saved with ``save``: its layers, loss, optimizer and every array.

        Classes that are not dlfs's own load only when named in ``custom_objects``, as in Keras:
        ``Model.load(path, custom_objects={"Scale": Scale})``.
        """
        return load_model(cls, path, custom_objects)

    # %% chapters/06-training-loop.md cell 35
    def load_weights(self, path) -> None:
        """Load the weights and layer states saved by ``save`` into this model, built with the same layers.

        What must match is what the weights depend on: the layer classes, in order, and the name,
        shape and dtype of every array. Settings that only chose the starting weights (Dense's
        ``init``) may differ; the file's optimizer state is not used.
        """
        load_weights_into(self, path)


# %% chapters/06-training-loop.md cell 36
MODEL_FORMAT = "dlfs.Model/3"      # /3 adds the optimizer and qualified class names
OLDER_FORMATS = ("dlfs.Model/1", "dlfs.Model/2")   # still load, without an optimizer
MAX_RECORD_BYTES = 1 << 20         # the architecture record is at most 1 MiB ...
MAX_RECORD_DEPTH = 32              # ... and 32 levels of JSON nesting
NPY_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def spec_of(obj) -> dict | None:
    """An object's class (module and name) and constructor arguments, for the architecture record."""
    cls = type(obj)
    return None if obj is None else {"class": f"{cls.__module__}.{cls.__qualname__}", "config": obj.get_config()}


def architecture(model) -> dict:
    """A JSON-ready description of the layers, the loss and the optimizer (no arrays)."""
    return {"format": MODEL_FORMAT, "layers": [spec_of(layer) for layer in model.layers],
            "loss": spec_of(model.loss), "optimizer": spec_of(model.optimizer)}


def model_arrays(model, with_optimizer: bool = True) -> dict[str, np.ndarray]:
    """Every array a file holds, by key: "layer0.weights", "layer3.state.rng", and the optimizer's
    "layer0.optimizer.step", "layer0.optimizer.weights.m", ..."""
    arrays = {}
    for i, layer in enumerate(model.layers):
        arrays |= {f"layer{i}.{name}": array for name, array in layer.parameters().items()}
        arrays |= {f"layer{i}.state.{name}": array for name, array in layer.state().items()}
        slots = model.optimizer.state.get(layer, {}) if with_optimizer and model.optimizer else {}
        for name, value in slots.items():
            if name == "step":
                arrays[f"layer{i}.optimizer.step"] = np.array(value, dtype=np.int64)
            else:
                arrays |= {f"layer{i}.optimizer.{name}.{slot}": array for slot, array in value.items()}
    return arrays


def save_model(model, path) -> None:
    """Write ``model`` to ``path``: an uncompressed .npz archive of plain arrays and one JSON string."""
    arrays = model_arrays(model) | {"architecture": np.array(json.dumps(architecture(model)))}
    with open(path, "wb") as file:
        np.savez(file, **arrays)


# %% chapters/06-training-loop.md cell 37
class ModelFile:
    """A file written by ``save_model``, opened so that a crafted file stays cheap to refuse.

    Opening checks the member names, that every member is stored uncompressed (so no array can be
    larger than the file), every member's npy header against its size, and reads the architecture
    record (at most ``MAX_RECORD_BYTES``, ``MAX_RECORD_DEPTH`` levels). No array data is read
    until ``read(key)``, which callers use only after the header matched what they expect.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no model file at {self.path}")
        if not zipfile.is_zipfile(self.path):
            raise self.error("not a .npz archive (truncated, or not written by Model.save)")
        self.extra: dict[str, np.ndarray] = {}       # arrays an older format kept in its record
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise self.error(f"not a readable .npz archive ({error})") from None
        try:
            self.members = self._members()
            self.headers = {key: self._header(info) for key, info in self.members.items()}
            self.architecture = self._record()
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self) -> "ModelFile":
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def error(self, message: str) -> ValueError:
        """A ValueError that names the file."""
        return ValueError(f"{self.path}: {message}")

    # %% chapters/06-training-loop.md cell 38
    def _members(self) -> dict[str, zipfile.ZipInfo]:
        """The archive's members by array name, each checked to be an uncompressed NAME.npy inside the file."""
        members, size = {}, self.path.stat().st_size
        for info in self.zip.infolist():
            key = info.filename.removesuffix(".npy")
            if key == info.filename or key in members:
                raise self.error(f"the member {info.filename!r} is not NAME.npy, or it appears twice")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                raise self.error(f"the member {info.filename} is compressed: model files hold "
                                 "uncompressed arrays only, as np.savez writes them")
            if info.header_offset + info.file_size > size:
                raise self.error(f"truncated: {info.filename} ends beyond the end of the file")
            members[key] = info
        if "architecture" not in members:
            raise self.error("no architecture record: not a file written by Model.save")
        return members

    # %% chapters/06-training-loop.md cell 39
    def _header(self, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype, int]:
        """(shape, dtype, offset of the data) from a member's npy header, checked against its size."""
        try:
            with self.zip.open(info) as member:
                read_header = NPY_READERS.get(np.lib.format.read_magic(member))
                if read_header is None:
                    raise ValueError("unknown npy version")
                shape, fortran_order, dtype = read_header(member)
                offset = member.tell()
        except Exception as error:        # noqa: BLE001 (any failure to parse a header is the file's fault)
            raise self.error(f"{info.filename} is not a plain .npy array ({error})") from None
        if dtype.hasobject or fortran_order or dtype.kind not in "biufU":
            raise self.error(f"{info.filename} has the dtype {dtype}: Model.save writes plain numbers only")
        declared = math.prod(shape) * dtype.itemsize
        if offset + declared != info.file_size:
            raise self.error(f"{info.filename}: its header declares {dtype} of shape {shape} "
                             f"({declared} bytes) but it holds {info.file_size - offset}")
        return shape, dtype, offset

    # %% chapters/06-training-loop.md cell 39
    def read(self, key: str) -> np.ndarray:
        """The array ``key``, read now (its header was checked when the file was opened)."""
        if key in self.extra:
            return self.extra[key]
        shape, dtype, offset = self.headers[key]
        try:
            with self.zip.open(self.members[key]) as member:
                member.seek(offset)
                data = member.read()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise self.error(f"{key} cannot be read ({error})") from None
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    # %% chapters/06-training-loop.md cell 40
    def _record(self) -> dict:
        """The architecture record, within the size and depth limits, in a format this dlfs reads."""
        shape, dtype, _ = self.headers["architecture"]
        if dtype.kind != "U" or shape != ():
            raise self.error(f"its architecture record must be a string, got {dtype} of shape {shape}")
        if self.members["architecture"].file_size > MAX_RECORD_BYTES:
            raise self.error(f"its architecture record is larger than {MAX_RECORD_BYTES} bytes")
        try:
            architecture = json.loads(str(self.read("architecture")))
        except (json.JSONDecodeError, RecursionError) as error:
            raise self.error(f"its architecture record is not valid JSON ({type(error).__name__})") from None
        if json_depth(architecture) > MAX_RECORD_DEPTH:
            raise self.error(f"its architecture record nests deeper than {MAX_RECORD_DEPTH} levels")
        found = architecture.get("format") if isinstance(architecture, dict) else None
        if found not in (MODEL_FORMAT, *OLDER_FORMATS):
            raise self.error(f"its architecture record is in the format {found!r}; this dlfs reads {MODEL_FORMAT} "
                             f"and the older {' and '.join(OLDER_FORMATS)} (written by a newer dlfs?)")
        return architecture


# %% chapters/06-training-loop.md cell 40
def json_depth(value) -> int:
    """How deeply lists and dicts nest in a parsed JSON value (0 for a number or string)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            todo += [(child, depth + 1) for child in children]
    return deepest


# %% chapters/06-training-loop.md cell 41
def resolve(name, base: type, custom_objects: dict) -> type:
    """The class a record names: dlfs's own, or one the caller passed in ``custom_objects``.

    A class of the same name defined elsewhere (a user's ``ReLU``) is never picked by itself.
    """
    if not isinstance(name, str):
        raise ValueError(f"a class in the record must be named by a string, got {describe(name)}")
    short = name.rpartition(".")[2]
    chosen = custom_objects.get(name, custom_objects.get(short))
    if chosen is not None:
        if not (isinstance(chosen, type) and issubclass(chosen, base)):
            raise TypeError(f"custom_objects[{short!r}] must be a {base.__name__} subclass, got {chosen!r}")
        return chosen
    own = {key: cls for key, cls in base.registry.items() if key.startswith("dlfs.")}
    if name in own:
        return own[name]
    older = [cls for key, cls in own.items() if "." not in name and key.rpartition(".")[2] == name]
    if older:                                   # dlfs.Model/1 and /2 records named dlfs's classes bare
        return older[0]
    raise ValueError(f"the record names the {base.__name__} class {name!r}, which is not one of dlfs's; if you "
                     f"trust the file, pass the class: Model.load(path, custom_objects={{{short!r}: {short}}})")


def build(spec, base: type, custom_objects: dict, where: str, older: bool):
    """The object a record describes (None for None), built from its class and config."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ValueError(f"{where}: expected a record {{'class': ..., 'config': {{...}}}}, got {describe(spec)}")
    try:
        cls, config = resolve(spec.get("class"), base, custom_objects), dict(spec["config"])
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    if older and "eps" in config:               # renamed epsilon in dlfs.Model/3
        config["epsilon"] = config.pop("eps")
    return cls, config


def construct(cls: type, config: dict, where: str):
    """``cls(**config)``; a record whose config does not fit the class is the file's error."""
    try:
        return cls(**config)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{where} ({cls.__name__}) cannot be rebuilt from its record: {error}") from None


def rebuild(spec, base: type, custom_objects: dict, where: str, older: bool):
    """The loss or optimizer a record describes, or None."""
    found = build(spec, base, custom_objects, where, older)
    return None if found is None else construct(*found, where)


# %% chapters/06-training-loop.md cell 42
def build_layer(spec, i: int, file: ModelFile, custom_objects: dict, older: bool) -> Layer:
    """Layer ``i`` of the record, built only after the file's arrays are known to have its shapes.

    A layer class that allocates arrays from its config says their shapes without building
    anything: ``array_shapes(config)``, keyed as the file names them after "layer{i}."
    ("weights", "state.running_mean"). Without it, the layer is built first.
    """
    where = f"{file.path}: layer {i}"
    cls, config = build(spec, Layer, custom_objects, where, older)
    rng_state = config.pop("rng_state", None) if older else None    # dlfs.Model/1 kept it in the config
    array_shapes = getattr(cls, "array_shapes", None)
    if array_shapes is not None:                # allocate nothing the file does not hold
        try:
            expected = array_shapes(config)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where} ({cls.__name__}): its config is not valid ({error!r})") from None
        for name, shape in expected.items():
            found = file.headers.get(f"layer{i}.{name}", (None,))[0]
            if found != shape:
                raise ValueError(f"{where} ({cls.__name__}) needs {name} of shape {shape}, the file holds "
                                 f"{'none' if found is None else found}")
    layer = construct(cls, config, where)
    if rng_state is not None:
        try:
            layer.rng.bit_generator.state = rng_state
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"{where}: its generator state is not valid ({error!r})") from None
        file.extra |= {f"layer{i}.state.{name}": array for name, array in layer.state().items()}
    return layer


def load_model(model_class: type, path, custom_objects: dict | None = None):
    """A ``model_class`` rebuilt from a file written by ``save_model``, with every array in place."""
    custom_objects = dict(custom_objects or {})
    with ModelFile(path) as file:
        record, older = file.architecture, file.architecture["format"] in OLDER_FORMATS
        if not isinstance(record.get("layers"), list):
            raise file.error(f"the record's layers must be a list, got {describe(record.get('layers'))}")
        layers = [build_layer(spec, i, file, custom_objects, older) for i, spec in enumerate(record["layers"])]
        loss = rebuild(record.get("loss"), Loss, custom_objects, f"{file.path}: the loss", older)
        optimizer = rebuild(record.get("optimizer"), Optimizer, custom_objects, f"{file.path}: the optimizer", older)
        model = model_class(layers, loss, optimizer)
        copy_arrays_in(model, file, with_optimizer=True)
    return model


# %% chapters/06-training-loop.md cell 43
def copy_arrays_in(model, file: ModelFile, with_optimizer: bool) -> None:
    """Check every array the model needs against the file's headers, read and check each, then copy
    them all in (and the optimizer's state): a refused file changes nothing."""
    expected = model_arrays(model, with_optimizer=False)
    found = {key for key in file.headers.keys() | file.extra.keys()
             if key != "architecture" and ".optimizer." not in key}
    if found != set(expected):
        raise file.error(f"expected the arrays {sorted(expected)}, found {sorted(found)}")
    difference = array_difference(file, expected)
    if difference:
        raise file.error(difference)
    values = {key: finite(model, key, file.read(key), array.dtype, f"{file.path}: ") for key, array in expected.items()}
    slots = optimizer_state(model, file) if with_optimizer else {}
    states = {i: {key.partition(".state.")[2]: value for key, value in values.items()
                  if key.startswith(f"layer{i}.state.")} for i, layer in enumerate(model.layers) if layer.state()}
    for i, state in states.items():                 # a state the layer refuses must change nothing
        try:
            copy.deepcopy(model.layers[i]).set_state(state)
        except (TypeError, ValueError, OverflowError) as error:
            raise file.error(f"layer {i} ({type(model.layers[i]).__name__}) refuses its state arrays: {error}") from None
    for i, layer in enumerate(model.layers):
        for name, param in layer.parameters().items():
            param[...] = values[f"layer{i}.{name}"]
        if i in states:
            layer.set_state(states[i])
        if i in slots:
            model.optimizer.state[layer] = slots[i]


def array_difference(file: ModelFile, expected: dict[str, np.ndarray]) -> str | None:
    """The first array whose name, shape or dtype differs between a file and a model, or None."""
    shapes = {key: header[:2] for key, header in file.headers.items()} | {
        key: (array.shape, array.dtype) for key, array in file.extra.items()}
    for key, array in expected.items():
        if key not in shapes:
            return f"{key} only in the model, not in the file"
        shape, dtype = shapes[key]
        if shape != array.shape or dtype != array.dtype:
            return f"{key} is {dtype} of shape {shape} in the file, {array.dtype} of shape {array.shape} here"
    return None


# %% chapters/06-training-loop.md cell 44
def optimizer_state(model, file: ModelFile) -> dict[int, dict]:
    """The optimizer's state per layer index, from the file's "layer{i}.optimizer..." arrays, checked."""
    state: dict[int, dict] = {}
    for key in sorted(k for k in file.headers if ".optimizer." in k):
        owner, _, rest = key.partition(".optimizer.")
        i = int(owner[5:]) if owner[5:].isdigit() and owner.startswith("layer") else -1
        if model.optimizer is None or not 0 <= i < len(model.layers):
            raise file.error(f"{key} belongs to no {'layer' if model.optimizer else 'optimizer'} of the record")
        params, (shape, dtype, _) = model.layers[i].parameters(), file.headers[key]
        name, _, slot = rest.partition(".")
        if rest == "step":
            if shape != () or dtype != np.int64:
                raise file.error(f"{key} must be an int64 number, got {dtype} of shape {shape}")
            state.setdefault(i, {})["step"] = int(file.read(key))
        elif name in params and slot and (shape, dtype) == (params[name].shape, params[name].dtype):
            value = finite(model, key, file.read(key), dtype, f"{file.path}: ").copy()
            state.setdefault(i, {}).setdefault(name, {})[slot] = value
        else:
            raise file.error(f"{key} ({dtype} of shape {shape}) matches no parameter of layer {i}")
    for i, slots in state.items():
        if slots.get("step", -1) < 0:
            raise file.error(f"layer{i}.optimizer.step is missing or negative")
    return state


def load_weights_into(model, path) -> None:
    """Copy a file's parameters and layer states into ``model``, built in code with the same layers."""
    with ModelFile(path) as file:
        saved, own = file.architecture.get("layers"), architecture(model)["layers"]
        difference = layer_difference(saved, own) or array_difference(file, model_arrays(model, False))
        if difference:
            raise ValueError(f"{file.path} holds another architecture: {summary(saved)}; "
                             f"this model is {summary(own)} ({difference})")
        copy_arrays_in(model, file, with_optimizer=False)


# %% chapters/06-training-loop.md cell 45
def short_name(spec) -> str:
    return str(spec["class"]).rpartition(".")[2]


def summary(layer_specs) -> str:
    """Architecture records of layers, short: "Dense(2, 64, he, float32) -> ReLU()"."""
    try:
        return " -> ".join(f"{short_name(spec)}({', '.join(map(str, spec['config'].values()))})"
                           for spec in layer_specs)
    except (AttributeError, KeyError, TypeError):   # not a record written by Model.save
        return repr(layer_specs)[:200]


def layer_difference(saved, own) -> str | None:
    """The first difference between the layer classes of two architecture records, or None."""
    try:
        saved_classes = [short_name(spec) for spec in saved]
    except (KeyError, TypeError):
        return "its layer record is unreadable"
    own_classes = [short_name(spec) for spec in own]
    for i, (theirs, ours) in enumerate(zip(saved_classes, own_classes)):
        if theirs != ours:
            return f"layer {i} is {theirs} in the file, {ours} here"
    if len(saved_classes) != len(own_classes):
        return f"{len(saved_classes)} layers in the file, {len(own_classes)} here"
    return None


def set_parameters(model, weights) -> None:
    """Copy ``weights`` (a list like ``Model.get_weights()``'s) into the layers, all checked first."""
    params = {f"layer{i}.{name}": param for i, layer in enumerate(model.layers)
              for name, param in layer.parameters().items()}
    if len(weights) != len(params):
        raise ValueError(f"weights must hold {len(params)} arrays (one per parameter), got {len(weights)}")
    converted = []
    for (key, param), new in zip(params.items(), weights):
        if np.shape(new) != param.shape:
            raise ValueError(f"weights for {key} must have shape {param.shape}, got {np.shape(new)}")
        converted.append(finite(model, key, new, param.dtype, "weights for "))
    for param, new in zip(params.values(), converted):
        param[...] = new
