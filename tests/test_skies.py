"""HDR skies (assets/skies.py), the sky dome (BG_SKY in background.frag.glsl), its labels, haze,
config and credits."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from render_fixtures import get_renderer
from segsim.assets import skies
from segsim.errors import SegsimError
from segsim.scene.geometry import look_at_opencv, rigid
from segsim.scene.spec import Background, Camera, Light, Material, Scene, SceneObject

W, H = 48, 36
installed = pytest.mark.skipif(
    not skies.SKY_DIR.is_dir(), reason="Debian blender-data (the CC0 skies) is not installed"
)


def write_exr(path, rgb: np.ndarray) -> str:
    import OpenEXR

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": np.ascontiguousarray(rgb, np.float32)}) as f:
        f.write(str(path))
    return str(path)


def banded_sky(height=64, width=128) -> np.ndarray:
    """Above 45 degrees red, 0..45 green, below the horizon blue; and a white stripe in the green
    band around azimuth 0 (the +x direction, column width / 2)."""
    rgb = np.zeros((height, width, 3), np.float32)
    rgb[: height // 4] = (1.0, 0.02, 0.02)
    rgb[height // 4 : height // 2] = (0.02, 1.0, 0.02)
    rgb[height // 2 :] = (0.02, 0.02, 1.0)
    rgb[height // 4 : height // 2, width // 2 - 4 : width // 2 + 4] = (1.0, 1.0, 1.0)
    return rgb


def camera_looking(azimuth_deg: float, elevation_deg: float, fov_deg=30.0) -> Camera:
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    d = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    eye = np.array([0.0, 0.0, 1.5])
    f = (H / 2) / math.tan(math.radians(fov_deg) / 2)
    K = np.array([[f, 0, W / 2], [0, f, H / 2], [0, 0, 1.0]])
    return Camera(K, look_at_opencv(eye, eye + d), W, H)


def sky_scene(camera, background, objects=()) -> Scene:
    return Scene(
        camera=camera,
        objects=list(objects),
        lights=[Light((0.3, 0.2, -1.0))],
        background=background,
    )


def centre(frame) -> np.ndarray:
    return frame.rgb[H // 2 - 2 : H // 2 + 2, W // 2 - 2 : W // 2 + 2].reshape(-1, 3).mean(0)


# --- reading and caching ---------------------------------------------------------------------


def test_read_exr_replaces_nan_and_infinities(tmp_path):
    rgb = np.full((8, 16, 3), 0.5, np.float32)
    rgb[0, 0] = np.nan
    rgb[1, 1] = np.inf
    rgb[2, 2] = -np.inf
    rgb[3, 3] = -2.0
    rgb[4, 4] = 3.0
    out = skies.read_exr(write_exr(tmp_path / "nan.exr", rgb))
    assert out.shape == (8, 16, 3) and np.isfinite(out).all()
    assert (out[0, 0] == 0).all() and (out[2, 2] == 0).all() and (out[3, 3] == 0).all()
    assert (out[1, 1] == 3.0).all()  # +inf -> the brightest finite value
    assert np.allclose(out[5:], 0.5)


@installed
def test_installed_skies_decode_finite_and_plausible():
    files = skies.list_skies()
    assert {f.stem for f in files} >= set(skies.OUTDOOR_SKIES)
    for f in files:
        hdr = skies.read_exr(f)
        assert np.isfinite(hdr).all() and hdr.min() >= 0 and hdr.max() > 1
    sky = skies.load_sky("sunset")
    assert sky.image.shape == (skies.SKY_WIDTH // 2, skies.SKY_WIDTH, 3)
    assert sky.image.dtype == np.uint8 and 40 < sky.image.mean() < 200  # exposed, not blown out
    assert 0 <= math.degrees(sky.sun_elevation) < 15  # a sunset's sun is low
    # above the horizon is brighter than the paving below it
    assert sky.image[: sky.image.shape[0] // 2].mean() > sky.image[-20:].mean()


def test_skies_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    path = write_exr(tmp_path / "band.exr", banded_sky())
    skies.load_sky.cache_clear()
    first = skies.load_sky(path, width=64)
    cached = list((tmp_path / "cache" / "skies").glob("band-*-64-*.npz"))
    assert len(cached) == 1 and first.image.shape == (32, 64, 3)
    skies.load_sky.cache_clear()
    monkeypatch.setattr(skies, "decode_sky", lambda *a: pytest.fail("decoded again"))
    second = skies.load_sky(path, width=64)
    assert np.array_equal(first.image, second.image) and first.sun == second.sun
    skies.load_sky.cache_clear()


def test_unknown_sky_names_the_ones_there_are(tmp_path):
    write_exr(tmp_path / "a.exr", banded_sky(8, 16))
    with pytest.raises(SegsimError, match="unknown sky 'nope'") as e:
        skies.sky_path("nope", tmp_path)
    assert "a" in e.value.fix
    with pytest.raises(SegsimError, match="no HDR skies"):
        skies.list_skies(tmp_path / "empty")


# --- the dome --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer():
    return get_renderer(W, H)


@pytest.fixture(scope="module")
def band_path(tmp_path_factory):
    return write_exr(tmp_path_factory.mktemp("sky") / "band.exr", banded_sky())


@pytest.mark.parametrize(
    ("azimuth", "elevation", "dominant"),
    [(90, 70, 0), (90, 20, 1), (90, -30, 2), (180, 75, 0), (-90, 20, 1)],
)
def test_dome_lookup_follows_the_view_direction(renderer, band_path, azimuth, elevation, dominant):
    frame = renderer.render(
        sky_scene(camera_looking(azimuth, elevation), Background("sky", path=band_path))
    )
    c = centre(frame)
    assert int(np.argmax(c)) == dominant, c
    assert c[dominant] > 120 and np.sort(c)[1] < 60


def test_dome_lookup_azimuth_and_turn(renderer, band_path):
    sky = Background("sky", path=band_path)
    white = centre(renderer.render(sky_scene(camera_looking(0, 20), sky)))
    assert white.min() > 200  # the stripe at azimuth 0 (+x)
    side = centre(renderer.render(sky_scene(camera_looking(90, 20), sky)))
    assert side[0] < 60 and side[1] > 120
    # turning the sky by angle moves its features by that azimuth
    turned = replace(sky, angle=math.pi / 2)
    assert centre(renderer.render(sky_scene(camera_looking(90, 20), turned))).min() > 200
    assert centre(renderer.render(sky_scene(camera_looking(0, 20), turned)))[0] < 60


def test_dome_rows_change_within_one_frame(renderer, band_path):
    """One frame straddling 45 degrees: the top rows are red, the lower rows green (not a flat
    image pasted behind: the row where it changes is where the camera says 45 degrees is)."""
    cam = camera_looking(90, 45, fov_deg=40)
    frame = renderer.render(sky_scene(cam, Background("sky", path=band_path)))
    top, bottom = frame.rgb[2, W // 2], frame.rgb[-3, W // 2]
    assert top[0] > 120 and top[1] < 60 and bottom[1] > 120 and bottom[0] < 60


def test_gradient_sky_goes_from_horizon_to_zenith(renderer):
    bg = Background("sky", color=(0.9, 0.6, 0.3), color2=(0.1, 0.3, 0.9), sun=(0.0, 0.0, -1.0))
    up = centre(renderer.render(sky_scene(camera_looking(0, 85), bg)))
    level = centre(renderer.render(sky_scene(camera_looking(0, 1), bg)))
    assert up[2] > up[0] and level[0] > level[2]
    assert np.allclose(level, np.array(bg.color) * 255, atol=25)
    # the sun's disc and glow where it is
    sunny = replace(bg, sun=(1.0, 0.0, 0.3), sun_color=(1.0, 1.0, 1.0))
    lit = renderer.render(sky_scene(camera_looking(0, math.degrees(math.atan(0.3))), sunny)).rgb
    grey = lit.astype(int).sum(axis=2)
    row, col = np.unravel_index(int(np.argmax(grey)), grey.shape)
    assert lit[row, col].min() > 240 and abs(row - H / 2) <= 1 and abs(col - W / 2) <= 1


def box(at, size=1.0, class_id=1, instance_id=1) -> SceneObject:
    return SceneObject(
        shape={"type": "box", "extents": [size] * 3},
        object_to_world=rigid(np.eye(3), at),
        material=Material((0.8, 0.1, 0.1), specular=0.0),
        class_id=class_id,
        class_name="cube",
        instance_id=instance_id,
    )


def test_sky_pixels_get_the_sky_class_objects_keep_theirs(renderer, band_path):
    cam = camera_looking(0, 0)
    frame = renderer.render(
        sky_scene(cam, Background("sky", path=band_path, class_id=7), [box((6.0, 0.0, 1.5))])
    )
    hit = frame.depth > 0
    assert hit.any() and (~hit).any()
    assert (frame.class_ids[~hit] == 7).all() and (frame.class_ids[hit] == 1).all()
    assert (frame.instance_ids[~hit] == 0).all()
    plain = renderer.render(sky_scene(cam, Background("sky", path=band_path), [box((6, 0, 1.5))]))
    assert (plain.class_ids[~hit] == 0).all()  # default: the background class


def test_haze_fades_far_objects_toward_the_horizon(renderer):
    bg = Background("sky", color=(0.8, 0.8, 0.8), color2=(0.3, 0.4, 0.9))
    cam = camera_looking(0, 0)
    objects = [box((20.0, 0.0, 1.5), size=4.0)]
    clear = centre(renderer.render(sky_scene(cam, bg, objects)))
    hazy = centre(renderer.render(sky_scene(cam, replace(bg, haze=0.1), objects)))
    assert clear[0] - clear[1] > 40  # a red box
    assert abs(hazy[0] - 204) < 20 and abs(hazy[1] - 204) < 20  # exp(-0.1 * 18): nearly grey
    # haze is for sky backgrounds only: other kinds never carry it into the lit pass
    assert np.array_equal(
        renderer.render(sky_scene(cam, Background("solid", haze=0.1), objects)).rgb,
        renderer.render(sky_scene(cam, Background("solid"), objects)).rgb,
    )


# --- config, sampling, meta, credits ---------------------------------------------------------

ONLY_SKY = {k: 0 for k in ("solid", "gradient", "checker", "stripes", "noise", "clutter", "photo")}


def sky_config(tmp_path, **sky):
    from segsim.scene.config import load_scene_config

    path = write_exr(tmp_path / "band.exr", banded_sky())
    return load_scene_config(
        "shapes",
        overrides={
            "classes": [{"name": "cube", "shape": "box"}, {"name": "sky", "weight": 0}],
            "background": {
                "kinds": {**ONLY_SKY, "sky": 1},
                "sky": {"skies": [path], "label": "sky", "haze": [0.0, 0.05], **sky},
            },
        },
    )


def test_sampled_skies_are_deterministic_and_labelled(tmp_path, renderer):
    from segsim.scene.randomize import sample_scene

    cfg = sky_config(tmp_path)
    scenes = [sample_scene(cfg, 3, i, W, H) for i in range(8)]
    again = [sample_scene(cfg, 3, i, W, H) for i in range(8)]
    assert [s.background for s in scenes] == [s.background for s in again]
    assert {s.background.kind for s in scenes} == {"sky"}
    assert {bool(s.background.path) for s in scenes} == {True, False}  # hdr and gradient
    assert all(s.background.class_id == 2 for s in scenes)  # the class named by sky.label
    for s in scenes:  # the key light shines from the sun, downward
        sun = np.asarray(s.background.sun)
        key = -np.asarray(s.lights[0].direction)
        assert key[2] > 0 and np.dot(key[:2], sun[:2]) >= 0
    a, b = renderer.render(scenes[0]), renderer.render(again[0])
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.class_ids, b.class_ids)


def test_sky_config_mistakes_are_named(tmp_path):
    with pytest.raises(SegsimError, match="background.sky.label 'heaven' is not a class"):
        sky_config(tmp_path, label="heaven")
    with pytest.raises(SegsimError, match="unknown sky"):
        sky_config(tmp_path, skies=["no-such-sky"], folder=str(tmp_path))
    with pytest.raises(SegsimError, match="sky kinds"):
        sky_config(tmp_path, kinds={"photo": 1})


def test_configs_without_sky_serialise_and_describe_as_before():
    from segsim.dataset.meta import frame_meta
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    cfg = load_scene_config("shapes")
    assert "sky" not in cfg.model_dump()["background"]
    meta = frame_meta(sample_scene(cfg, 0, 0, W, H), 0, "train", 0)
    sky_only = {"exposure", "sun", "sun_color", "haze", "class_id"}
    assert {"kind", "color", "path"} <= set(meta["background"])
    assert not sky_only & set(meta["background"])  # the bytes of sky-less metas are as before


def test_credits_name_the_cc0_skies(tmp_path):
    from segsim.dataset.credits import write_dataset_credits

    meta = tmp_path / "meta" / "train"
    meta.mkdir(parents=True)
    bg = {"kind": "sky", "path": "/usr/share/blender/datafiles/studiolights/world/forest.exr"}
    (meta / "000000.json").write_text(json.dumps({"objects": [], "background": bg}))
    (meta / "000001.json").write_text(json.dumps({"objects": [], "background": {"kind": "solid"}}))
    assert write_dataset_credits(tmp_path) == 1
    text = (tmp_path / "CREDITS.md").read_text()
    assert "CC0" in text and "Greg Zaal" in text and "forest" in text


def test_time_of_day_warms_and_darkens_toward_the_horizon(renderer):
    from segsim.scene.sky import daylight, sun_key_light

    dusk, noon = daylight(2.0), daylight(60.0)
    warmth = [h[0] - h[2] for h, _, _ in (dusk, noon)]
    assert warmth[0] > warmth[1] + 0.2  # an orange horizon at dusk, a pale one at noon
    assert dusk[1][2] < noon[1][2]  # a darker zenith
    assert dusk[2][2] < noon[2][2]  # a redder sun
    bg = Background("sky", color=dusk[0], color2=dusk[1], sun=(0.0, 1.0, 0.03), sun_color=dusk[2])
    lights, _ = sun_key_light(bg, [Light((0.0, 0.0, -1.0), intensity=1.0)], (0.3, 0.3, 0.3))
    key = -np.asarray(lights[0].direction)
    assert key[1] > 0.9 and key[2] > 0  # from the sun's side, kept a little above the horizon
    assert lights[0].intensity < 1.0 and lights[0].color == dusk[2]
    # exposure scales the sky's light
    bright = centre(renderer.render(sky_scene(camera_looking(0, 30), bg)))
    dim = centre(renderer.render(sky_scene(camera_looking(0, 30), replace(bg, exposure=0.25))))
    assert np.all(dim < bright * 0.6)
