"""Levels of detail (assets/lod.py): vertex clustering beside quadric decimation, so foliage gets
coarse levels that stay close to the leaves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from segsim.assets.lod import (
    TARGETS,
    build_levels,
    cached_errors,
    cached_level,
    cached_levels,
    cluster,
    clustered,
)

REAL_DIR = Path("/usr/share/sweethome3d/furniture")


def _grid_mesh(n: int = 60):
    """A wavy n x n sheet: (vertices, faces) spanning about 1."""
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    v = np.stack([x.ravel(), y.ravel(), 0.05 * np.sin(6 * x.ravel())], axis=1)
    i = np.arange(n * n).reshape(n, n)[:-1, :-1].ravel()
    f = np.concatenate([np.stack([i, i + 1, i + n], 1), np.stack([i + 1, i + n + 1, i + n], 1)])
    return v, f


def test_cached_levels_read_one_level_or_the_errors_alone():
    """Built once; then one level, or the errors, come from the cache without the mesh (the
    geometry callback is not called) and match the levels built."""
    calls = []

    def geometry():
        calls.append(1)
        return _grid_mesh(80)

    levels = cached_levels("test-grid-80", geometry)
    assert calls == [1] and any(lv is not None for lv in levels)

    def no_geometry():
        raise AssertionError("the cached levels were built again")

    assert cached_errors("test-grid-80", no_geometry) == tuple(
        None if lv is None else lv.error for lv in levels
    )
    for i, lv in enumerate(levels):
        got = cached_level("test-grid-80", no_geometry, i)
        assert (got is None) == (lv is None)
        if lv is not None:
            assert np.array_equal(got.faces, lv.faces) and np.array_equal(got.weights, lv.weights)
    # nothing cached yet under a new name: both build, once
    assert cached_errors("test-grid-60", geometry) == tuple(
        None if lv is None else lv.error for lv in cached_levels("test-grid-60", no_geometry)
    )
    assert calls == [1, 1]


def test_cluster_keeps_every_vertex_within_its_cell_and_drops_collapsed_faces():
    v, f = _grid_mesh()
    cell = 0.1
    pv, pf = cluster(v, f, cell)
    assert 0 < len(pf) < len(f) and pf.max() == len(pv) - 1  # every vertex kept is used
    # each original vertex moved to the mean of its cell: within the cell's diagonal
    dist, _ = cKDTree(pv).query(v)
    assert dist.max() <= np.sqrt(3) * cell
    assert np.all((pf[:, 0] != pf[:, 1]) & (pf[:, 1] != pf[:, 2]) & (pf[:, 2] != pf[:, 0]))
    assert len(np.unique(np.sort(pf, axis=1), axis=0)) == len(pf)  # no face twice
    # the winding of what is left follows the sheet's (all normals up, like the input's)
    n = np.cross(pv[pf[:, 1]] - pv[pf[:, 0]], pv[pf[:, 2]] - pv[pf[:, 0]])
    assert np.all(n[:, 2] * np.sign(np.cross(v[1] - v[0], v[60] - v[0])[2]) > 0)


def test_clustered_finds_the_finest_cell_under_the_target():
    v, f = _grid_mesh()
    for target in (200, 1000, 3000):
        _, pf = clustered(v, f, target)
        assert len(pf) <= target
        assert len(pf) > 0.5 * target  # not far coarser than asked


@pytest.mark.skipif(not REAL_DIR.is_dir(), reason="sweethome3d-furniture is not installed")
def test_a_library_tree_gets_coarse_levels_close_to_its_leaves():
    """The poplar (132k triangles of leaves): quadric decimation alone gives it no level coarser
    than half its faces, and that one strays by nearly half the tree's height."""
    import trimesh

    from segsim.assets.library import model_path
    from segsim.assets.sweethome3d import list_entries

    (poplar,) = [e for e in list_entries() if e.name == "Poplar"]
    mesh = trimesh.load(model_path(poplar), force="mesh")
    extent = float(np.ptp(mesh.vertices, axis=0).max())
    levels = build_levels(mesh.vertices, mesh.faces)
    assert all(lvl is not None for lvl in levels)
    for lvl, share in zip(levels, TARGETS, strict=True):
        assert len(lvl.faces) <= share * len(mesh.faces)
    assert levels[0].error < 0.1 * extent
    assert levels[-1].error < 0.05 * extent
