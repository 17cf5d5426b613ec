"""Where the viewer's frames come from: a scene preset sampled with segsim's randomizer and drawn
by segsim's renderer. Anything with the same four members (labels, width, height, scene(index),
render(scene)) can stand in, which is how tests run the viewer without a GL context.

The renderer owns an EGL context, which is bound to the thread that made it, so the viewer calls
`render` from one dedicated thread only (see viewer.ViewerHub) and the renderer is created lazily
there, on the first frame.
"""

from __future__ import annotations

from typing import Protocol

from segsim.labels import LabelSet


class SceneSource(Protocol):
    labels: LabelSet
    up: tuple[float, float, float]  # the world's up axis, for walking and turning
    width: int
    height: int
    description: str

    def scene(self, index: int): ...  # -> segsim.scene.spec.Scene, pure in (seed, index)
    # optional: make_rig(scene) -> CameraRig, how the viewer walks (default: free, level)
    def render(self, scene): ...  # -> object with .rgb (HxWx3 uint8), .class_ids (HxW uint8)
    def close(self) -> None: ...


WALKS = ("free", "ground")
BLOCKING_GROUPS = ("construction",)  # what a walker on the ground cannot pass through


def make_rig(scene, labels: LabelSet, walk: str = "free", up=(0.0, 0.0, 1.0)):
    """The camera rig a viewer walks a scene with. `free`: walk level wherever the camera
    looks, through anything (objects on a floor); `ground`: at eye height on the ground, never
    into an object of the BLOCKING_GROUPS (buildings, walls, fences), as in a street."""
    from segsim.serve.camera_rig import CameraRig, GroundRig, obstacles

    if walk == "ground":
        groups = labels.groups()
        blocking = [i for g in BLOCKING_GROUPS for i in groups.get(g, [])]
        return GroundRig(scene.camera.world_to_camera, obstacles(scene, blocking))
    return CameraRig(scene.camera.world_to_camera, up=up, level=True)


class PresetSceneSource:
    up = (0.0, 0.0, 1.0)  # segsim scenes are z-up (scene/randomize.py)

    def __init__(
        self,
        preset: str,
        seed: int,
        width: int,
        height: int,
        msaa: int = 0,
        walk: str | None = None,
    ):
        """`walk`: how the viewer's camera moves (WALKS); default `ground` for street scenes
        (a config with `street:`), else `free`."""
        from segsim.errors import SegsimError
        from segsim.scene.config import load_scene_config

        self.cfg = load_scene_config(preset)
        self.labels = self.cfg.label_set()
        self.preset, self.seed, self.width, self.height, self.msaa = (
            preset,
            seed,
            width,
            height,
            msaa,
        )
        if walk is None:
            walk = "ground" if getattr(self.cfg, "street", None) is not None else "free"
        if walk not in WALKS:
            raise SegsimError(
                f"walk must be one of {', '.join(WALKS)}, got {walk!r}",
                "use walk='ground' for streets or 'free'",
                param="walk",
            )
        self.walk = walk
        self.description = f"preset {preset}, seed {seed}, {width}x{height}"
        self._renderer = None

    def make_rig(self, scene):
        return make_rig(scene, self.labels, self.walk, self.up)

    def scene(self, index: int):
        from segsim.scene.randomize import sample_scene

        return sample_scene(self.cfg, self.seed, index, self.width, self.height)

    def render(self, scene):
        if self._renderer is None:
            from segsim.render.gl import Renderer

            self._renderer = Renderer(self.width, self.height, msaa=self.msaa)
        return self._renderer.render(scene)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None


MIN_VIEW_SIDE = 512


def default_view_size(input_size) -> tuple[int, int]:
    """(width, height) the viewer draws at when not told: the model's aspect ratio, with the
    longer side at least MIN_VIEW_SIDE so the picture stays sharp in a browser window (the model
    still runs at its own input size, see ViewerHub.predict)."""
    h, w = (int(v) for v in input_size) if input_size else (MIN_VIEW_SIDE, MIN_VIEW_SIDE)
    grow = max(1.0, MIN_VIEW_SIDE / max(h, w))
    return round(w * grow), round(h * grow)


def preset_from_model(predictor) -> str | None:
    """The scene preset the model was trained on: a `preset` in the checkpoint's config, else the
    `preset` in dataset.yaml of the dataset it was trained on (config data.root), when still
    there."""
    info = getattr(predictor, "info", None)
    config = info.get("config") if isinstance(info, dict) else None
    if not isinstance(config, dict):
        return None
    found = _find_key(config, "preset")
    if found:
        return found
    root = (config.get("data") or {}).get("root") if isinstance(config.get("data"), dict) else None
    return _preset_of_dataset(root) if isinstance(root, str) else None


def _preset_of_dataset(root: str) -> str | None:
    from pathlib import Path

    import yaml

    path = Path(root) / "dataset.yaml"
    try:
        meta = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    preset = meta.get("preset") if isinstance(meta, dict) else None
    return preset if isinstance(preset, str) else None


def _find_key(node, key: str, depth: int = 0):
    if depth > 6 or not isinstance(node, dict):
        return None
    if isinstance(node.get(key), str):
        return node[key]
    for value in node.values():
        found = _find_key(value, key, depth + 1)
        if found:
            return found
    return None


def label_remap(scene_labels: LabelSet, model_labels: LabelSet):
    """uint8 LUT from the scene's class ids to the model's, matched by name (unknown -> ignore).

    A model trained on a preset has the same names in the same order and the LUT is the identity;
    a model trained elsewhere still gets a fair mIoU on the classes the two share.
    """
    import numpy as np

    lut = np.full(256, model_labels.ignore_index, np.uint8)
    by_name = {lab.name: lab.id for lab in model_labels.labels}
    for lab in scene_labels.labels:
        if lab.name in by_name:
            lut[lab.id] = by_name[lab.name]
    return lut
