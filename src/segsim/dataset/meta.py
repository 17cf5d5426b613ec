"""Per-frame meta JSON: everything needed to recompute the masks and depth of a frame.

    {
      "format_version": 1, "index": 7, "id": "000007", "split": "train", "seed": 0,
      "width": 256, "height": 256,
      "camera": {"K": 3x3 pixels, "world_to_camera": 4x4 (OpenCV: x right, y down, z forward),
                 "width", "height", "near", "far"},
      "objects": [ {"instance_id", "class_id", "class", "distractor", "object_to_world": 4x4,
                    "shape": {canonical geometry, see scene/spec.py}, "material": {...}} ...],
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
import math
from dataclasses import asdict, is_dataclass

import numpy as np

from segsim.dataset.layout import frame_id
from segsim.scene.spec import Scene, SceneObject

META_FORMAT_VERSION = 1
_DIGITS = 9


def _clean(x):
    """Plain JSON types with fixed float precision (numpy arrays and dataclasses included)."""
    if is_dataclass(x) and not isinstance(x, type):
        x = asdict(x)
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if not math.isfinite(f):
            return None
        f = float(f"{f:.{_DIGITS}g}")
        return 0.0 if f == 0 else f
    return x


def object_meta(obj: SceneObject) -> dict:
    return {
        "instance_id": obj.instance_id,
        "class_id": obj.class_id,
        "class": obj.class_name,
        "distractor": obj.distractor,
        "object_to_world": obj.object_to_world,
        "shape": obj.shape,
        "material": obj.material,
    }


def frame_meta(scene: Scene, index: int, split: str, seed: int) -> dict:
    cam = scene.camera
    return _clean({
        "format_version": META_FORMAT_VERSION,
        "index": index,
        "id": frame_id(index),
        "split": split,
        "seed": seed,
        "width": cam.width,
        "height": cam.height,
        "camera": {"K": cam.K, "world_to_camera": cam.world_to_camera, "width": cam.width,
                   "height": cam.height, "near": cam.near, "far": cam.far},
        "objects": [object_meta(o) for o in scene.objects],
        "ground": object_meta(scene.ground) if scene.ground is not None else None,
        "lights": scene.lights,
        "ambient": scene.ambient,
        "background": scene.background,
        "postfx": scene.postfx,
    })


def dumps_meta(meta: dict) -> bytes:
    return (json.dumps(meta, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()
