"""The per-process cache of unit meshes (render/meshes.py): the levels of one mesh file share
one texture atlas, counted once, and the cache stays within its bound in bytes."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
import trimesh.creation as tc
from PIL import Image

from segsim.errors import SegsimError
from segsim.render import meshes
from segsim.render.meshes import MeshCache, MeshData, cache_megabytes
from segsim.scene.classes import ClassSpec
from segsim.scene.config import SceneConfig
from segsim.scene.shapes import get_shape


@pytest.fixture(scope="module")
def textured_ball(tmp_path_factory):
    """A textured sphere big enough to get coarser levels of detail."""
    folder = tmp_path_factory.mktemp("atlas")
    ball = tc.icosphere(subdivisions=5)  # 20,480 triangles
    v = ball.vertices
    uv = np.stack([np.arctan2(v[:, 1], v[:, 0]) / (2 * np.pi) + 0.5, v[:, 2] * 0.5 + 0.5], 1)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    ball.visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    path = folder / "ball.obj"
    ball.export(path)
    cls = ClassSpec(name="ball", shape="mesh", assets=str(path), height=(1.0, 1.0), up="z")
    shape = get_shape("mesh").sample(np.random.default_rng(0), SceneConfig().sizes, 1.0, cls)
    return get_shape("mesh").unit_key_and_scale(shape)[0]


def entry_bytes(data: MeshData) -> int:
    return data.vertices.nbytes + data.indices.nbytes


def test_levels_of_a_mesh_file_share_one_atlas_counted_once(textured_ball):
    levels = range(get_shape("mesh").levels)
    for fresh in (True, False):  # built from the file, then read back from the disk cache
        cache = MeshCache(max_bytes=1 << 30)
        datas = [cache.get(textured_ball, level) for level in levels]
        assert len({d.vertices.shape[0] for d in datas}) == len(datas), "levels differ"
        atlas = datas[0].texture
        assert atlas is not None and atlas.ndim == 3
        assert all(d.texture is atlas for d in datas), f"fresh={fresh}"
        assert cache.bytes == sum(map(entry_bytes, datas)) + atlas.nbytes


def test_the_atlas_leaves_with_the_last_level_that_uses_it(textured_ball):
    probe = MeshCache(max_bytes=1 << 30)
    fine, coarse = probe.get(textured_ball, 2), probe.get(textured_ball, 0)
    atlas = fine.texture.nbytes
    # room for both levels and the atlas, not for a third entry as big as the fine level
    cache = MeshCache(max_bytes=probe.bytes + entry_bytes(coarse) // 2)
    cache.get(textured_ball, 2)
    cache.get(textured_ball, 0)
    assert cache.bytes == entry_bytes(fine) + entry_bytes(coarse) + atlas
    cache.get(textured_ball, 1)  # pushes out the least recently used, the fine level
    assert (*textured_ball, 2) not in cache and (*textured_ball, 0) in cache
    assert cache.bytes <= cache.max_bytes
    assert cache._textures[textured_ball][1] == 2  # still held by levels 0 and 1


def test_the_cache_stays_within_its_bytes(monkeypatch):
    made = []

    def fake_build(key, level, texture=None):
        made.append((key, level, texture is not None))
        return MeshData(np.zeros((100, 18), np.float32), np.zeros(300, np.uint32))

    monkeypatch.setattr(meshes, "_build", fake_build)
    one = 100 * 18 * 4 + 300 * 4
    cache = MeshCache(max_bytes=3 * one)
    for k in range(10):
        cache.get(("box", k), 0)
        assert cache.bytes <= cache.max_bytes
    assert cache.bytes == 3 * one
    assert [("box", k, 0) in cache for k in range(10)] == [False] * 7 + [True] * 3
    cache.get(("box", 9), 0)  # a hit builds nothing
    assert len(made) == 10


def test_the_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGSIM_MESH_CACHE_MB", "64")
    assert cache_megabytes() == 64
    monkeypatch.delenv("SEGSIM_MESH_CACHE_MB")
    assert cache_megabytes() == 512
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("SEGSIM_MESH_CACHE_MB", bad)
        with pytest.raises(SegsimError, match="SEGSIM_MESH_CACHE_MB"):
            cache_megabytes()


def test_a_small_model_casts_its_shadow_from_a_simpler_stand_in(textured_ball, monkeypatch):
    """A model a few texels across in the shadow map is drawn there simplified, within half a
    texel of its shadow level, and the stand-in is made once per machine."""
    from segsim.assets.lod import Surface
    from segsim.render.meshes import (
        SHADOW_PROXY_TEXELS,
        SHADOW_STRAY_TEXELS,
        shadow_stand_in,
        shadow_tolerance,
    )

    assert shadow_tolerance(0.1, SHADOW_PROXY_TEXELS * 0.1) is None  # too many texels across
    tolerance = shadow_tolerance(0.1, 1.0)
    assert tolerance <= SHADOW_STRAY_TEXELS * 0.1 < tolerance * 2**0.5
    level = meshes.MESHES.get(textured_ball, 0)
    stand_in = shadow_stand_in(textured_ball, 0, tolerance)
    assert stand_in is not None and stand_in.look is None
    assert stand_in.indices.size <= 0.7 * level.indices.size
    # its vertices stay within the tolerance of the level's surface
    surface = Surface(level.vertices[:, :3], level.indices.reshape(-1, 3))
    assert surface.farthest(stand_in.vertices[:, :3].astype(float)) <= tolerance
    assert shadow_stand_in(textured_ball, 0, 1e-6) is None  # nothing that close: none

    def made_again(*a, **k):
        raise AssertionError("the stand-in was made again")

    monkeypatch.setattr(meshes, "shadow_proxy", made_again)
    again = shadow_stand_in(textured_ball, 0, tolerance)
    assert np.array_equal(again.vertices, stand_in.vertices)
    assert shadow_stand_in(textured_ball, 0, 1e-6) is None  # read back as none, too
