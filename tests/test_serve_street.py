"""Walking a street in the viewer: ground-locked at eye height, never into buildings, walls or
fences (the `construction` label group); label groups in the order 1-7 / F1-F7 isolate them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from segsim.cityscapes import CATEGORIES, train_labelset
from segsim.errors import SegsimError
from segsim.scene.geometry import rigid, rot_z
from segsim.scene.shapes.compound import compound_shape
from segsim.scene.spec import Camera, Material, Scene, SceneObject
from segsim.serve.app import create_app
from segsim.serve.camera_rig import (
    BODY_RADIUS,
    EYE_HEIGHT,
    STEP_HEIGHT,
    GroundRig,
    footprint,
    obstacles,
)
from segsim.serve.scenes import PresetSceneSource, make_rig
from segsim.serve.viewer import unpack_frame
from serve_fakes import FakePredictor, FakeSceneSource, look_at

LABELS = train_labelset()
ID = {lab.name: lab.id for lab in LABELS.labels}
GREY = Material((0.5, 0.5, 0.5))


def thing(cls: str, shape: dict, at, yaw: float = 0.0, instance: int = 1) -> SceneObject:
    return SceneObject(
        shape=shape,
        object_to_world=rigid(rot_z(yaw), at),
        material=GREY,
        class_id=ID[cls],
        class_name=cls,
        instance_id=instance,
    )


def box(x, y, z):
    return {"type": "box", "extents": [x, y, z]}


def street_scene(objects, eye=(0.0, 0.0, 1.5), target=(10.0, 0.0, 1.5), size=(32, 24)) -> Scene:
    w, h = size
    K = np.array([[20.0, 0, w / 2], [0, 20.0, h / 2], [0, 0, 1]])
    return Scene(Camera(K, look_at(eye, target), w, h), list(objects), [])


def rig_for(objects, eye=(0.0, 0.0, 1.5), target=(10.0, 0.0, 1.5)) -> GroundRig:
    return make_rig(street_scene(objects, eye, target), LABELS, "ground")


# --- footprints ------------------------------------------------------------------------------


def test_footprint_of_a_turned_box():
    fp = obstacles(
        street_scene([thing("building", box(2, 4, 6), (5, 1, 3), yaw=0.5)]), [ID["building"]]
    )
    assert len(fp) == 1
    f = fp[0]
    assert np.allclose(f.centre, (5, 1)) and np.allclose(sorted(f.half), (1, 2))
    assert np.isclose(abs(f.axes[0] @ (math.cos(0.5), math.sin(0.5))), 1) or np.isclose(
        abs(f.axes[1] @ (math.cos(0.5), math.sin(0.5))), 1
    )
    assert np.allclose(f.z, (0, 6))
    # a point just inside the long side is inside, one just outside is not
    long_axis = np.array([-math.sin(0.5), math.cos(0.5)])
    assert f.push(np.array([5, 1]) + 1.9 * long_axis, 0.0) is not None
    assert f.push(np.array([5, 1]) + 2.1 * long_axis, 0.0) is None


def test_compound_parts_have_footprints_of_their_own():
    """Two houses in one compound, a gap between them: the footprints are the houses', so the
    gap stays walkable (the hull of the compound would close it)."""
    houses = compound_shape(
        [
            {"type": "box", "extents": [4, 4, 6], "at": [0, -4, 3]},
            {"type": "box", "extents": [4, 4, 6], "at": [0, 4, 3], "yaw": 0.2},
        ]
    )
    fp = obstacles(street_scene([thing("building", houses, (8, 0, 0))]), [ID["building"]])
    assert len(fp) == 2
    assert all(f.push(np.array([8.0, 0.0]), BODY_RADIUS) is None for f in fp)
    assert fp[0].push(np.array([8.0, -4.0]), 0.0) is not None


def test_unit_cube_corners_map_through_the_piece():
    piece = rigid(rot_z(0.0), (1, 2, 3)) @ np.diag([2.0, 4.0, 6.0, 1.0])
    f = footprint(piece)
    assert np.allclose(f.centre, (2, 4)) and np.allclose(f.half, (1, 2)) and f.z == (3, 9)


# --- ground walking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "expected"), [(1.5, 1.5), (3.0, EYE_HEIGHT[1]), (0.4, EYE_HEIGHT[0])]
)
def test_eye_height_is_clamped_and_kept(z, expected):
    rig = rig_for([], eye=(0, 0, z), target=(10, 0, z - 3))  # looking down at the road
    assert math.isclose(rig.position[2], expected)
    rig.look(0.3, 0.4)
    for _ in range(20):
        rig.walk(0.5, 0.2)
    assert math.isclose(rig.position[2], expected)  # walking never climbs, whatever the view
    assert rig.position[0] > 5  # level walking along the view's heading


def test_walls_stop_the_walker_and_it_slides_along_them():
    wall = thing("wall", box(0.3, 40, 2.0), (6, 0, 1.0))
    rig = rig_for([wall])
    for _ in range(40):
        rig.walk(0.5, 0)
    assert 6 - 0.15 - BODY_RADIUS - 1e-3 < rig.position[0] <= 6 - 0.15 - BODY_RADIUS + 1e-3
    rig.walk(1.0, 1.0)  # into the wall at 45 degrees: the sideways part is kept
    assert rig.position[0] <= 6 - 0.15 - BODY_RADIUS + 1e-3 and rig.position[1] < -0.9  # right: -y


def test_a_thin_fence_is_not_stepped_through_in_one_long_move():
    fence = thing("fence", box(0.04, 10, 1.4), (2, 0, 0.7))
    rig = rig_for([fence])
    rig.walk(5.0, 0)  # the largest move a viewer message may ask for
    assert rig.position[0] < 2 - BODY_RADIUS + 1e-3
    assert not rig.blocked(rig.position[:2])


def test_only_construction_blocks_and_only_between_ground_and_eyes():
    kerb = thing("building", box(2, 10, STEP_HEIGHT * 0.5), (3, 0, STEP_HEIGHT * 0.25))
    balcony = thing("building", box(2, 10, 1.0), (6, 0, 3.5), instance=2)
    car = thing("car", box(4, 2, 1.5), (9, 0, 0.75), instance=3)
    tree = thing("vegetation", box(1, 1, 6), (11, 0, 3), instance=4)
    house = thing("building", box(4, 10, 8), (16, 0, 4), instance=5)
    rig = rig_for([kerb, balcony, car, tree, house])
    assert len(rig.footprints) == 1  # the house; the kerb is low, the balcony overhead
    for _ in range(60):
        rig.walk(0.5, 0)
    assert math.isclose(rig.position[0], 14 - BODY_RADIUS, abs_tol=1e-3)


def test_a_camera_starting_inside_a_building_is_put_outside():
    rig = rig_for([thing("building", box(4, 4, 8), (0.5, 0, 4))])
    assert not rig.blocked(rig.position[:2])
    assert math.isclose(abs(rig.position[0] - 0.5), 2 + BODY_RADIUS, abs_tol=1e-3) or math.isclose(
        abs(rig.position[1]), 2 + BODY_RADIUS, abs_tol=1e-3
    )


def test_free_walk_passes_through_everything():
    wall = thing("wall", box(0.3, 40, 2.0), (6, 0, 1.0))
    rig = make_rig(street_scene([wall]), LABELS, "free")
    for _ in range(20):
        rig.walk(0.5, 0)
    assert rig.position[0] > 9


# --- scene sources and the viewer ------------------------------------------------------------


def test_preset_sources_walk_free_unless_asked_or_street():
    src = PresetSceneSource("shapes", 0, 32, 24)
    assert src.walk == "free"
    ground = PresetSceneSource("shapes", 0, 32, 24, walk="ground")
    rig = ground.make_rig(ground.scene(0))
    assert isinstance(rig, GroundRig) and EYE_HEIGHT[0] <= rig.position[2] <= EYE_HEIGHT[1]
    with pytest.raises(SegsimError, match="walk must be one of"):
        PresetSceneSource("shapes", 0, 32, 24, walk="fly")


@pytest.mark.slow  # samples a whole street (library meshes)
def test_the_street_preset_walks_on_the_ground():
    from segsim.scene.presets import list_presets

    if "street" not in list_presets():
        pytest.skip("the street preset is not there yet")
    src = PresetSceneSource("street", 0, 64, 32)
    assert src.walk == "ground"
    scene = src.scene(0)
    rig = src.make_rig(scene)
    assert rig.footprints  # the street has buildings, walls or fences
    assert not rig.blocked(rig.position[:2])


class StreetFake(FakeSceneSource):
    """The fake balls scene with a wall of class `wall` 3 m ahead and Cityscapes labels."""

    walk = "ground"

    def __init__(self):
        super().__init__(48, 32)
        self.labels = LABELS

    def scene(self, index):
        s = super().scene(index)
        eye = np.linalg.inv(s.camera.world_to_camera)[:3, 3]
        s.camera.world_to_camera = look_at(eye, eye + np.array([0, 1.0, 0]))
        s.objects = [thing("wall", box(20, 0.3, 2), (eye[0], eye[1] + 3, 1))]
        return s

    def make_rig(self, scene):
        return make_rig(scene, self.labels, "ground")


@pytest.fixture()
def street_viewer():
    predictor = FakePredictor()
    predictor.labels = LABELS
    with (
        TestClient(create_app(predictor, StreetFake())) as c,
        c.websocket_connect("/ws/viewer") as ws,
    ):
        yield c, ws, json.loads(ws.receive_text())


def ask(ws, **req):
    ws.send_text(json.dumps({"type": "frame", **req}))
    msg = ws.receive()
    assert msg.get("bytes") is not None, msg
    return unpack_frame(msg["bytes"])[0]


def test_viewer_walks_the_street_on_the_ground(street_viewer):
    _, ws, meta = street_viewer
    assert meta["scene"]["walk"] == "ground"
    start = ask(ws, seq=1)["camera_position"]
    assert math.isclose(start[2], 1.5, abs_tol=1e-3)
    for i in range(8):
        header = ask(ws, seq=2 + i, walk=[1.0, 0.0], look=[0.0, 0.2])
    end = header["camera_position"]
    assert math.isclose(end[2], start[2], abs_tol=1e-3)  # looked up and walked: still at eye level
    assert math.isclose(end[1], start[1] + 3 - 0.15 - BODY_RADIUS, abs_tol=2e-3)  # at the wall


def test_groups_come_in_label_set_order_for_the_keys(street_viewer):
    """The page maps 1-7 / F1-F7 to the meta's groups in order: for Cityscapes labels that is
    the seven categories, as in the original tool."""
    c, _, meta = street_viewer
    assert list(meta["model"]["groups"])[:7] == list(CATEGORIES)
    assert meta["model"]["groups"]["construction"] == [ID["building"], ID["wall"], ID["fence"]]
    info = c.get("/v1/model").json()
    assert list(info["groups"]) == list(CATEGORIES)


def test_viewer_page_binds_f1_to_f7_and_prevents_their_defaults():
    from pathlib import Path

    import segsim.serve

    js = (Path(segsim.serve.__file__).parent / "static" / "viewer.js").read_text()
    assert "F1: 0, F2: 1, F3: 2, F4: 3, F5: 4, F6: 5, F7: 6" in js
    assert "if (handled) e.preventDefault();" in js
