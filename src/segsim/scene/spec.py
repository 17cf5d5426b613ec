"""A Scene is plain data: camera, lights, objects, background, post-effects.

No GL here. The renderer reads a Scene; the randomizer writes one; the dataset writer turns
one into the per-frame meta JSON; the oracle test ray-casts one. Conventions:

* World units are metres. Matrices are 4x4 numpy float64 arrays, row-major, acting on column
  vectors (p_world = object_to_world @ p_object).
* Camera follows OpenCV: x right, y down, z forward. `world_to_camera` maps world points into
  that frame; `K` is the 3x3 pinhole matrix in pixels (pixel centres at integer + 0.5, i.e. the
  centre of the top-left pixel is (0.5, 0.5)). Depth is metric z in the camera frame.
* Shapes are canonical dicts centred at the origin of the object frame, `{"type": kind, ...}`,
  e.g. `{"type": "box", "extents": [x, y, z]}`; each kind's fields are documented by its module
  in scene/shapes/ (the registry of kinds).
* class_id 0 is background. Distractors have class_id 0 and instance_id 0 (unlabelled);
  labelled objects have instance_id 1..N, unique within the scene.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Camera:
    K: np.ndarray  # 3x3 intrinsics in pixels
    world_to_camera: np.ndarray  # 4x4, OpenCV convention
    width: int
    height: int
    near: float = 0.05
    far: float = 100.0

    @property
    def camera_to_world(self) -> np.ndarray:
        return np.linalg.inv(self.world_to_camera)

    @property
    def position(self) -> np.ndarray:
        # -R^T t of the rigid world_to_camera: no 4x4 inverse (read several times per frame)
        w2c = np.asarray(self.world_to_camera, float)
        return -w2c[:3, :3].T @ w2c[:3, 3]


@dataclass
class Texture:
    kind: str  # checker | stripes | noise | gradient | image
    color2: tuple[float, float, float] = (0.0, 0.0, 0.0)  # second colour, linear 0..1
    scale: float = 4.0  # repeats per unit of texture coordinate
    angle: float = 0.0  # radians, for stripes / gradient
    seed: int = 0  # for noise
    path: str | None = None  # for image textures


@dataclass
class Material:
    color: tuple[float, float, float]  # base colour, 0..1 sRGB
    texture: Texture | None = None
    specular: float = 0.3  # 0..1
    shininess: float = 32.0  # Blinn-Phong exponent


@dataclass
class SceneObject:
    shape: dict  # canonical geometry, see module docstring
    object_to_world: np.ndarray  # 4x4
    material: Material
    class_id: int = 0
    class_name: str = "background"
    instance_id: int = 0
    distractor: bool = False
    casts_shadow: bool = True  # False: left out of the shadow map (scenery flat on the ground)


@dataclass
class Light:
    direction: tuple[float, float, float]  # world-space direction the light travels
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    cast_shadows: bool = True
    # soft (area-like) light: diffuse = max((n.l + wrap) / (1 + wrap), 0); 0 is Lambert, 1
    # lights the far side's edge too (half-Lambert)
    wrap: float = 0.0


@dataclass
class Background:
    kind: str = "solid"  # solid | gradient | checker | stripes | noise | clutter | image | sky
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    color2: tuple[float, float, float] = (0.2, 0.2, 0.2)
    scale: float = 8.0
    angle: float = 0.0
    seed: int = 0
    path: str | None = None  # for image backgrounds; for sky: the HDR sky (.exr), None: gradient
    # sky only: a dome by view direction. color / color2 are the horizon / zenith of a gradient
    # sky (color: the horizon colour the haze fades to, for HDR skies too), angle turns the HDR
    # sky about the up axis, and the sun (unit, toward it) is drawn as a disc on gradient skies
    exposure: float = 1.0  # sky brightness factor, linear light
    sun: tuple[float, float, float] | None = None
    sun_color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    haze: float = 0.0  # 1/m: objects fade to the horizon colour by exp(-haze * depth)
    class_id: int = 0  # the label of background (sky) pixels


@dataclass
class PostFX:
    """Applied to RGB only, after rendering; never to labels or depth."""

    noise_std: float = 0.0  # gaussian noise, in 0..255 units
    blur_sigma: float = 0.0  # gaussian blur sigma in pixels
    brightness: float = 0.0  # additive, -1..1 (fraction of 255)
    contrast: float = 1.0  # multiplicative around mid-grey
    saturation: float = 1.0
    hue_shift: float = 0.0  # degrees
    seed: int = 0  # noise seed, so frames stay deterministic


@dataclass
class SensorFX:
    """Camera and photo effects, RGB only, after PostFX's optics (render/postfx.py); identity
    by default. A scene without them has `sensor` None, and its meta no `sensor` key."""

    exposure: float = 0.0  # stops
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # gains, linear light
    gamma: float = 1.0  # out = in ** (1 / gamma), on 0..1
    vignette: float = 0.0  # darkening of the corners, fraction
    chromatic: float = 0.0  # red / blue radial shift at the corners, pixels
    motion_length: float = 0.0  # pixels
    motion_angle: float = 0.0  # degrees
    defocus_radius: float = 0.0  # disc radius, pixels
    jpeg_quality: int = 0  # 0: no re-compression


@dataclass
class Scene:
    camera: Camera
    objects: list[SceneObject]
    lights: list[Light]
    ambient: tuple[float, float, float] = (0.3, 0.3, 0.3)
    background: Background = field(default_factory=Background)
    postfx: PostFX = field(default_factory=PostFX)
    ground: SceneObject | None = None  # optional floor plane (labelled background)
    sensor: SensorFX | None = None  # camera / photo effects (scene.realism), none by default

    def labelled_objects(self) -> list[SceneObject]:
        return [o for o in self.objects if o.instance_id > 0]


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


def scene_to_dict(scene: Scene) -> dict:
    """Full scene as JSON-able data (every field, for debugging and replay)."""
    return _jsonable(asdict(scene))
