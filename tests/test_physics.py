"""Physics placement (`scene/physics.py`): objects dropped with MuJoCo end on the ground or on
each other, not below it nor inside each other, and the same drop gives the same bits anywhere."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import numpy as np
import pytest

from segsim.errors import SegsimError
from segsim.scene.geometry import random_rotation, rot_z
from segsim.scene.physics import Body, settle
from segsim.scene.shapes import get_shape

HAS_MUJOCO = True
try:
    import mujoco  # noqa: F401
except ImportError:
    HAS_MUJOCO = False
needs_mujoco = pytest.mark.skipif(not HAS_MUJOCO, reason="mujoco is not installed")

TOL = 0.005  # metres: how far below the ground a lowest point may end up
PRIMITIVES = ("box", "sphere", "cylinder", "cone", "torus", "capsule")

# a fixed drop, run in this process and in a fresh one (same text, so the same input bits)
DROP = """
import numpy as np
from segsim.scene.physics import Body
def drop_bodies():
    a = np.array([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]])
    return [
        Body({"type": "box", "extents": [0.7, 0.5, 0.4]}, np.eye(3), np.array([0.0, 0.0, 0.5])),
        Body({"type": "sphere", "radius": 0.3}, np.eye(3), np.array([0.1, 0.05, 1.4])),
        Body({"type": "cone", "radius": 0.3, "height": 0.7}, a, np.array([0.9, 0.2, 0.6])),
        Body({"type": "torus", "radius": 0.4, "tube": 0.12}, a.T, np.array([-0.2, 0.9, 0.8])),
        Body({"type": "capsule", "radius": 0.2, "height": 0.4}, a, np.array([-0.9, -0.5, 1.0])),
    ]
"""


def digest(poses: list[np.ndarray]) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(T).tobytes() for T in poses)).hexdigest()


def lowest(body: Body, T: np.ndarray) -> float:
    """World z of the lowest point of a settled body (the kind's support along -z)."""
    return float(T[2, 3] - get_shape(body.shape["type"]).depth_below_centre(body.shape, T[:3, :3]))


def inside(shape: dict, p: np.ndarray) -> np.ndarray:
    """Which object-frame points lie inside the true (not the collision) shape."""
    x, y, z = p.T
    kind, rho = shape["type"], np.hypot(p[:, 0], p[:, 1])
    if kind == "box":
        return np.all(np.abs(p) <= np.asarray(shape["extents"]) / 2, axis=1)
    if kind == "sphere":
        return np.linalg.norm(p, axis=1) <= shape["radius"]
    r, h = shape.get("radius"), shape.get("height")
    if kind == "cylinder":
        return (rho <= r) & (np.abs(z) <= h / 2)
    if kind == "capsule":
        return np.linalg.norm(p - np.outer(np.clip(z, -h / 2, h / 2), [0, 0, 1]), axis=1) <= r
    if kind == "cone":  # apex at +h/2
        return (np.abs(z) <= h / 2) & (rho <= r * (h / 2 - z) / h)
    if kind == "torus":
        return (rho - shape["radius"]) ** 2 + z**2 <= shape["tube"] ** 2
    raise AssertionError(kind)


def interior_points(shape: dict, rng: np.random.Generator, n: int = 3000) -> np.ndarray:
    b = get_shape(shape["type"]).bounding_radius(shape)
    p = rng.uniform(-b, b, size=(n * 8, 3))
    return p[inside(shape, p)][:n]


def heap(n: int, seed: int) -> list[Body]:
    """n mixed primitives at random rotations, as low as they go without their bounding spheres
    touching: a heap a few objects deep over a 1.5 m disc."""
    from segsim.scene.config import ShapeSizes

    rng, sizes, bodies = np.random.default_rng(seed), ShapeSizes(), []
    for i in range(n):
        kind = get_shape(PRIMITIVES[i % len(PRIMITIVES)])
        shape = kind.sample(rng, sizes, 1.0)
        r = kind.bounding_radius(shape)
        a, rad = rng.uniform(0, 2 * np.pi), 1.5 * np.sqrt(rng.uniform())
        c = np.array([rad * np.cos(a), rad * np.sin(a), r + 0.02])
        while any(
            np.linalg.norm(c - b.centre) < r + get_shape(b.shape["type"]).bounding_radius(b.shape)
            for b in bodies
        ):
            c[2] += 0.05
        bodies.append(Body(shape, random_rotation(rng), c))
    return bodies


@needs_mujoco
def test_box_dropped_from_a_metre_rests_on_the_ground_upright():
    box = Body({"type": "box", "extents": [0.6, 0.8, 0.4]}, rot_z(0.5), np.array([0.3, -0.2, 1.2]))
    (T,) = settle([box])
    assert abs(lowest(box, T)) <= TOL
    assert T[2, 2] > 0.999  # still upright
    assert np.allclose(T[:2, 3], [0.3, -0.2], atol=0.01)  # fell straight down


@needs_mujoco
def test_tumbling_box_ends_face_down():
    box = Body(
        {"type": "box", "extents": [0.6, 0.8, 0.4]},
        random_rotation(np.random.default_rng(3)),
        np.array([0.0, 0.0, 1.5]),
    )
    (T,) = settle([box])
    corners = np.array([[x, y, z] for x in (-0.3, 0.3) for y in (-0.4, 0.4) for z in (-0.2, 0.2)])
    z = corners @ T[:3, :3].T[:, 2] + T[2, 3]
    assert z.min() >= -TOL
    assert np.sum(np.abs(z) <= TOL) >= 4  # a whole face on the ground, not balanced on an edge


@needs_mujoco
def test_sphere_dropped_on_a_box_ends_on_top_of_it():
    box = Body({"type": "box", "extents": [1.0, 1.0, 0.5]}, np.eye(3), np.array([0, 0, 0.26]))
    ball = Body({"type": "sphere", "radius": 0.3}, np.eye(3), np.array([0.05, 0.0, 1.2]))
    Tb, Ts = settle([box, ball])
    assert abs(lowest(box, Tb)) <= TOL
    assert abs(Ts[2, 3] - (0.5 + 0.3)) <= TOL  # resting on the top face
    assert np.all(np.abs(Ts[:2, 3]) < 0.5)  # within the face


@needs_mujoco
@pytest.mark.parametrize("seed", [0, 1])
def test_heap_of_ten_ends_above_ground_and_not_inside_each_other(seed):
    bodies = heap(10, seed)
    poses = settle(bodies)
    rng = np.random.default_rng(seed)
    for body, T in zip(bodies, poses, strict=True):
        assert lowest(body, T) >= -TOL, body.shape["type"]
        assert np.all(np.isfinite(T)) and np.linalg.norm(T[:2, 3]) < 6, "thrown out of the heap"
        assert np.allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-9)
    world = [
        interior_points(b.shape, rng) @ T[:3, :3].T + T[:3, 3]
        for b, T in zip(bodies, poses, strict=True)
    ]
    for i, (bi, Ti) in enumerate(zip(bodies, poses, strict=True)):
        for j, pts in enumerate(world):
            if i != j:
                local = (pts - Ti[:3, 3]) @ Ti[:3, :3]  # world -> body i's frame
                share = inside(bi.shape, local).mean()
                name = bodies[j].shape["type"]
                assert share < 0.01, f"{name} {j} is {share:.1%} inside {bi.shape}"


@needs_mujoco
def test_same_drop_same_bits_in_this_and_a_fresh_process():
    ns: dict = {}
    exec(DROP, ns)
    first = settle(ns["drop_bodies"]())
    assert digest(first) == digest(settle(ns["drop_bodies"]()))
    script = DROP + (
        "\nimport hashlib\nfrom segsim.scene.physics import settle\n"
        "poses = settle(drop_bodies())\n"
        "print(hashlib.sha256(b''.join(np.ascontiguousarray(T).tobytes() for T in poses))"
        ".hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == digest(first)


@needs_mujoco
def test_mesh_shape_rests_on_the_ground(tmp_path):
    import trimesh.creation as tc

    from segsim.scene.classes import ClassSpec
    from segsim.scene.config import ShapeSizes

    path = tmp_path / "w.obj"
    tc.box(extents=(2.0, 1.0, 3.0)).export(path)
    spec = ClassSpec(name="w", shape="mesh", assets=str(path), height=(0.5, 0.5), up="z")
    shape = get_shape("mesh").sample(np.random.default_rng(0), ShapeSizes(), 1.0, spec)
    body = Body(shape, rot_z(0.3), np.array([0.0, 0.0, 1.0]))
    (T,) = settle([body])
    key, scale = get_shape("mesh").unit_key_and_scale(shape)
    verts = np.asarray(get_shape("mesh").unit_mesh(key, 0).vertices) @ scale[:3, :3].T
    z = verts @ T[:3, :3].T[:, 2] + T[2, 3]
    assert abs(z.min()) <= TOL
    assert T[2, 2] > 0.999  # 0.5 m tall, 1/3 x 1/6 m base: it fell flat, but stays upright
    assert abs(T[2, 3] - 0.25) <= TOL


@needs_mujoco
def test_a_mesh_files_hull_is_made_once_per_machine(tmp_path, monkeypatch):
    """A fresh worker reads a model's collision hull from the asset cache: no qhull again."""
    import trimesh
    import trimesh.creation as tc

    from segsim.scene import physics
    from segsim.scene.classes import ClassSpec
    from segsim.scene.config import ShapeSizes

    path = tmp_path / "ball.obj"
    tc.icosphere(subdivisions=3).export(path)  # 642 vertices: MuJoCo's hull keeps 64
    spec = ClassSpec(name="b", shape="mesh", assets=str(path), height=(0.4, 0.4), up="z")
    shape = get_shape("mesh").sample(np.random.default_rng(0), ShapeSizes(), 1.0, spec)
    key, _ = get_shape("mesh").unit_key_and_scale(shape)
    physics._unit_hull.cache_clear()
    points, volume = physics._unit_hull("mesh", key, 0)
    assert len(points) <= physics.MAX_HULL_VERTICES and volume > 0
    physics._unit_hull.cache_clear()  # as a new process finds it

    def no_qhull(*a, **k):
        raise AssertionError("the hull was computed again")

    monkeypatch.setattr(trimesh.convex, "convex_hull", no_qhull)
    again, volume_again = physics._unit_hull("mesh", key, 0)
    assert np.array_equal(again, points) and volume_again == volume
    physics._unit_hull.cache_clear()


@needs_mujoco
@pytest.mark.filterwarnings(
    "ignore:invalid value:RuntimeWarning"
)  # trimesh: a flat hull's centroid
def test_flat_mesh_collides_as_a_thin_box(tmp_path):
    import trimesh

    from segsim.scene.classes import ClassSpec
    from segsim.scene.config import ShapeSizes
    from segsim.scene.geometry import rot_x

    path = tmp_path / "sheet.obj"  # an upright sheet: no volume for a hull
    trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]], [[0, 1, 2], [0, 2, 3]]).export(
        path
    )
    spec = ClassSpec(name="s", shape="mesh", assets=str(path), height=(0.5, 0.5), up="z")
    shape = get_shape("mesh").sample(np.random.default_rng(0), ShapeSizes(), 1.0, spec)
    (T,) = settle([Body(shape, rot_x(1.4), np.array([0.0, 0.0, 1.0]))])
    assert abs(T[2, 3]) <= TOL  # fell flat, on the ground
    assert abs(T[:3, :3][2, 1]) > 0.999  # its normal (local y) points up or down


@needs_mujoco
def test_sphere_falls_through_the_hole_of_a_flat_torus():
    ring = Body({"type": "torus", "radius": 0.4, "tube": 0.1}, np.eye(3), np.array([0, 0, 0.12]))
    ball = Body({"type": "sphere", "radius": 0.2}, np.eye(3), np.array([0.0, 0.0, 0.8]))
    Tr, Tb = settle([ring, ball])
    assert abs(lowest(ring, Tr)) <= TOL and Tr[2, 2] > 0.999
    assert abs(Tb[2, 3] - 0.2) <= TOL  # on the ground, not held up by a hull over the hole


@needs_mujoco
def test_unknown_kind_is_a_segsim_error():
    with pytest.raises(SegsimError, match="blob"):
        settle([Body({"type": "blob"}, np.eye(3), np.zeros(3))])


@needs_mujoco
def test_kind_without_geometry_is_a_segsim_error_naming_it(monkeypatch):
    from segsim.scene.shapes import SHAPES, Shape

    class Blob(Shape):
        name = "blob"
        fields = ()

    monkeypatch.setitem(SHAPES, "blob", Blob())
    with pytest.raises(SegsimError, match="'blob'"):
        settle([Body({"type": "blob"}, np.eye(3), np.zeros(3))])


def test_missing_mujoco_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", None)  # import mujoco -> ImportError
    box = Body({"type": "box", "extents": [1, 1, 1]}, np.eye(3), np.array([0, 0, 1.0]))
    with pytest.raises(SegsimError, match="pip install mujoco"):
        settle([box])


@needs_mujoco
def test_ten_objects_settle_quickly():
    bodies = heap(10, 2)
    settle(bodies)  # warm the hull cache
    times = []
    for _ in range(3):
        start = time.perf_counter()
        settle(bodies)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.5  # ~12 ms here; generous, shared CI cores


def test_drop_placement_in_a_scene_config_rests_everything_on_the_ground():
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene
    from segsim.scene.shapes import kind_of

    cfg = load_scene_config("shapes", overrides={"objects": {"placement": "drop", "count": [4, 6]}})
    for i in range(3):
        scene = sample_scene(cfg, 9, i, 64, 64)
        again = sample_scene(cfg, 9, i, 64, 64)
        for a, b in zip(scene.objects, again.objects, strict=True):
            assert np.array_equal(a.object_to_world, b.object_to_world)  # a function of (seed, i)
        for obj in scene.objects:
            m = np.asarray(obj.object_to_world)
            lowest = m[2, 3] - kind_of(obj.shape).depth_below_centre(obj.shape, m[:3, :3])
            assert lowest > -0.005
        # resting, not floating: at least one object touches the ground
        assert (
            min(
                np.asarray(o.object_to_world)[2, 3]
                - kind_of(o.shape).depth_below_centre(
                    o.shape, np.asarray(o.object_to_world)[:3, :3]
                )
                for o in scene.objects
            )
            < 0.005
        )
    # sampled placement writes no physics fields into dataset.yaml (old datasets still resume)
    assert "placement" not in load_scene_config("shapes").model_dump()["objects"]
