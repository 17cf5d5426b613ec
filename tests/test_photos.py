"""The photos library: sources, the normalized cache, bad input, crops, credits, and photos as
backgrounds and textures."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from segsim.cli import main
from segsim.errors import SegsimError
from segsim.fileio import read_image


def _clear_caches():
    from segsim.assets import photos
    from segsim.scene import realism

    photos.source_photos.cache_clear()
    photos.folder_photos.cache_clear()
    photos.photos_by_path.cache_clear()
    realism._pool.cache_clear()


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Built-in sources pointed at small folders of made-up photos (no installed package)."""
    bg = tmp_path / "backgrounds" / "demo"
    bg.mkdir(parents=True)
    for i, colour in enumerate([(255, 0, 0), (0, 0, 255)]):
        img = np.zeros((120, 200, 3), np.uint8)
        img[:] = colour
        img[:, :100] //= 2  # left half darker: crops differ
        cv2.imwrite(str(bg / f"p{i}.png"), img)
    monkeypatch.setenv("SEGSIM_BACKGROUNDS_DIR", str(tmp_path / "backgrounds"))
    monkeypatch.setenv("SEGSIM_SH3D_DIR", str(tmp_path / "no-sh3d"))
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SEGSIM_PHOTO_DIRS", raising=False)
    _clear_caches()
    yield tmp_path
    _clear_caches()


def _photo_dir(root, n=3, size=(80, 90)):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((*size, 3), 40 * i + 20, np.uint8)
        cv2.imwrite(str(root / f"ok{i}.jpg"), img)
    return root


def test_sources_are_normalized_into_the_cache(sources):
    from segsim.assets import photos

    found = photos.source_photos("backgrounds")
    assert [p.name for p in found] == ["p0", "p1"]
    for p in found:
        assert p.path.startswith(str(sources / "cache"))
        assert (p.width, p.height) == (200, 120)
        assert "scikit" not in p.origin and "skimage" not in p.origin
        # the raw copy the renderer maps holds the PNG's pixels
        assert np.array_equal(photos.photo_pixels(p.path), read_image(p.path))
    assert photos.photo_pixels(str(sources / "backgrounds" / "demo" / "p0.png")) is None
    assert photos.source_photos("sweethome3d") == ()  # not installed: empty, no error
    # a second call (another process) reads the index instead of decoding again
    photos.source_photos.cache_clear()
    assert photos.source_photos("backgrounds") == found


def test_a_folder_without_readable_photos_is_one_error(sources):
    from segsim.assets import photos

    bad = sources / "bad"
    bad.mkdir()
    (bad / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SegsimError, match="no readable photos"):
        photos.folder_photos(str(bad))
    with pytest.raises(SegsimError, match="folder not found"):
        photos.folder_photos(str(sources / "missing"))


def test_cli_folder_without_photos_exits_2_with_one_line(sources, capsys):
    empty = sources / "empty"
    empty.mkdir()
    rc = main(
        ["generate", "--count", "2", "--size", "32", "--out", str(sources / "o"), "-q",
         "--set", "background.kinds.photo=1", "--set", f"photos.dirs=[{empty}]"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "no readable photos" in err


def test_unknown_background_kind_exits_2_with_one_line(tmp_path, capsys):
    rc = main(
        ["generate", "--count", "2", "--size", "32", "--out", str(tmp_path / "o"), "-q",
         "--set", "background.kinds.fotos=1"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "fotos" in err and "photo" in err


def test_a_corrupt_photo_is_skipped_with_a_warning_naming_it(sources, caplog):
    from segsim.assets import photos

    folder = _photo_dir(sources / "mine")
    (folder / "truncated.png").write_bytes(cv2.imencode(".png", np.zeros((90, 90, 3)))[1][:60])
    with caplog.at_level(logging.WARNING, logger="segsim.assets.photos"):
        found = photos.folder_photos(str(folder))
    assert sorted(p.name for p in found) == ["ok0", "ok1", "ok2"]
    assert "truncated.png" in caplog.text


def test_crop_box_is_pure_inside_and_of_the_asked_aspect():
    from segsim.assets.photos import crop_box

    for seed in range(20):
        x0, y0, x1, y1 = crop_box(seed, 0.5, 4 / 3, 640, 300)
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 300
        assert (x1 - x0) / (y1 - y0) == pytest.approx(4 / 3, rel=0.02)
        assert y1 - y0 == 150  # half of the largest 4:3 crop (300 px high)
        assert crop_box(seed, 0.5, 4 / 3, 640, 300) == (x0, y0, x1, y1)
    assert len({crop_box(s, 0.5, 1.0, 640, 300) for s in range(20)}) > 5  # seeds move it


def _photo_config(extra: dict):
    from segsim.scene.config import load_scene_config

    kinds = {k: 0.0 for k in load_scene_config("shapes").background.kinds} | {"photo": 1.0}
    return load_scene_config(
        "shapes",
        overrides={"background": {"kinds": kinds}, "ground": {"probability": 0.0}, **extra},
    )


def test_photo_backgrounds_draw_crops_of_the_library(sources):
    from render_fixtures import get_renderer
    from segsim.assets.photos import source_photos
    from segsim.scene.randomize import sample_scene

    cfg = _photo_config({"photos": {"crop": [0.3, 0.6]}})
    paths = {p.path for p in source_photos("backgrounds")}
    r = get_renderer(48, 48)
    colours = set()
    for i in range(6):
        scene = sample_scene(cfg, 3, i, 48, 48)
        assert scene.background.kind == "photo" and scene.background.path in paths
        assert 0.3 <= scene.background.scale <= 0.6
        frame = r.render(scene)
        bg = frame.rgb[frame.class_ids == 0].astype(int)
        assert len(bg)
        # a red or a blue photo, never the other channel: the pixels are the photo's
        mean = bg.mean(0)
        colours.add(int(np.argmax(mean)))
        assert mean[1] < 40
    assert colours == {0, 2}  # both photos drawn


@pytest.mark.parametrize("size", [(64, 48), (300, 150)])  # crops shrunk, and enlarged
def test_a_photo_background_is_its_crop_resized_to_the_frame(tmp_path, size):
    from render_fixtures import get_renderer
    from segsim.render.images import photo_background
    from segsim.scene.geometry import look_at_opencv
    from segsim.scene.spec import Background, Camera, Scene

    rng = np.random.default_rng(4)
    photo = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    photo[:60] //= 3  # a darker top half: a flipped frame would show it at the bottom
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    w, h = size
    camera = Camera(
        K=np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], float),
        world_to_camera=look_at_opencv([0, -3, 0], [0, 0, 0]),
        width=w,
        height=h,
    )
    r = get_renderer(w, h)
    for seed, zoom in ((1, 0.5), (2, 0.9)):
        bg = Background(kind="photo", path=str(path), seed=seed, scale=zoom)
        frame = r.render(Scene(camera=camera, objects=[], lights=[], background=bg))
        want = photo_background(photo, (seed, zoom), (w, h))
        assert frame.rgb.shape == want.shape
        assert np.abs(frame.rgb.astype(int) - want).max() <= 1  # the GPU's own rounding
        assert frame.rgb[: h // 3].mean() < frame.rgb[-h // 3 :].mean()


def test_photo_textures_and_credits(sources, tmp_path):
    from segsim.dataset.generate import generate_dataset

    cfg = _photo_config(
        {"material": {"texture": {"probability": 1.0, "kinds": {"checker": 0.0, "stripes": 0.0,
                                                                "noise": 0.0, "gradient": 0.0,
                                                                "photo": 1.0}}}}
    )  # fmt: skip
    out = tmp_path / "ds"
    generate_dataset(out, cfg, 3, 32, 32, seed=1, workers=1, progress=False)
    import json

    meta = json.loads(next((out / "meta").rglob("*.json")).read_text())
    kinds = {o["material"]["texture"]["kind"] for o in meta["objects"] if o["instance_id"]}
    assert kinds == {"photo"}
    credits = (out / "CREDITS.md").read_text()
    assert "## Photos" in credits and "demo/p" in credits


def test_assets_lists_the_photos_library(sources, capsys):
    assert main(["assets"]) == 0
    out = capsys.readouterr().out
    assert "photos (" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("backgrounds"))
    assert "2 photos" in line
    assert "sweethome3d          not installed" in out


def test_env_photo_dirs_are_a_source(sources, monkeypatch):
    from segsim.assets.photos import folder_photos
    from segsim.scene.randomize import sample_scene

    folder = _photo_dir(sources / "env-photos")
    monkeypatch.setenv("SEGSIM_PHOTO_DIRS", str(folder))
    cfg = _photo_config(
        {"photos": {"sources": {"backgrounds": 0, "sweethome3d": 0, "robosuite": 0, "dirs": 1}}}
    )
    mine = {p.path for p in folder_photos(str(folder))}
    assert {sample_scene(cfg, 0, i, 32, 32).background.path for i in range(6)} <= mine


def test_if_missing_skip_drops_photo_kinds_when_nothing_is_installed(sources, caplog):
    from segsim.scene.config import load_scene_config

    (sources / "backgrounds" / "demo").rename(sources / "elsewhere")  # no photo installed
    wants = {
        "background": {"kinds": {"photo": 4.0}},
        "material": {"texture": {"kinds": {"photo": 2.0}}},
        "distractors": {"cards": [0, 2]},
        "photos": {"sources": {"backgrounds": 1.0, "sweethome3d": 1.0, "robosuite": 0.0}},
    }
    strict = {**wants, "photos": {**wants["photos"], "if_missing": "error"}}  # the default
    with pytest.raises(SegsimError, match="mate-backgrounds"):
        load_scene_config("shapes", overrides=strict)
    with caplog.at_level(logging.WARNING, logger="segsim.scene.realism"):
        cfg = load_scene_config("shapes", overrides=wants)  # the shapes preset skips
    assert "no photos are installed" in caplog.text and "mate-backgrounds" in caplog.text
    assert cfg.background.kinds["photo"] == 0 and cfg.background.kinds["clutter"] > 0
    assert cfg.material.texture.kinds["photo"] == 0 and cfg.distractors.cards == (0, 0)
    plain = load_scene_config("shapes")
    assert cfg.ground.material.texture.scale == plain.ground.material.texture.scale  # kept whole
    assert plain.background.kinds["photo"] == 0  # the preset itself runs without photos
    assert cfg.ground.material.value == plain.ground.material.value
    # a folder of the user's own with nothing readable is still an error, never skipped
    (sources / "empty").mkdir()
    with pytest.raises(SegsimError, match="no readable photos"):
        load_scene_config(
            "shapes",
            overrides={**wants, "photos": {"if_missing": "skip", "dirs": [str(sources / "empty")]}},
        )


# --- photo backdrops at training time (train/backdrop.py) ------------------------------------


def _object_frame(size=64):
    """A green frame whose centre square is class 1; everything else is background (0)."""
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 1] = 200
    mask = np.zeros((size, size), np.uint8)
    mask[16:48, 16:48] = 1
    return image, mask


def test_a_photo_backdrop_replaces_only_background_pixels(sources):
    from segsim.train import augment
    from segsim.train.config import AugmentConfig

    image, mask = _object_frame()
    cfg = AugmentConfig(photo_background=1.0, hflip=0, scale=(1, 1), ratio=(1, 1))
    tf = augment.build_train_transform(cfg, (64, 64), class_names=["background", "part"])
    outs = []
    for seed in range(6):
        out, m = augment.apply(tf, image, mask, seed)
        assert np.array_equal(m, mask)  # the labels never change
        assert np.array_equal(out[mask == 1], image[mask == 1])  # the object is as drawn
        # the background shows the (red or blue, never green) photos
        assert out[mask == 0][:, 1].max() == 0 and out[mask == 0].max() > 0
        again, _ = augment.apply(tf, image, mask, seed)
        assert np.array_equal(again, out)  # a function of the sample's seed
        outs.append(out[mask == 0].tobytes())
    assert len(set(outs)) > 1  # a new crop (or photo) per seed


def test_a_photo_backdrop_at_a_probability_keeps_some_frames_as_drawn(sources):
    from segsim.train.backdrop import PhotoBackdrop

    image, mask = _object_frame()
    backdrop = PhotoBackdrop(0.5, 0)
    rng = np.random.default_rng(0)
    kept = [np.array_equal(backdrop(image, mask, rng), image) for _ in range(200)]
    assert 0.35 < np.mean(kept) < 0.65


def test_photo_backdrop_errors_name_the_fix(sources, monkeypatch, tmp_path):
    from segsim.train import augment
    from segsim.train.config import AugmentConfig

    cfg = AugmentConfig(photo_background=0.5)
    with pytest.raises(SegsimError, match="needs a class named 'background'") as e:
        augment.build_train_transform(cfg, (64, 64), class_names=["road", "car"])
    assert "augment.photo_background=0" in e.value.fix
    # off: no photos are needed, and no background class either
    augment.build_train_transform(AugmentConfig(), (64, 64), class_names=["road", "car"])
    monkeypatch.setenv("SEGSIM_BACKGROUNDS_DIR", str(tmp_path / "none"))
    _clear_caches()
    with pytest.raises(SegsimError, match="photos library is empty"):
        augment.build_train_transform(cfg, (64, 64), class_names=["background", "car"])


def test_auto_photo_backdrops_only_for_frames_segsim_drew(sources, tmp_path):
    from segsim.dataset.reader import open_dataset
    from segsim.train.backdrop import AUTO_SHARE, resolve_share
    from train_fixtures import make_dataset

    make_dataset(tmp_path / "d", counts=(4, 2, 2), size=32)
    index = open_dataset(tmp_path / "d")
    assert index.layout == "segsim" and "background" in index.labels.names
    assert resolve_share("auto", index) == AUTO_SHARE
    assert resolve_share("auto", index, mixed=True) == 0.0  # another folder's frames may be real
    assert resolve_share(0.2, index) == 0.2
    flat = tmp_path / "flat"  # the same frames as a plain images/ + masks/ folder
    (flat / "images").mkdir(parents=True)
    (flat / "masks").mkdir()
    for i, (img, mask) in enumerate(index.load(*p) for p in index.split("train")):
        cv2.imwrite(str(flat / "images" / f"{i}.png"), img[..., ::-1])
        cv2.imwrite(str(flat / "masks" / f"{i}.png"), mask)
    assert resolve_share("auto", open_dataset(flat)) == 0.0


def test_auto_photo_backdrops_are_off_without_photos(sources, monkeypatch, tmp_path):
    from segsim.dataset.reader import open_dataset
    from segsim.train.backdrop import resolve_share
    from train_fixtures import make_dataset

    make_dataset(tmp_path / "d", counts=(4, 2, 2), size=32)
    monkeypatch.setenv("SEGSIM_BACKGROUNDS_DIR", str(tmp_path / "none"))
    _clear_caches()
    assert resolve_share("auto", open_dataset(tmp_path / "d")) == 0.0
