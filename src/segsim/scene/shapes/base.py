"""The shape registry: one `Shape` subclass per kind, registered once by name.

A shape in a Scene is plain data, a dict `{"type": name, <field>: value, ...}` centred at the
object origin; its kind (`kind_of(shape)`) knows everything else about it: how the randomizer
draws one, its bounding sphere and support along -z for placement, its meta description, and the
unit trimesh the renderer scales to it. Kinds are stateless: one instance each, in `SHAPES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from segsim.errors import SegsimError

if TYPE_CHECKING:
    import trimesh

    from segsim.scene.classes import ClassSpec
    from segsim.scene.config import ShapeSizes

# Coarsest mesh whose silhouette stays this close (pixels) to the analytic shape; finer costs
# render time on llvmpipe for no visible gain.
SILHOUETTE_TOLERANCE_PX = 0.25

SHAPES: dict[str, Shape] = {}


class Shape:
    """One kind of canonical shape. Subclasses set `name` and `fields` and implement the rest."""

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]  # the dict's keys besides "type"
    levels: ClassVar[int] = 1  # mesh detail levels, coarse to fine
    needs_spec: ClassVar[bool] = False  # samples from its class's own fields (not a distractor)
    double_sided: ClassVar[bool] = False  # the renderer draws its back faces too
    configurable: ClassVar[bool] = True  # configs may name it (compound: generators only)

    def sample(
        self,
        rng: np.random.Generator,
        sizes: ShapeSizes,
        scale: float,
        spec: ClassSpec | None = None,
    ) -> dict:
        """Draw one shape from the config's size ranges (or, for kinds that need them, from its
        class's own fields in `spec`; None for distractors), times `scale`. A fixed stream of
        draws: changing the calls or their order changes every frame after."""
        raise NotImplementedError

    def bounding_radius(self, shape: dict) -> float:
        """Radius of a sphere about the object origin that contains the whole shape."""
        raise NotImplementedError

    def depth_below_centre(self, shape: dict, R: np.ndarray) -> float:
        """How far the shape rotated by R reaches below its centre (support along -z), so an
        object can be set exactly on the ground."""
        raise NotImplementedError

    def describe(self, shape: dict) -> dict:
        """The shape as written to the per-frame meta."""
        return {"type": self.name, **{k: shape[k] for k in self.fields}}

    def unit_key_and_scale(self, shape: dict) -> tuple[tuple, np.ndarray]:
        """(unit mesh key, 4x4 scale matrix mapping that unit mesh onto the shape); the key's
        first item is the kind's name. SegsimError when the shape's fields are unusable."""
        raise NotImplementedError

    def unit_mesh(self, key: tuple, level: int) -> trimesh.Trimesh:
        """The unit mesh for a key from `unit_key_and_scale`, at a detail level."""
        raise NotImplementedError

    def draw_groups(self, shape: dict) -> list[tuple[tuple, int | None]]:
        """(unit mesh key, class id or None for the object's own) of each draw the shape takes:
        one for most kinds; a mesh whose parts have classes of their own, one per class."""
        return [(self.unit_key_and_scale(shape)[0], None)]

    def collision_points(self, key: tuple, level: int) -> np.ndarray:
        """Points whose convex hull a physics engine collides the unit shape as."""
        return np.asarray(self.unit_mesh(key, level).vertices, float)

    def level_fits(self, shape: dict, level: int, px_per_metre: float) -> bool:
        """Whether mesh `level` keeps the silhouette within tolerance at this scale."""
        return True

    def detail_level(self, shape: dict, px_per_metre: float) -> int:
        """Coarsest fine-enough level (px_per_metre = focal length / distance; inf: the finest)."""
        top = self.levels - 1
        if not np.isfinite(px_per_metre):
            return top
        for level in range(top + 1):
            if self.level_fits(shape, level, px_per_metre):
                return level
        return top


def register_shape(cls: type[Shape]) -> type[Shape]:
    """Class decorator: make kind `cls.name` known to configs, the randomizer and the renderer."""
    if cls.name in SHAPES and type(SHAPES[cls.name]) is not cls:
        raise ValueError(f"shape kind {cls.name!r} registered twice")
    SHAPES[cls.name] = cls()
    return cls


def shape_names() -> tuple[str, ...]:
    """Registered kinds configs may name, in registration order."""
    return tuple(name for name, kind in SHAPES.items() if kind.configurable)


def get_shape(name: str) -> Shape:
    kind = SHAPES.get(name)
    if kind is None:
        raise SegsimError(f"unknown shape type {name!r}", f"use one of {', '.join(SHAPES)}")
    return kind


def kind_of(shape: dict) -> Shape:
    """The kind of a shape dict (by its "type")."""
    return get_shape(shape.get("type"))


def positive(shape: dict, name: str) -> float:
    """Field `name` of a shape as a float; SegsimError unless it is a number > 0."""
    try:
        value = float(shape[name])
    except (KeyError, TypeError, ValueError):
        raise SegsimError(
            f"shape {shape!r} needs a numeric {name!r}",
            f"give {shape.get('type')} shapes a positive {name}",
        ) from None
    if not value > 0:
        raise SegsimError(f"shape {shape!r}: {name} must be > 0", f"use a positive {name}")
    return value


def fine_enough(step: float, radius_px: float) -> bool:
    """Sagitta r (1 - cos(step / 2)) of a facet spanning `step` radians, within tolerance."""
    return radius_px * (1.0 - np.cos(step / 2)) <= SILHOUETTE_TOLERANCE_PX


def axis_tilt(R: np.ndarray) -> tuple[float, float]:
    """|z component| of the rotated local z axis and the length of its horizontal part."""
    az = abs(R[2, 2])
    return az, np.sqrt(max(0.0, 1.0 - az * az))
