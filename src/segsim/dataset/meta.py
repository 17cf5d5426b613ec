"""Per-frame meta JSON: everything needed to recompute the masks and depth of a frame.

    {
      "format_version": 1, "index": 7, "id": "000007", "split": "train", "seed": 0,
      "width": 256, "height": 256,
      "camera": {"K": 3x3 pixels, "world_to_camera": 4x4 (OpenCV: x right, y down, z forward),
                 "width", "height", "near", "far"},
      "objects": [ {"instance_id", "class_id", "class", "distractor", "object_to_world": 4x4,
                    "shape": {canonical geometry, see scene/shapes/}, "material": {...}} ...],
      "ground": same as an object (labelled background) or null,
      "lights": [...], "ambient": [r, g, b], "background": {...}, "postfx": {...}
    }

Objects include the unlabelled distractors (class 0, instance 0) and the ground plane, because
they occlude labelled objects: without them nobody could recompute the masks.

The bytes are deterministic: keys sorted, floats rounded to 9 significant digits (sub-nanometre
for metres) so the text never depends on the last bit of a float, -0.0 written as 0.0.
"""

from __future__ import annotations

import json
import json.encoder
import math
from dataclasses import fields, is_dataclass

import numpy as np

from segsim.dataset.layout import frame_id
from segsim.scene.shapes import kind_of
from segsim.scene.spec import Scene, SceneObject

META_FORMAT_VERSION = 1
_DIGITS = 9


def _num(f: float):
    # '+ 0.0' turns -0.0 into 0.0; NaN/inf (never expected) become null rather than invalid JSON.
    return float(f"{f:.9g}") + 0.0 if math.isfinite(f) else None


def _array(a: np.ndarray):
    if a.dtype.kind != "f":
        return a.tolist()
    flat = list(map(_num, a.ravel().tolist()))
    return _nest(flat, a.shape)


def _nest(flat: list, shape: tuple):
    """A flat list as nested lists of `shape` (row-major), like ndarray.tolist()."""
    if len(shape) <= 1:
        return flat
    size = len(flat) // shape[0]
    return [_nest(flat[k * size : (k + 1) * size], shape[1:]) for k in range(shape[0])]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(t: type) -> tuple[str, ...]:
    # dataclasses.fields() builds a tuple on every call; a frame's meta holds a dozen dataclasses
    names = _FIELD_NAMES.get(t)
    if names is None:
        names = _FIELD_NAMES[t] = tuple(f.name for f in fields(t))
    return names


def _clean(x):
    """Plain JSON types with fixed float precision (numpy arrays and dataclasses included).

    Dispatches on the exact type first: this runs for every value of every frame's meta."""
    t = type(x)
    if t is float:
        return _num(x)
    if t is int or t is str or t is bool or x is None:
        return x
    # floats inline: most values are floats in short lists (a street's scenery, 10k a frame)
    if t is list or t is tuple:
        return [_num(v) if type(v) is float else _clean(v) for v in x]
    if t is dict:
        return {
            k if type(k) is str else str(k): _num(v) if type(v) is float else _clean(v)
            for k, v in x.items()
        }
    if t is np.ndarray:
        return _array(x)
    if is_dataclass(x) and not isinstance(x, type):
        return {name: _clean(getattr(x, name)) for name in _field_names(t)}
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _num(float(x))
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    return x


_SHAPES: dict[int, tuple] = {}  # id(shape) -> (shape, its cleaned description): per process
# a few scenes' shapes: the views of one scene come one after another, and every entry kept
# longer is only garbage that each full collection of the worker's heap walks again
_SHAPES_KEPT = 256


def _shape_meta(shape) -> dict:
    """A shape's cleaned description, made once per shape object: the views of one scene
    (views_per_scene) share their shapes, and a street's merged scenery is most of a frame's
    meta. The shape is held beside its entry so its id cannot be reused while cached."""
    hit = _SHAPES.get(id(shape))
    if hit is not None and hit[0] is shape:
        return hit[1]
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    described = _clean(kind_of(shape).describe(shape))
    _SHAPES[id(shape)] = (shape, described)
    return described


def object_meta(obj: SceneObject) -> dict:
    return _clean(
        {
            "instance_id": obj.instance_id,
            "class_id": obj.class_id,
            "class": obj.class_name,
            "distractor": obj.distractor,
            "object_to_world": obj.object_to_world,
            "material": obj.material,
        }
    ) | {"shape": _shape_meta(obj.shape)}


_SKY_DEFAULTS = {
    "exposure": 1.0,
    "sun": None,
    "sun_color": (1.0, 1.0, 1.0),
    "haze": 0.0,
    "class_id": 0,
}


def _background(bg) -> dict:
    """The background's fields, less the sky's where they hold their defaults (so the meta of
    scenes without a sky keeps the bytes it had before skies)."""
    return {
        name: getattr(bg, name)
        for name in _field_names(type(bg))
        if name not in _SKY_DEFAULTS or getattr(bg, name) != _SKY_DEFAULTS[name]
    }


def frame_meta(scene: Scene, index: int, split: str, seed: int) -> dict:
    """The frame's meta as plain JSON types. Its shape entries are shared with other frames of
    the same scene: read it, or copy before editing a shape in place."""
    cam = scene.camera
    return _clean(
        {
            "format_version": META_FORMAT_VERSION,
            "index": index,
            "id": frame_id(index),
            "split": split,
            "seed": seed,
            "width": cam.width,
            "height": cam.height,
            "camera": {
                "K": cam.K,
                "world_to_camera": cam.world_to_camera,
                "width": cam.width,
                "height": cam.height,
                "near": cam.near,
                "far": cam.far,
            },
            "lights": scene.lights,
            "ambient": scene.ambient,
            "background": _background(scene.background),
            "postfx": scene.postfx,
            # only when drawn: the meta of scenes without sensor effects keeps its bytes
            **({"sensor": scene.sensor} if getattr(scene, "sensor", None) is not None else {}),
        }
    ) | {  # objects are cleaned on their own (their shapes once per scene); keys sort on writing
        "objects": [object_meta(o) for o in scene.objects],
        "ground": object_meta(scene.ground) if scene.ground is not None else None,
    }


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
# json.dumps builds an encoder per call and checks for reference cycles, a third of its time on
# a frame's meta; _clean's output is plain and acyclic, so the C encoder is made once, from
# _ENCODER's options, without the cycle check (markers=None). The bytes are the same.
_ENCODE = (
    json.encoder.c_make_encoder(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        _ENCODER.indent,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        _ENCODER.sort_keys,
        _ENCODER.skipkeys,
        _ENCODER.allow_nan,
    )
    if json.encoder.c_make_encoder is not None
    else None
)


def dumps_meta(meta: dict) -> bytes:
    text = "".join(_ENCODE(meta, 0)) if _ENCODE is not None else _ENCODER.encode(meta)
    return (text + "\n").encode()
