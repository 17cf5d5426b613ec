"""Scene config, presets and the randomizer: errors name the field, sampling is pure and
deterministic, placement and framing keep labelled objects separate and in view."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from segsim.errors import SegsimError
from segsim.scene.config import SceneConfig, load_scene_config
from segsim.scene.geometry import depth_below_centre, random_rotation
from segsim.scene.presets import list_presets, load_preset
from segsim.scene.randomize import sample_scene
from segsim.scene.spec import scene_to_dict


@pytest.fixture(scope="module")
def cfg():
    return load_scene_config("shapes")


# --- presets and config -------------------------------------------------------------------------
def test_presets_are_listed_with_descriptions():
    presets = list_presets()
    assert presets.get("shapes")
    assert load_preset("shapes")["name"] == "shapes"


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(SegsimError) as err:
        load_preset("nope")
    assert "nope" in str(err.value) and "shapes" in str(err.value)


def test_shapes_preset_label_set(cfg):
    labels = cfg.label_set()
    assert labels.names == ["background", "cube", "sphere", "cylinder"]
    assert [lab.id for lab in labels.labels] == [0, 1, 2, 3]
    assert [c.shape for c in cfg.classes] == ["box", "sphere", "cylinder"]


def test_yaml_file_and_overrides_merge_in_order(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("objects:\n  count: [3, 3]\ncamera:\n  fov_deg: [50, 50]\n")
    c = load_scene_config("shapes", path, ["camera.fov_deg=[40, 40]", "ground.probability=0"])
    assert c.objects.count == (3, 3)  # from the file
    assert c.camera.fov_deg == (40, 40)  # override beats file
    assert c.ground.probability == 0
    assert c.classes[0].name == "cube"  # preset kept where nothing overrides it
    assert load_scene_config("shapes", overrides={"objects": {"count": [1, 2]}}).objects.count == (
        1,
        2,
    )


def test_a_partial_ground_material_changes_the_grounds_own_defaults():
    from segsim.scene.config import GROUND_MATERIAL, GroundConfig, MaterialConfig

    m = GroundConfig.model_validate({"material": {"value": [0.3, 0.4]}}).material
    assert m.value == (0.3, 0.4)
    # everything else is the ground's default, not the objects' material defaults
    assert m.specular == GROUND_MATERIAL.specular != MaterialConfig().specular
    assert m.texture.scale == GROUND_MATERIAL.texture.scale
    assert m.texture.probability == GROUND_MATERIAL.texture.probability


@pytest.mark.parametrize(
    "override, field, hint",
    [
        (["objects.cuont=3"], "objects.cuont", "allowed fields here"),
        (["objects.count=[5, 2]"], "objects.count", "low <= high"),
        (["classes=[{name: cube, shape: teapot}]"], "classes.0.shape", "'box'"),
        (["background.kinds={plaid: 1}"], "background.kinds", "clutter"),
        (["postfx.probability=2"], "postfx.probability", "less than or equal to 1"),
        (["background.kinds={image: 1}"], "image_dir", "background.image_dir"),
        (["classes=[{name: background, shape: box}]"], "classes", "class 0"),
        (["sizes.sphere_radius=[-1, 1]"], "sizes.sphere_radius", "positive"),
        (["sizes.torus_tube_ratios=[1.5]"], "sizes.torus_tube_ratios", "< 1"),
        (["camera.rotation=yaw"], "camera.rotation", "framing"),
        (["objects.rotation=tumble"], "objects.rotation", "'upright'"),
    ],
)
def test_config_errors_name_the_field_and_allowed_values(override, field, hint):
    with pytest.raises(SegsimError) as err:
        load_scene_config("shapes", overrides=override)
    msg = str(err.value)
    assert field in msg and hint in msg, msg


def test_config_file_errors(tmp_path):
    with pytest.raises(SegsimError, match="not found"):
        load_scene_config("shapes", tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("lights: {count: [1, 2}\n")
    with pytest.raises(SegsimError, match="not valid YAML"):
        load_scene_config("shapes", bad)


def test_image_dir_must_hold_images(tmp_path):
    with pytest.raises(SegsimError, match="folder not found"):
        load_scene_config(
            "shapes",
            overrides={"background": {"kinds": {"image": 1}, "image_dir": str(tmp_path / "x")}},
        )
    with pytest.raises(SegsimError, match="no images"):
        load_scene_config(
            "shapes", overrides={"background": {"kinds": {"image": 1}, "image_dir": str(tmp_path)}}
        )


def test_model_dump_round_trips(cfg):
    again = SceneConfig.model_validate(json.loads(json.dumps(cfg.model_dump(mode="json"))))
    assert again == cfg


# --- sampling -----------------------------------------------------------------------------------
def test_sampling_is_pure_and_deterministic(cfg):
    a = scene_to_dict(sample_scene(cfg, 5, 17, 128, 96))
    sample_scene(cfg, 5, 3, 128, 96)  # other frames in between change nothing
    b = scene_to_dict(sample_scene(cfg, 5, 17, 128, 96))
    assert a == b
    assert a != scene_to_dict(sample_scene(cfg, 5, 18, 128, 96))
    assert a != scene_to_dict(sample_scene(cfg, 6, 17, 128, 96))


def test_objects_respect_counts_classes_and_instances(cfg):
    for i in range(30):
        s = sample_scene(cfg, 0, i, 128, 128)
        labelled = s.labelled_objects()
        assert 1 <= len(labelled) <= cfg.objects.count[1]
        assert [o.instance_id for o in labelled] == list(range(1, len(labelled) + 1))
        for o in labelled:
            assert cfg.classes[o.class_id - 1].name == o.class_name
            assert cfg.classes[o.class_id - 1].shape == o.shape["type"]
        distractors = [o for o in s.objects if o.distractor]
        assert len(distractors) <= cfg.distractors.count[1]
        assert all(o.class_id == 0 and o.instance_id == 0 for o in distractors)
        assert all(o.shape["type"] in cfg.distractors.shapes for o in distractors)


def test_every_class_and_many_variations_appear(cfg):
    scenes = [sample_scene(cfg, 1, i, 64, 64) for i in range(60)]
    classes = {o.class_name for s in scenes for o in s.labelled_objects()}
    assert classes == {"cube", "sphere", "cylinder"}
    assert {s.background.kind for s in scenes} >= {"solid", "gradient", "noise", "clutter"}
    assert any(s.ground is not None for s in scenes) and any(s.ground is None for s in scenes)
    assert any(o.material.texture is not None for s in scenes for o in s.objects)
    assert any(s.postfx.noise_std > 0 for s in scenes)
    assert len({len(s.lights) for s in scenes}) > 1


def _support_from_mesh(shape, R):
    """Independent check of depth_below_centre: lowest vertex of a fine trimesh of the shape."""
    t = shape["type"]
    if t == "box":
        m = trimesh.creation.box(extents=shape["extents"])
    elif t == "sphere":
        m = trimesh.creation.icosphere(5, shape["radius"])
    elif t == "cylinder":
        m = trimesh.creation.cylinder(shape["radius"], shape["height"], sections=512)
    elif t == "cone":
        m = trimesh.creation.cone(shape["radius"], shape["height"], sections=512)
        m.apply_translation((0, 0, -shape["height"] / 2))
    elif t == "torus":
        m = trimesh.creation.torus(shape["radius"], shape["tube"], 256, 128)
    else:
        m = trimesh.creation.capsule(shape["height"], shape["radius"], count=[128, 128])
    return -float((m.vertices @ R.T)[:, 2].min())


@pytest.mark.parametrize(
    "shape",
    [
        {"type": "box", "extents": [0.4, 0.9, 0.6]},
        {"type": "sphere", "radius": 0.5},
        {"type": "cylinder", "radius": 0.3, "height": 1.1},
        {"type": "cone", "radius": 0.4, "height": 0.7},
        {"type": "torus", "radius": 0.5, "tube": 0.15},
        {"type": "capsule", "radius": 0.2, "height": 0.6},
    ],
)
def test_objects_can_rest_exactly_on_the_ground(shape):
    rng = np.random.default_rng(0)
    for _ in range(5):
        R = random_rotation(rng)
        assert depth_below_centre(shape, R) == pytest.approx(_support_from_mesh(shape, R), abs=2e-3)


def test_placement_avoids_heavy_interpenetration_and_stays_above_ground(cfg):
    tol = cfg.objects.overlap_tolerance
    from segsim.scene.geometry import bounding_radius

    for i in range(30):
        s = sample_scene(cfg, 2, i, 64, 64)
        centres = [np.asarray(o.object_to_world)[:3, 3] for o in s.objects]
        radii = [bounding_radius(o.shape) for o in s.objects]
        for a in range(len(centres)):
            R = np.asarray(s.objects[a].object_to_world)[:3, :3]
            assert (
                centres[a][2] - depth_below_centre(s.objects[a].shape, R) >= -1e-9
            )  # not below z = 0
            for b in range(a):
                assert (
                    np.linalg.norm(centres[a] - centres[b])
                    >= (radii[a] + radii[b]) * (1 - tol) - 1e-9
                )


def test_labelled_objects_are_in_front_of_and_inside_the_camera_view(cfg):
    inside = total = 0
    for i in range(40):
        s = sample_scene(cfg, 4, i, 128, 96)
        K, w2c = s.camera.K, s.camera.world_to_camera
        assert np.allclose(w2c[:3, :3] @ w2c[:3, :3].T, np.eye(3), atol=1e-9)  # a rotation
        for o in s.labelled_objects():
            p = w2c @ np.asarray(o.object_to_world)[:, 3]
            assert p[2] > 0.5  # well in front of the camera
            u, v = (K @ (p[:3] / p[2]))[:2]
            inside += (0 <= u < 128) and (0 <= v < 96)
            total += 1
    assert inside / total > 0.9


def test_image_backgrounds_and_textures_come_from_the_user_folder(tmp_path):
    from PIL import Image

    for name in ("b.png", "a.jpg"):
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    c = load_scene_config(
        "shapes",
        overrides={
            "background": {
                "kinds": {"image": 1000},
                "image_dir": str(tmp_path),
            },  # merged: others stay
            "material": {
                "texture": {"probability": 1, "kinds": {"image": 1000}, "image_dir": str(tmp_path)}
            },
        },
    )
    scenes = [sample_scene(c, 0, i, 32, 32) for i in range(10)]
    assert [s.background.kind for s in scenes].count("image") >= 9
    used = {s.background.path for s in scenes if s.background.kind == "image"}
    used |= {
        o.material.texture.path
        for s in scenes
        for o in s.objects
        if o.material.texture.kind == "image"
    }
    assert used == {str(tmp_path / "a.jpg"), str(tmp_path / "b.png")}


def test_resolved_config_reloads_from_yaml_identically(cfg, tmp_path):
    """dataset.yaml stores cfg.model_dump(mode="json"); loading that file alone (no preset)
    must give the same config, so a dataset can be regenerated from its own folder."""
    import yaml

    custom = load_scene_config("shapes", overrides=["objects.count=[4, 5]", "ground.probability=1"])
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(custom.model_dump(mode="json")))
    again = load_scene_config(None, path)
    assert again == custom
    assert scene_to_dict(sample_scene(again, 3, 2, 64, 64)) == scene_to_dict(
        sample_scene(custom, 3, 2, 64, 64)
    )
