"""The shape registry (scene/shapes/): every kind samples, bounds, describes and meshes itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segsim.dataset.meta import dumps_meta, frame_meta
from segsim.errors import SegsimError
from segsim.render.meshes import MESHES, detail_level, shape_to_unit
from segsim.scene.classes import ClassSpec
from segsim.scene.config import SceneConfig, load_scene_config
from segsim.scene.geometry import bounding_radius, depth_below_centre, random_rotation, rigid
from segsim.scene.shapes import (
    SHAPES,
    Shape,
    get_shape,
    kind_of,
    register_shape,
    shape_names,
)
from segsim.scene.shapes.sphere import Sphere
from segsim.scene.spec import Camera, Material, Scene, SceneObject

KINDS = tuple(k for k in shape_names() if not get_shape(k).needs_spec)  # mesh: test_mesh_shape.py


def test_the_built_in_kinds_are_registered_in_order():
    assert KINDS == ("box", "sphere", "cylinder", "cone", "torus", "capsule")
    assert shape_names() == (*KINDS, "mesh")
    assert all(get_shape(k).name == k for k in shape_names())


@pytest.mark.parametrize("kind", KINDS)
def test_bounding_radius_contains_every_mesh_vertex(kind):
    rng = np.random.default_rng(4)
    sizes = SceneConfig().sizes
    for _ in range(10):
        shape = get_shape(kind).sample(rng, sizes, float(rng.uniform(0.5, 1.5)))
        assert shape["type"] == kind and kind_of(shape) is get_shape(kind)
        key, scale = shape_to_unit(shape)
        radius = bounding_radius(shape)
        for level in range(get_shape(kind).levels):
            verts = MESHES.get(key, level).vertices[:, :3].astype(float) @ scale[:3, :3].T
            reach = np.linalg.norm(verts, axis=1).max()
            assert reach <= radius * (1 + 1e-5)
            assert reach >= radius * 0.95  # and the sphere is not loose
            R = random_rotation(rng)
            lowest = -(verts @ R.T)[:, 2].min()
            assert lowest <= depth_below_centre(shape, R) * (1 + 1e-5) <= radius * (1 + 2e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_describes_itself_in_the_meta(kind):
    shape = get_shape(kind).sample(np.random.default_rng(0), SceneConfig().sizes, 1.0)
    assert get_shape(kind).describe(shape) == shape
    obj = SceneObject(
        shape=shape, object_to_world=rigid(np.eye(3), [0, 0, 0]), material=Material((1, 1, 1))
    )
    scene = Scene(Camera(np.eye(3), np.eye(4), 8, 8), [obj], [])
    meta = json.loads(dumps_meta(frame_meta(scene, 0, "train", 0)))["objects"][0]["shape"]
    assert meta["type"] == kind and set(meta) == {"type", *get_shape(kind).fields}
    for field in get_shape(kind).fields:
        assert np.allclose(meta[field], shape[field], rtol=1e-8, atol=0)


# First draw of each kind from default_rng(0) at scale 1: the randomizer's stream, so frame
# bytes, depend on each kind making exactly these draws in this order.
PINNED = {
    "box": {"extents": [0.8821770123928727, 0.6618720282583221, 0.5245841143617168]},
    "sphere": {"radius": 0.4910885061964363},
    "cylinder": {"radius": 0.3592404218303636, "height": 0.6888506996347092},
    "cone": {"radius": 0.3592404218303636, "height": 0.6618720282583221},
    "torus": {"radius": 0.4092404218303636, "tube": 0.12277212654910907},
    "capsule": {"radius": 0.23465310371786177, "height": 0.46930620743572354},
}


@pytest.mark.parametrize("kind", KINDS)
def test_sampling_draws_are_pinned(kind):
    assert get_shape(kind).sample(np.random.default_rng(0), SceneConfig().sizes, 1.0) == {
        "type": kind,
        **PINNED[kind],
    }


def test_unknown_kinds_are_clear_errors():
    allowed = "'box', 'sphere', 'cylinder', 'cone', 'torus', 'capsule' or 'mesh'"
    with pytest.raises(SegsimError) as err:
        load_scene_config("shapes", overrides=["classes=[{name: pot, shape: teapot}]"])
    assert (
        "classes.0.shape" in str(err.value)
        and allowed in str(err.value)
        and "teapot" in str(err.value)
    )
    with pytest.raises(SegsimError) as err:
        load_scene_config("shapes", overrides={"distractors": {"shapes": {"teapot": 1.0}}})
    assert "distractors.shapes" in str(
        err.value
    ) and "box, sphere, cylinder, cone, torus, capsule, mesh" in str(err.value)
    for call in (
        lambda: get_shape("teapot"),
        lambda: bounding_radius({"type": "teapot"}),
        lambda: shape_to_unit({"type": "teapot"}),
        lambda: detail_level({}, 10.0),
    ):
        with pytest.raises(SegsimError, match="unknown shape type.*use one of box, sphere"):
            call()


def test_a_new_kind_is_one_registration(monkeypatch):
    monkeypatch.setattr("segsim.scene.shapes.base.SHAPES", dict(SHAPES))

    @register_shape
    class Ball(Sphere):
        name = "ball"

    assert "ball" in shape_names() and isinstance(get_shape("ball"), Shape)
    assert ClassSpec(name="b", shape="ball").shape == "ball"
    assert (
        load_scene_config(
            "shapes", overrides={"distractors": {"shapes": {"ball": 2.0}}}
        ).distractors.shapes["ball"]
        == 2.0
    )
    with pytest.raises(ValueError, match="registered twice"):
        register_shape(type("Other", (Sphere,), {"name": "ball"}))
