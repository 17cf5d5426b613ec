"""What every part of the street generator shares while it builds one frame."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from segsim.draws import hsv_color, uniform
from segsim.scene.geometry import depth_below_centre, rigid, rot_z
from segsim.scene.shapes import get_shape
from segsim.scene.spec import Material, SceneObject, Texture
from segsim.scene.street.config import ROLES
from segsim.scene.street.layout import Occupancy, Road, Scenery, train_id


@dataclass
class Frontage:
    """One side of a road between s0 and s1: where its sidewalk and plots are."""

    road: Road
    side: int  # +1 left of the centre line, -1 right
    s0: float
    s1: float
    kerb: float  # lateral distance of the kerb from the centre line (>0)
    walk_outer: float  # back of the sidewalk
    kerb_height: float
    parking: bool = False
    has_trees: bool = False
    walk0: float = 0.0  # the sidewalk's extent (it reaches the crossing road; plots stop short)
    walk1: float = 0.0
    verge: float = 0.0  # width of a grass strip between kerb and walk (0: none)

    def lateral(self, distance: float) -> float:
        """Signed lateral offset `distance` metres from the centre line on this side."""
        return self.side * distance


@dataclass
class Ctx:
    rng: np.random.Generator
    cfg: object  # SceneConfig
    scenery: Scenery
    grid: Occupancy
    roads: list[Road] = field(default_factory=list)
    frontages: list[Frontage] = field(default_factory=list)
    things: list[SceneObject] = field(default_factory=list)
    crossings: list[tuple] = field(default_factory=list)  # (road, s, half length along s)
    junctions: list[tuple] = field(default_factory=list)  # (x, y, heading, half size)

    @property
    def street(self):
        return self.cfg.street

    def spec(self, role: str):
        """The class of a role, or None when the config has none (or weight 0)."""
        for c in self.cfg.classes:
            if c.name == role and c.weight > 0:
                return c
        return None

    def material(
        self,
        name: str,
        hue,
        sat,
        val,
        specular=(0.05, 0.3),
        shininess=(8.0, 48.0),
        texture: str | None = None,
        scale=(1.0, 4.0),
        contrast=0.15,
    ) -> str:
        """Draw a material under `name` (kept for the frame) and return the name."""
        rng = self.rng
        color = hsv_color(rng, hue, sat, val)
        tex = None
        if texture is not None:
            color2 = tuple(float(max(0.0, min(1.0, c * (1.0 - contrast)))) for c in color)
            tex = Texture(
                kind=texture,
                color2=color2,
                scale=uniform(rng, scale),
                angle=float(rng.uniform(0, math.pi)) if texture != "stripes" else math.pi / 2,
                seed=int(rng.integers(2**31)),
            )
        self.scenery.materials[name] = Material(
            color=color,
            texture=tex,
            specular=uniform(rng, specular),
            shininess=uniform(rng, shininess),
        )
        return name

    def place_model(
        self,
        role: str,
        x: float,
        y: float,
        z: float,
        yaw: float,
        along: bool = True,
        off_road: bool = False,
        margin: float = 0.15,
        lift: float = 0.0,
        check: bool = True,
    ):
        """A library model of `role` standing at (x, y) on height z, its long horizontal axis
        along `yaw` when `along`; None when there is no room (or no such class)."""
        spec = self.spec(role)
        if spec is None:
            return None
        shape = get_shape("mesh").sample(self.rng, self.cfg.sizes, 1.0, spec)
        street = self.street
        shape["lod_px"] = (
            street.vegetation_lod_tolerance_px
            if ROLES.get(role) == "vegetation"
            else street.lod_tolerance_px
        )
        size = shape["asset_key"][3]
        k = float(shape["scale"])
        w, d = (size[0] * k, size[1] * k) if size else (0.5, 0.5)
        if along and w > d:  # the model's long axis is x: turn it onto the heading
            yaw += math.pi / 2
        if check and not self.grid.place(x, y, w / 2 + margin, d / 2 + margin, yaw, off_road):
            return None
        R = rot_z(yaw)
        centre = (x, y, z + lift + depth_below_centre(shape, R))
        cls = ROLES[role]
        obj = SceneObject(
            shape=shape,
            object_to_world=rigid(R, centre),
            material=Material(color=(0.6, 0.6, 0.6)),
            class_id=train_id(cls),
            class_name=cls,
            instance_id=0,
        )
        if _has_instances(cls):
            obj.instance_id = 1 + sum(1 for t in self.things if t.instance_id > 0)
        self.things.append(obj)
        return obj


def _has_instances(name: str) -> bool:
    from segsim.cityscapes import BY_NAME

    return BY_NAME[name].has_instances
