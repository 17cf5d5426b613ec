"""A mesh file's own look (colours, textures, `appearance`, `hue_jitter`) and its levels of
detail: what the file says is what is drawn, and labels never depend on either."""

from __future__ import annotations

import colorsys
import logging

import numpy as np
import pytest
import trimesh
import trimesh.creation as tc
from PIL import Image

from raycast import edge_band
from render_fixtures import get_renderer
from segsim.assets.lod import LOD_FROM
from segsim.assets.meshfile import MeshFiles
from segsim.render.drawables import draw_items
from segsim.scene.classes import ClassSpec
from segsim.scene.config import SceneConfig
from segsim.scene.geometry import look_at_opencv, rigid
from segsim.scene.shapes import get_shape
from segsim.scene.shapes import mesh as mesh_kind
from segsim.scene.spec import Background, Camera, Light, Material, Scene, SceneObject

SIZE = 96
QUADRANTS = {"top_left": (220, 30, 30), "top_right": (30, 200, 30), "bottom": (40, 60, 220)}


def texture() -> np.ndarray:
    img = np.zeros((64, 64, 3), np.uint8)
    img[:32, :32] = QUADRANTS["top_left"]
    img[:32, 32:] = QUADRANTS["top_right"]
    img[32:] = QUADRANTS["bottom"]
    return img


def write_quad(folder, name="quad", mtl="newmtl skin\nKd 0.2 0.9 0.2\nmap_Kd tex.png\n", uv=1.0):
    """A unit square standing in the file's xz plane (z up), UV (0, 0) at its bottom left."""
    Image.fromarray(texture()).save(folder / "tex.png")
    verts = "v 0 0 0\nv 1 0 0\nv 1 0 1\nv 0 0 1\n"
    uvs = f"vt 0 0\nvt {uv} 0\nvt {uv} {uv}\nvt 0 {uv}\n"
    faces = "usemtl skin\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"
    (folder / f"{name}.obj").write_text(f"mtllib {name}.mtl\n{verts}{uvs}{faces}")
    (folder / f"{name}.mtl").write_text(mtl)
    return folder / f"{name}.obj"


def spec(path, **extra) -> ClassSpec:
    return ClassSpec(
        name="thing", shape="mesh", assets=str(path), height=(1.0, 1.0), up="z", **extra
    )


def shape_of(cls: ClassSpec, seed: int = 0) -> dict:
    return get_shape("mesh").sample(np.random.default_rng(seed), SceneConfig().sizes, 1.0, cls)


def scene_of(shape: dict, distance: float = 2.2, size: int = SIZE, color=(0.9, 0.1, 0.9)) -> Scene:
    """The object at the origin seen from -y, lit from the camera, on black."""
    eye = np.array([0.0, -distance, 0.0])
    K = np.array([[size * 1.2, 0, size / 2], [0, size * 1.2, size / 2], [0, 0, 1.0]])
    cam = Camera(K, look_at_opencv(eye, np.zeros(3)), size, size)
    obj = SceneObject(
        shape, rigid(np.eye(3), [0, 0, 0]), Material(color, specular=0.0), 1, "thing", 1
    )
    light = Light(direction=(0.0, 1.0, 0.0), intensity=0.7, cast_shadows=False)
    return Scene(
        cam, [obj], [light], ambient=(0.3, 0.3, 0.3), background=Background("solid", (0, 0, 0))
    )


def hue(rgb) -> float:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, float) / 255))[0]


def hue_close(a, b, tol=0.04) -> bool:
    d = abs(hue(a) - hue(b))
    return min(d, 1 - d) < tol


def test_a_textured_obj_draws_its_texture_the_right_way_up(tmp_path):
    frame = get_renderer(SIZE, SIZE).render(scene_of(shape_of(spec(write_quad(tmp_path)))))
    mask = (frame.instance_ids == 1) & ~edge_band(frame.instance_ids, 2)
    assert mask.mean() > 0.15
    ys, xs = np.nonzero(mask)
    top, left = ys < np.median(ys), xs < np.median(xs)
    rgb = frame.rgb[ys, xs].astype(float)
    # lit in white, the quadrants keep their hues where the texture puts them (the image's top
    # row at the top of the quad, v = 1)
    assert hue_close(rgb[top & left].mean(0), QUADRANTS["top_left"])
    assert hue_close(rgb[top & ~left].mean(0), QUADRANTS["top_right"])
    assert hue_close(rgb[~top].mean(0), QUADRANTS["bottom"])
    # the texture's mean, loosely: its colours over the mask, not the material's magenta
    seen = rgb.mean(0) / rgb.mean()
    expected = texture().reshape(-1, 3).mean(0) / texture().mean()
    assert np.abs(seen - expected).max() < 0.15


def test_vertex_colours_of_a_ply_are_kept_and_random_ignores_them(tmp_path):
    box = tc.box(extents=(1, 1, 1))
    box.visual.vertex_colors = np.tile([200, 120, 20, 255], (len(box.vertices), 1))
    box.export(tmp_path / "box.ply")
    renderer = get_renderer(SIZE, SIZE)
    own = renderer.render(scene_of(shape_of(spec(tmp_path / "box.ply"))))
    mask = (own.instance_ids == 1) & ~edge_band(own.instance_ids, 2)
    assert hue_close(own.rgb[mask].mean(0), (200, 120, 20))
    rand_shape = shape_of(spec(tmp_path / "box.ply", appearance="random"))
    assert rand_shape["appearance"] == "random"
    rand = renderer.render(scene_of(rand_shape, color=(0.1, 0.3, 0.9)))
    assert hue_close(rand.rgb[mask].mean(0), (25, 76, 230))
    assert np.array_equal(own.instance_ids, rand.instance_ids)
    assert np.array_equal(own.depth, rand.depth)


def test_a_file_without_colours_takes_the_random_material(tmp_path):
    tc.box(extents=(1, 1, 1)).export(tmp_path / "plain.stl")
    frame = get_renderer(SIZE, SIZE).render(scene_of(shape_of(spec(tmp_path / "plain.stl"))))
    mask = (frame.instance_ids == 1) & ~edge_band(frame.instance_ids, 2)
    assert hue_close(frame.rgb[mask].mean(0), (230, 25, 230))


@pytest.mark.parametrize("broken", ["truncated", "garbage", "missing"])
def test_a_broken_texture_falls_back_to_the_material_colour(tmp_path, caplog, broken):
    path = write_quad(tmp_path, mtl="newmtl skin\nKd 0.9 0.6 0.1\nmap_Kd bad.png\n")
    good = (tmp_path / "tex.png").read_bytes()
    if broken == "truncated":
        (tmp_path / "bad.png").write_bytes(good[:80])
    elif broken == "garbage":
        (tmp_path / "bad.png").write_bytes(b"\x00 not an image " * 20)
    with caplog.at_level(logging.WARNING, logger="segsim.assets.appearance"):
        mesh = MeshFiles().get(str(path))
        look = mesh.look
    assert any("bad.png" in r.getMessage() for r in caplog.records)
    assert look is not None and look.texture is None
    assert np.allclose(look.color, [0.9, 0.6, 0.1], atol=1 / 255)


def test_hue_jitter_shifts_hue_and_never_labels(tmp_path):
    path = write_quad(tmp_path, mtl="newmtl skin\nKd 0.9 0.1 0.1\n")
    shifts = [shape_of(spec(path, hue_jitter=0.5), seed)["hue_shift"] for seed in range(40)]
    assert -0.5 <= min(shifts) < -0.2 and 0.2 < max(shifts) <= 0.5
    assert "hue_shift" not in shape_of(spec(path))  # no jitter: no draw, the stream unchanged
    renderer = get_renderer(SIZE, SIZE)
    plain = shape_of(spec(path))
    frames = [renderer.render(scene_of({**plain, "hue_shift": s})) for s in (0.0, 1 / 3)]
    mask = (frames[0].instance_ids == 1) & ~edge_band(frames[0].instance_ids, 2)
    assert hue_close(frames[0].rgb[mask].mean(0), (230, 25, 25))
    assert hue_close(frames[1].rgb[mask].mean(0), (25, 230, 25), tol=0.08)
    for a, b in ((f.class_ids, f.instance_ids) for f in frames[1:]):
        assert np.array_equal(a, frames[0].class_ids) and np.array_equal(b, frames[0].instance_ids)
    assert np.array_equal(frames[0].depth, frames[1].depth)


def test_looks_of_parts_tiles_and_gltf_factors(tmp_path):
    # two materials in one OBJ: a tiling texture (UVs to 3) and a plain colour
    write_quad(tmp_path, uv=3.0)
    extra = "v 2 0 0\nv 3 0 0\nv 3 0 1\nusemtl plain\nf 5 6 7\n"
    obj = (tmp_path / "quad.obj").read_text() + extra
    (tmp_path / "two.obj").write_text(obj.replace("quad.mtl", "two.mtl"))
    (tmp_path / "two.mtl").write_text(
        "newmtl skin\nKd 1 1 1\nmap_Kd tex.png\nnewmtl plain\nKd 0.1 0.2 0.7\n"
    )
    mesh = MeshFiles().get(str(tmp_path / "two.obj"))
    forced = trimesh.load(str(tmp_path / "two.obj"), force="mesh")
    assert np.array_equal(mesh.vertices, forced.vertices)  # the meta's contract
    assert np.array_equal(mesh.faces, forced.faces)
    look = mesh.look
    textured = look.rect[:, 2] > 0
    assert textured.sum() == 4 and look.uv[textured].max() == pytest.approx(3.0)  # tiling kept
    assert np.allclose(look.color[~textured], [0.1, 0.2, 0.7], atol=1 / 255)
    assert look.texture.shape[0] >= 64 and look.texture.shape[1] >= 64
    # glTF: baseColorFactor (linear) multiplies the texture
    quad = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]], [[0, 1, 2], [0, 2, 3]])
    mat = trimesh.visual.material.PBRMaterial(
        baseColorTexture=Image.fromarray(texture()), baseColorFactor=[64, 255, 255, 255]
    )
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    quad.visual = trimesh.visual.TextureVisuals(uv=uv, material=mat)
    quad.export(tmp_path / "quad.glb")
    look = MeshFiles().get(str(tmp_path / "quad.glb")).look
    assert look.texture is not None
    assert np.allclose(look.color, [np.sqrt(64 / 255), 1, 1], atol=1e-3)


@pytest.fixture(scope="module")
def big_sphere(tmp_path_factory):
    path = tmp_path_factory.mktemp("lod") / "ball.ply"
    ball = tc.icosphere(subdivisions=6)  # 81,920 triangles
    ball.visual.vertex_colors = np.tile([180, 140, 60, 255], (len(ball.vertices), 1))
    ball.export(path)
    return path


def test_big_meshes_get_coarser_levels_chosen_by_size_on_screen(big_sphere):
    shape = shape_of(spec(big_sphere))
    kind = get_shape("mesh")
    key, _ = kind.unit_key_and_scale(shape)
    levels = mesh_kind.mesh_levels(key)
    faces = [len(lvl.faces) for lvl in levels if lvl is not None]
    assert len(faces) == 3 and faces == sorted(faces) and faces[-1] < 81920 * 0.8
    assert faces[0] >= 500
    errors = [lvl.error for lvl in levels]
    assert errors == sorted(errors, reverse=True) and errors[-1] > 0
    top = kind.levels - 1
    assert kind.detail_level(shape, 5.0) == 0  # a few pixels across: the coarsest
    assert kind.detail_level(shape, 1e5) == top  # huge on screen: the file itself
    assert kind.detail_level(shape, float("inf")) == top
    # the error rule: a level is drawn only where it strays under half a pixel
    for level in range(top):
        px = mesh_kind.LOD_TOLERANCE_PX / (errors[level] * shape["scale"])
        assert kind.level_fits(shape, level, px * 0.99)
        assert not kind.level_fits(shape, level, px * 1.01)
    coarse = kind.unit_mesh(key, 0)
    assert len(coarse.faces) == faces[0]
    assert np.allclose(coarse.vertex_attributes["color"], np.array([180, 140, 60]) / 255, atol=1e-3)


def test_small_meshes_and_small_frames_draw_the_finest_level(tmp_path):
    ring = tc.torus(major_radius=0.35, minor_radius=0.08, major_sections=24, minor_sections=12)
    assert len(ring.faces) <= LOD_FROM  # too small to decimate
    ring.export(tmp_path / "ring.obj")
    shape = shape_of(spec(tmp_path / "ring.obj"))
    assert all(
        lvl is None for lvl in mesh_kind.mesh_levels(get_shape("mesh").unit_key_and_scale(shape)[0])
    )
    for it in draw_items(scene_of(shape, distance=1.5)):
        assert it.level == get_shape("mesh").levels - 1


def test_labels_with_lod_stay_within_1_percent_of_the_finest(big_sphere, monkeypatch):
    shape = shape_of(spec(big_sphere))
    renderer = get_renderer(SIZE, SIZE)
    scene = scene_of(shape, distance=6.0)
    lod_level = draw_items(scene)[0].level
    assert lod_level < get_shape("mesh").levels - 1  # a coarse level is really drawn
    with_lod = renderer.render(scene)
    monkeypatch.setattr(mesh_kind, "LOD_TOLERANCE_PX", 0.0)
    assert draw_items(scene)[0].level == get_shape("mesh").levels - 1
    finest = renderer.render(scene)
    keep = ~edge_band(finest.instance_ids, 1)
    assert (finest.instance_ids == 1).sum() > 200
    assert np.mean(with_lod.instance_ids[keep] == finest.instance_ids[keep]) >= 0.99
    assert np.mean(with_lod.class_ids[keep] == finest.class_ids[keep]) >= 0.99
    hit = keep & (finest.depth > 0) & (with_lod.depth > 0)
    assert (
        np.mean(np.abs(with_lod.depth[hit] - finest.depth[hit]) < 0.01 * finest.depth[hit]) > 0.99
    )
