"""SceneConfig: every randomization range of a scene generator, as one pydantic model.

Ranges are `[low, high]` pairs drawn uniformly (angles in degrees, colours in HSV 0..1); choices
are `{option: weight}` maps. Every field has a default, so a YAML file only lists what it changes;
unknown fields are errors (a typo never passes silently). Resolution order:
preset <- YAML file <- command-line overrides (`load_scene_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from segsim import fileio
from segsim.assets.skies import OUTDOOR_SKIES
from segsim.config import deep_merge, load_yaml, validate
from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES
from segsim.labels import Label, LabelSet, default_color
from segsim.scene import kinds
from segsim.scene.classes import ClassSpec, LibrarySelection, distractor_shape_names
from segsim.scene.config_base import IntRange, Range, Section, weights_ok
from segsim.scene.realism import (
    PhotosConfig,
    SensorConfig,
    VisibilityConfig,
    check_photos,
    photo_pool,
    without_photos,
)
from segsim.scene.shapes.mesh import LOD_TOLERANCE_PX
from segsim.scene.street.config import StreetConfig

TEXTURE_KINDS = tuple(name for name in kinds.TEXTURE_KINDS if name)  # None: a plain colour
BACKGROUND_KINDS = tuple(kinds.BACKGROUND_KINDS)


class ShapeSizes(Section):
    """Canonical geometry ranges in metres, before objects.scale is applied."""

    box_extent: Range = (0.5, 1.1)  # each side drawn independently
    sphere_radius: Range = (0.3, 0.6)
    cylinder_radius: Range = (0.2, 0.45)
    cylinder_height: Range = (0.5, 1.2)
    cone_radius: Range = (0.2, 0.45)
    cone_height: Range = (0.5, 1.1)
    torus_radius: Range = (0.25, 0.5)
    torus_tube_ratios: list[float] = [0.2, 0.3, 0.4]  # tube / radius; a few values so meshes cache
    capsule_radius: Range = (0.12, 0.3)
    capsule_height_ratios: list[float] = [1.0, 2.0, 3.0]  # hemisphere-centre distance / radius

    @field_validator("*", mode="after")
    @classmethod
    def _positive(cls, v, info):
        values = list(v) if isinstance(v, (tuple, list)) else [v]
        if not values or any(x <= 0 for x in values):
            raise ValueError("sizes must be positive (metres or ratios > 0)")
        if info.field_name == "torus_tube_ratios" and any(x >= 1 for x in values):
            raise ValueError("tube / radius must be < 1 (a torus with no hole is not a torus)")
        return v


class ObjectsConfig(Section):
    count: IntRange = (2, 6)
    scale: Range = (0.8, 1.25)  # uniform scale on top of the shape sizes
    area_radius: float = Field(1.2, gt=0)  # object centres lie in a disc of this radius
    height: Range = (0.0, 0.6)  # lift above the ground (or z range without ground)
    rotation: Literal["random", "upright", "yaw"] = "random"
    overlap_tolerance: float = Field(0.15, ge=0, le=1)  # allowed bounding-sphere overlap fraction
    max_tries: int = Field(60, ge=1)
    # sample: the rejection-sampled poses as they are; drop: those poses lifted by drop_height
    # and settled onto the ground and onto each other by a rigid-body simulation (MuJoCo)
    placement: Literal["sample", "drop"] = "sample"
    drop_height: Range = (0.05, 0.5)
    drop_steps: int = Field(400, ge=1, le=5000)
    # mesh files and library models (labelled and distractors): how far (pixels) a decimated
    # level of detail may stray from the file on screen; the renderer's own bound by default
    lod_tolerance_px: float = Field(LOD_TOLERANCE_PX, gt=0, le=50)

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        data = handler(self)  # sampled placement: as before drop existed (dataset.yaml bytes hold)
        if self.placement == "sample":
            for key in ("placement", "drop_height", "drop_steps"):
                data.pop(key, None)
        if self.lod_tolerance_px == LOD_TOLERANCE_PX:  # likewise, as before it could be set
            data.pop("lod_tolerance_px", None)
        return data


class TextureConfig(Section):
    probability: float = Field(0.5, ge=0, le=1)
    kinds: dict[str, float] = {"checker": 1.0, "stripes": 1.0, "noise": 1.5, "gradient": 1.0}
    scale: Range = (2.0, 10.0)  # repeats per metre
    image_dir: str | None = None  # folder of images for the `image` kind

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v):
        return weights_ok(v, TEXTURE_KINDS, "texture kinds")


class MaterialConfig(Section):
    hue: Range = (0.0, 1.0)
    saturation: Range = (0.0, 1.0)
    value: Range = (0.15, 1.0)
    specular: Range = (0.0, 0.8)
    shininess: Range = (4.0, 128.0)
    texture: TextureConfig = TextureConfig()


class LightsConfig(Section):
    count: IntRange = (1, 3)
    elevation_deg: Range = (15.0, 85.0)
    azimuth_deg: Range = (0.0, 360.0)
    intensity: Range = (0.4, 1.3)  # first light; others are scaled by fill_fraction
    fill_fraction: Range = (0.15, 0.6)
    saturation: Range = (0.0, 0.3)  # colour tint of each light (HSV)
    ambient: Range = (0.08, 0.5)
    ambient_saturation: Range = (0.0, 0.3)
    # how soft the frame's light is (Light.wrap, one draw for every light of a frame): a sunlit
    # solid's terminator is sharp, one under an overcast sky or a softbox wraps around it
    wrap: Range = (0.0, 0.0)


class CameraConfig(Section):
    # The camera backs off until the objects' bounding sphere spans `framing` of the smaller
    # frame side, so objects stay large whatever the FOV; `distance` clamps the result.
    framing: Range = (0.75, 1.05)
    distance: Range = (2.0, 15.0)
    elevation_deg: Range = (10.0, 75.0)
    azimuth_deg: Range = (0.0, 360.0)
    fov_deg: Range = (35.0, 60.0)  # vertical field of view
    look_at_jitter: float = Field(0.4, ge=0)  # metres, added to the objects' centroid
    roll_deg: Range = (-15.0, 15.0)
    principal_jitter: float = Field(0.02, ge=0)  # principal point offset, fraction of size
    near: float = Field(0.05, gt=0)
    far: float = Field(100.0, gt=0)


class SkyConfig(Section):
    """The `sky` background kind: a dome looked up by view direction (scene/sky.py), an HDR sky
    (assets/skies.py) or a horizon-zenith gradient for the time of day; its sun is the key light."""

    kinds: dict[str, float] = {"hdr": 1.0, "gradient": 1.0}
    skies: list[str] = list(OUTDOOR_SKIES)  # HDR skies: names in `folder`, or .exr paths
    folder: str | None = None  # default: Debian blender-data's studio-light skies
    sun_elevation_deg: Range = (3.0, 70.0)  # gradient skies: the time of day
    exposure: Range = (0.8, 1.2)  # sky brightness factor
    haze: Range = (0.0, 0.0)  # 1/m: objects fade to the horizon colour by exp(-haze * distance)
    label: str | None = None  # the class sky pixels get (one of `classes`); None: background
    sun_light: bool = True  # the key light shines from the sky's sun, in its colour

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v):
        return weights_ok(v, ("hdr", "gradient"), "sky kinds")

    @field_validator("haze", "exposure")
    @classmethod
    def _non_negative(cls, v):
        if v[0] < 0:
            raise ValueError("must be >= 0")
        return v


class BackgroundConfig(Section):
    kinds: dict[str, float] = {
        "solid": 0.5,
        "gradient": 1.0,
        "checker": 0.5,
        "stripes": 0.5,
        "noise": 1.0,
        "clutter": 3.0,
    }
    image_dir: str | None = None  # photos to use when `image` has a weight
    value: Range = (0.05, 1.0)
    saturation: Range = (0.0, 0.9)
    scale: Range = (2.0, 16.0)  # pattern repeats across the frame height
    sky: SkyConfig = SkyConfig()  # for the `sky` kind

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v):
        return weights_ok(v, BACKGROUND_KINDS, "background kinds")

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        data = handler(self)  # no sky weight: as before skies, so dataset.yaml bytes hold
        if self.kinds.get("sky", 0) <= 0:
            data.pop("sky", None)
        return data


GROUND_MATERIAL = MaterialConfig(
    value=(0.2, 0.9),
    saturation=(0.0, 0.6),
    specular=(0.0, 0.3),
    texture=TextureConfig(probability=0.7, scale=(0.5, 4.0)),
)


class GroundConfig(Section):
    probability: float = Field(0.5, ge=0, le=1)
    size: float = Field(30.0, gt=0)  # side of the (thin box) ground plane, metres
    material: MaterialConfig = GROUND_MATERIAL

    @field_validator("material", mode="before")
    @classmethod
    def _over_ground_defaults(cls, v):
        # the fields a config gives change the ground's own defaults, not the objects' ones
        return deep_merge(GROUND_MATERIAL.model_dump(), v) if isinstance(v, dict) else v


class DistractorsConfig(Section):
    count: IntRange = (0, 3)
    shapes: dict[str, float] = {"cone": 1.0, "torus": 1.0, "capsule": 1.0}
    scale: Range = (0.6, 1.0)
    library: LibrarySelection | None = None  # models for the weight of shapes.mesh
    # share of the distractors moved in front of the labelled objects (between them and the
    # camera, so they occlude them); the rest stand among and behind them
    in_front: float = Field(0.0, ge=0, le=1)
    cards: IntRange = (0, 0)  # flat photo cut-outs per frame (photos library), in front or behind
    card_size: Range = (0.3, 1.2)  # metres, the longer side
    material: MaterialConfig | None = None  # default: objects' material (set to use photos)

    @field_validator("shapes")
    @classmethod
    def _shapes(cls, v):
        return weights_ok(v, (*distractor_shape_names(), "mesh"), "distractor shapes")

    @model_validator(mode="after")
    def _mesh_needs_library(self):
        if self.shapes.get("mesh", 0) > 0 and self.library is None:
            raise ValueError(
                "shapes has a mesh weight but no library: give distractors.library, "
                'e.g. {category: "Kitchen"}'
            )
        return self

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        data = handler(self)  # no library: as before it existed, so dataset.yaml bytes hold
        if self.library is None:
            data.pop("library", None)
        for key, default in (("in_front", 0.0), ("cards", (0, 0)), ("material", None)):
            if getattr(self, key) == default:  # the same for the knobs added since
                data.pop(key, None)
        if self.cards == (0, 0):
            data.pop("card_size", None)
        return data

    def mesh_class(self) -> ClassSpec:
        """The unlabelled class the library distractors are drawn as."""
        return ClassSpec(name="distractor", shape="mesh", library=self.library, rotation="yaw")


class PostFXConfig(Section):
    probability: float = Field(0.8, ge=0, le=1)
    noise_std: Range = (0.0, 6.0)
    blur_probability: float = Field(0.3, ge=0, le=1)
    blur_sigma: Range = (0.3, 1.2)
    brightness: Range = (-0.08, 0.08)
    contrast: Range = (0.8, 1.2)
    saturation: Range = (0.7, 1.3)
    hue_shift: Range = (-8.0, 8.0)
    sensor: SensorConfig | None = None  # camera / photo effects; `sensor: {}` for the defaults

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        data = handler(self)  # no sensor: as before it existed, so dataset.yaml bytes hold
        if self.sensor is None:
            data.pop("sensor", None)
        return data


class SceneConfig(Section):
    name: str = "custom"
    description: str = ""
    classes: list[ClassSpec] = [
        ClassSpec(name="cube", shape="box"),
        ClassSpec(name="sphere", shape="sphere"),
        ClassSpec(name="cylinder", shape="cylinder"),
    ]
    sizes: ShapeSizes = ShapeSizes()
    objects: ObjectsConfig = ObjectsConfig()
    material: MaterialConfig = MaterialConfig()
    lights: LightsConfig = LightsConfig()
    camera: CameraConfig = CameraConfig()
    background: BackgroundConfig = BackgroundConfig()
    ground: GroundConfig = GroundConfig()
    distractors: DistractorsConfig = DistractorsConfig()
    postfx: PostFXConfig = PostFXConfig()
    # driving scenes (scene/street/) instead of objects on a floor; labels: Cityscapes' 19
    street: StreetConfig | None = None
    photos: PhotosConfig = PhotosConfig()  # what the `photo` kinds draw from
    visibility: VisibilityConfig = VisibilityConfig()
    # frames drawn of each arrangement of objects (placed, dropped, the ground): frames
    # k*V .. k*V+V-1 share one and draw their own camera, lights, background and effects;
    # the physics and the scene's mesh uploads are then paid once per V frames
    views_per_scene: int = Field(1, ge=1, le=10_000)

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        data = handler(self)  # no street: as before it existed, so dataset.yaml bytes hold
        if self.street is None:
            data.pop("street", None)
        if self.views_per_scene == 1:
            data.pop("views_per_scene", None)
        for key in ("photos", "visibility"):  # the same for these sections at their defaults
            if getattr(self, key) == type(getattr(self, key))():
                data.pop(key, None)
        return data

    @field_validator("classes")
    @classmethod
    def _classes(cls, v):
        if not v:
            raise ValueError("at least one labelled class is needed")
        names = [c.name for c in v]
        if "background" in names:
            raise ValueError("'background' is class 0 implicitly; do not list it")
        if len(set(names)) != len(names):
            raise ValueError(f"class names must be unique, got {names}")
        if len(v) > 254:
            raise ValueError("at most 254 classes (ids are uint8, 255 = ignore)")
        if sum(c.weight for c in v) <= 0:
            raise ValueError("at least one class weight must be > 0")
        ids = {c.name: i for i, c in enumerate(v, start=1)}
        for i, c in enumerate(v, start=1):
            c._class_id = i
            unknown = sorted(set((c.parts or {}).values()) - set(ids))
            if unknown:
                raise ValueError(
                    f"class {c.name!r}: parts name classes {unknown} that are not in classes; "
                    "list them (a class with weight 0 and no shape only labels parts)"
                )
            c._part_ids = tuple((pattern, ids[name]) for pattern, name in (c.parts or {}).items())
        return v

    @model_validator(mode="after")
    def _sky_label(self):
        label = self.background.sky.label
        if label is not None and label not in self.label_set().names:
            raise ValueError(
                f"background.sky.label {label!r} is not a class of the label set; list it in "
                "classes (weight 0 and no shape: a label only) or leave the label unset"
            )
        return self

    @model_validator(mode="after")
    def _street_roles(self):
        if self.street is not None:
            from segsim.scene.street.config import check_roles

            check_roles(self.classes)
        return self

    def label_set(self) -> LabelSet:
        if self.street is not None:  # street masks hold Cityscapes train ids, 255 the rest
            from segsim.cityscapes import train_labelset

            return train_labelset()
        labels = [Label(0, "background", default_color(0), "background")]
        for i, c in enumerate(self.classes, start=1):
            labels.append(
                Label(i, c.name, tuple(c.color) if c.color else default_color(i), c.group)
            )
        return LabelSet(labels)


def list_images(folder: str | None, field: str) -> list[str]:
    """Sorted image files of a folder (sorted so frame i picks the same file everywhere)."""
    if not folder:
        kinds = (
            "background.kinds.image"
            if field.startswith("background")
            else field.replace("image_dir", "kinds.image")
        )
        raise SegsimError(
            f"{field} is not set but {kinds} has a weight",
            f"set {field} to a folder of images, or set {kinds} to 0",
        )
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise SegsimError(f"{field}: folder not found: {p}", f"set {field} to a folder of images")
    files = [str(f) for f in fileio.list_images(p, recursive=True)]
    if not files:
        raise SegsimError(
            f"{field}: no images ({', '.join(IMAGE_SUFFIXES)}) in {p}",
            f"put images in {p} or remove the image weight",
        )
    return files


def load_scene_config(
    preset: str | None = "shapes",
    config_path: str | Path | None = None,
    overrides: dict | list[str] | None = None,
) -> SceneConfig:
    """preset <- YAML file <- overrides (a dict, or `["a.b=1"]` strings), validated."""
    from segsim.config import parse_overrides
    from segsim.scene.presets import load_preset

    data: dict = load_preset(preset) if preset else {}
    if config_path is not None:
        data = deep_merge(data, load_yaml(config_path))
    if overrides:
        if isinstance(overrides, (list, tuple)):
            overrides = parse_overrides(list(overrides))
        data = deep_merge(data, overrides)
    source = (
        f"scene config (preset {preset!r}" + (f", file {config_path}" if config_path else "") + ")"
    )
    cfg = validate(SceneConfig, data, source=source)
    # fail now, not in a worker halfway through a dataset
    if not check_photos(cfg):
        off = without_photos(cfg)
        if off is None:  # photos are all some weight map has: the library's own error
            photo_pool(cfg.photos)
        cfg = validate(SceneConfig, deep_merge(data, off), source=source)
    if cfg.background.kinds.get("image", 0) > 0:
        list_images(cfg.background.image_dir, "background.image_dir")
    sky = cfg.background.sky
    if cfg.background.kinds.get("sky", 0) > 0 and sky.kinds.get("hdr", 0) > 0:
        from segsim.assets.skies import sky_path

        if not sky.skies:
            raise SegsimError(
                "background.sky.skies is empty but background.sky.kinds.hdr has a weight",
                "list HDR skies by name or path, or set background.sky.kinds.hdr to 0",
            )
        for name in sky.skies:
            sky_path(name, sky.folder)
    textures = [
        ("material", cfg.material.texture),
        ("ground.material", cfg.ground.material.texture),
    ]
    if cfg.distractors.material is not None:
        textures.append(("distractors.material", cfg.distractors.material.texture))
    for where, tex in textures:
        if tex.kinds.get("image", 0) > 0 and tex.probability > 0:
            list_images(tex.image_dir, f"{where}.texture.image_dir")
    return cfg
