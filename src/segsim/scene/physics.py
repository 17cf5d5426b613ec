"""Physics placement ("drop"): settle rigid objects onto the ground and onto each other.

`settle(bodies)` is a pure function: it builds a MuJoCo model from the bodies in their
given order, steps it a fixed number of times and returns one object_to_world per body. The same
input gives bit-identical output in any process on one machine (MuJoCo is deterministic for the
same model and step count, and nothing here reads the clock or a global RNG).

Collision geometry: MuJoCo primitives where they are exact (box, sphere, cylinder, capsule); a
torus is a closed ring of capsules (within 2 mm of the true tube, hole kept open: cheaper and
truer than its convex hull, a fat disc that would hold things up over the hole); every other
kind collides as the convex hull of its unit mesh (MuJoCo collides meshes as hulls anyway). A
cone's hull is the cone; a concave mesh file's hull fills its hollows, so nothing rests inside
a cup or under an arch.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from segsim.errors import SegsimError
from segsim.scene.shapes import kind_of
from segsim.scene.shapes.base import SILHOUETTE_TOLERANCE_PX, positive

DENSITY = 500.0  # kg/m^3, one for every body, so bigger objects are heavier
TIMESTEP = 0.005  # 400 steps = 2 s: a 1 m fall (0.45 s) plus time to come to rest
FRICTION = 0.8  # sliding; no torsional or rolling friction (condim 3 is the cheap contact)
LINEAR_DAMPING = 1.0  # 1/s, times the mass: a 1 m fall lands 3 % slower; bleeds off sliding
ANGULAR_DAMPING = 8.0  # 1/s, times the inertia: spheres and cylinders stop rolling away
SOLREF = "0.01 1"  # contact time constant 2 timesteps (the stiffest MuJoCo keeps stable)
SOLIMP = "0.99 0.999 0.001"  # impedance near 1: landing objects sink ~1 mm, not centimetres
DEPENETRATE_STEPS = 10  # 5 contact time constants: a 15 mm overlap ends under 1 mm
# bodies slower than this (MuJoCo's velocity units) sleep, costing no steps until touched: at
# 1e-4 poses stay within 0.4 mm of never sleeping, for a third of the stepping time
SLEEP_TOLERANCE = 1e-4
MIN_HULL_VOLUME = 1e-9  # m^3; flatter hulls (a sheet) collide as a thin box instead
MIN_THICKNESS = 0.002  # m, the thin box's smallest side
MAX_HULL_VERTICES = 64  # MuJoCo re-hulls every mesh at each model compile: keep hulls small
HULL_VERSION = 1  # bump when how a hull is made changes: cached hulls are then made again
RING_SEGMENTS = (12, 64)  # capsules around a torus, fewest and most
RING_TOLERANCE = 0.002  # m; 1 mm costs 30 % more time for tori
# the mesh detail level whose facets stay within 1 mm of the true surface (the kinds' own
# silhouette test at 1 px = 1 mm / tolerance), so coarse facets do not sink below the ground
PX_PER_METRE = SILHOUETTE_TOLERANCE_PX / 0.001


@dataclass(frozen=True)
class Body:
    """One object to drop: its segsim shape dict and its starting pose (object -> world)."""

    shape: dict
    rotation: np.ndarray  # 3x3
    centre: np.ndarray  # (3,) world position of the object origin


def settle(bodies: list[Body], steps: int = 400, ground_z: float = 0.0) -> list[np.ndarray]:
    """Drop the bodies onto an infinite ground plane at z = ground_z and onto each other, run
    `steps` timesteps, and return one 4x4 object_to_world per body, in order.

    Bodies should start apart (e.g. stacked in z); overlapping starts are pushed apart hard.
    Nothing random is drawn: the result is a function of the bodies alone."""
    mujoco = _mujoco()
    if not bodies:
        return []
    if steps < 0:
        raise SegsimError(f"steps must be >= 0, not {steps}", "pass steps=400", param="steps")
    model = _compile(mujoco, _model_xml(mujoco, bodies, ground_z))
    _set_damping(model)
    data = mujoco.MjData(model)
    if steps:
        mujoco.mj_step(model, data, nstep=int(steps))
        # a body landing in the last steps is still sunk by up to v * timestep: stop everything
        # and, without gravity, let the contacts alone push it out
        data.qvel[:] = 0.0
        model.opt.gravity[:] = 0.0
        mujoco.mj_step(model, data, nstep=DEPENETRATE_STEPS)
    poses = []
    for i in range(len(bodies)):
        # read qpos, not xpos/xmat: those lag one step behind after mj_step
        qpos = data.qpos[7 * i : 7 * i + 7]
        R = np.empty(9)
        mujoco.mju_quat2Mat(R, qpos[3:7])
        T = np.eye(4)
        T[:3, :3] = R.reshape(3, 3)
        T[:3, 3] = qpos[:3]
        poses.append(T)
    return poses


def _model_xml(mujoco, bodies: list[Body], ground_z: float = 0.0) -> str:
    """The MJCF for a drop, in a fixed order (body i is the i-th free body)."""
    assets, world = [], []
    for i, body in enumerate(bodies):
        geoms, mesh = _geoms(body.shape, i)
        if mesh is not None:
            assets.append(mesh)
        pos = _floats(np.asarray(body.centre, float).reshape(3))
        quat = _floats(_quat(mujoco, body.rotation))
        parts = "".join(f"<geom {g}/>" for g in geoms)
        world.append(f'<body pos="{pos}" quat="{quat}"><freejoint/>{parts}</body>')
    ground = f'<geom type="plane" size="0 0 1" pos="0 0 {float(ground_z)!r}"/>'
    # Newton converges in a few iterations on small piles; implicitfast integrates the damping
    # implicitly, so strong damping cannot go unstable
    option = (
        f'<option timestep="{TIMESTEP!r}" integrator="implicitfast" solver="Newton" '
        f'iterations="30" ls_iterations="10" cone="pyramidal" sleep_tolerance='
        f'"{SLEEP_TOLERANCE!r}"><flag multiccd="enable" sleep="enable"/></option>'
    )
    default = (
        f'<default><geom density="{DENSITY!r}" friction="{FRICTION!r} 0.005 0.0001" '
        f'solref="{SOLREF}" solimp="{SOLIMP}"/></default>'
    )
    return (
        f'<mujoco model="segsim-drop"><compiler angle="radian"/>{option}{default}'
        f"<asset>{''.join(assets)}</asset><worldbody>{ground}{''.join(world)}</worldbody></mujoco>"
    )


def _geoms(shape: dict, i: int) -> tuple[list[str], str | None]:
    """(attributes of each geom, mesh asset or None) for one shape, in its object frame."""
    kind = kind_of(shape)  # SegsimError naming an unknown kind
    name = kind.name
    try:
        if name == "box":
            half = np.asarray(kind.unit_key_and_scale(shape)[1].diagonal()[:3]) / 2
            return [f'type="box" size="{_floats(half)}"'], None
        if name == "sphere":
            return [f'type="sphere" size="{positive(shape, "radius")!r}"'], None
        if name in ("cylinder", "capsule"):
            # MuJoCo's half-length: of the whole cylinder, of a capsule's straight part (the
            # distance between its hemisphere centres, segsim's capsule height)
            r, h = positive(shape, "radius"), positive(shape, "height")
            return [f'type="{name}" size="{r!r} {h / 2!r}"'], None
        if name == "torus":
            return _ring(positive(shape, "radius"), positive(shape, "tube")), None
        key, scale = kind.unit_key_and_scale(shape)
        level = kind.detail_level(shape, PX_PER_METRE)
        hull, unit_volume = _unit_hull(name, key, level)
    except SegsimError:
        raise
    except Exception as exc:  # a kind without geometry, or geometry that cannot be read
        raise SegsimError(
            f"cannot build collision geometry for shape type {name!r} ({exc})",
            "use a kind with a unit mesh, or place it without physics",
        ) from None
    S = np.asarray(scale, float)
    if unit_volume * abs(np.linalg.det(S[:3, :3])) < MIN_HULL_VOLUME:
        verts = hull @ S[:3, :3].T + S[:3, 3]
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        size = np.maximum((hi - lo) / 2, MIN_THICKNESS / 2)
        return [f'type="box" size="{_floats(size)}" pos="{_floats((lo + hi) / 2)}"'], None
    diagonal = not np.any(S[:3, :3] - np.diag(S.diagonal()[:3])) and not np.any(S[:3, 3])
    if diagonal:  # MuJoCo scales the unit hull itself: its vertex text is formatted once
        vertex = f'vertex="{_hull_text(name, key, level)}" scale="{_floats(S.diagonal()[:3])}"'
    else:
        vertex = f'vertex="{_floats((hull @ S[:3, :3].T + S[:3, 3]).ravel())}"'
    mesh = f'<mesh name="m{i}" {vertex} inertia="convex" maxhullvert="{MAX_HULL_VERTICES}"/>'
    return [f'type="mesh" mesh="m{i}"'], mesh


def _ring(big: float, tube: float) -> list[str]:
    """A torus as n capsules joined end to end around a polygon in the xy plane. The polygon's
    corners lie out at 2 R / (1 + cos(pi / n)), so the tube's centre line strays as far outside
    the true circle at the corners as inside it mid-segment; n keeps that within tolerance."""
    lo, hi = RING_SEGMENTS
    n = lo
    while n < hi and big * (1 - np.cos(np.pi / n)) / (1 + np.cos(np.pi / n)) > RING_TOLERANCE:
        n += 4
    corner = 2 * big / (1 + np.cos(np.pi / n))
    a = 2 * np.pi * np.arange(n + 1) / n
    pts = np.stack([corner * np.cos(a), corner * np.sin(a), np.zeros(n + 1)], axis=1)
    return [
        f'type="capsule" size="{tube!r}" fromto="{_floats(np.concatenate(pts[k : k + 2]))}"'
        for k in range(n)
    ]


# hulls hold at most MAX_HULL_VERTICES points: cheap to keep for every model of a library
@functools.lru_cache(maxsize=4096)
def _unit_hull(name: str, key: tuple, level: int) -> tuple[np.ndarray, float]:
    """(hull vertices, hull volume) of a kind's unit mesh at a detail level; cached, as sizes
    vary but unit meshes repeat (one per kind or mesh file, and level). A mesh file's is kept
    in the asset cache too: every worker of every run meets the library's models afresh, and
    its hull costs a qhull and a MuJoCo compile (~4 ms), its cached copy a file read."""
    if name != "mesh":
        return _hull(name, key, level)
    from segsim.assets.cache import cache_dir, cached_arrays
    from segsim.assets.meshfile import mesh_info

    def make() -> dict:
        points, volume = _hull(name, key, level)
        return {"points": points, "volume": np.float64(volume)}

    tag = f"{HULL_VERSION}:{MAX_HULL_VERTICES}:{mesh_info(key[1]).sha256}:{key[2:]!r}:{level}"
    path = cache_dir() / "hulls" / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.npz"
    arrays = cached_arrays(path, make)
    points = np.asarray(arrays["points"], float)
    points.setflags(write=False)
    return points, float(arrays["volume"])


def _hull(name: str, key: tuple, level: int) -> tuple[np.ndarray, float]:
    """(hull vertices, hull volume) of a kind's unit mesh, computed."""
    import trimesh

    from segsim.scene.shapes import get_shape

    verts = get_shape(name).collision_points(key, level)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # a flat hull's centroid is 0 / 0
            hull = trimesh.convex.convex_hull(verts)
            points, volume = np.asarray(hull.vertices, float), float(abs(hull.volume))
        if not np.isfinite(volume):
            points, volume = verts, 0.0
    except Exception:  # qhull refuses flat or degenerate point sets: no volume to collide with
        points, volume = verts, 0.0
    if volume > 0 and len(points) > MAX_HULL_VERTICES:
        points = _mujoco_hull_vertices(points)
    points.setflags(write=False)
    return points, volume


def _mujoco_hull_vertices(points: np.ndarray) -> np.ndarray:
    """The at most MAX_HULL_VERTICES points MuJoCo's own hull of `points` keeps: MuJoCo would
    cut every drop's hull down to these at each compile, so a unit shape is cut once."""
    mujoco = _mujoco()
    model = mujoco.MjModel.from_xml_string(
        f'<mujoco><asset><mesh name="m" vertex="{_floats(points.ravel())}" '
        f'maxhullvert="{MAX_HULL_VERTICES}"/></asset>'
        '<worldbody><geom type="mesh" mesh="m"/></worldbody></mujoco>'
    )
    graph, adr = model.mesh_graph, int(model.mesh_graphadr[0])
    if adr < 0:
        return points
    count = int(graph[adr])
    ids = np.sort(graph[adr + 2 + count : adr + 2 + 2 * count])  # vert_globalid: input order
    return np.ascontiguousarray(points[ids])


@functools.lru_cache(maxsize=4096)
def _hull_text(name: str, key: tuple, level: int) -> str:
    return _floats(_unit_hull(name, key, level)[0].ravel())


def _set_damping(model) -> None:
    """Damping proportional to each body's mass and inertia, so every body slows alike."""
    for i in range(1, model.nbody):
        dof = model.body_dofadr[i]
        model.dof_damping[dof : dof + 3] = LINEAR_DAMPING * model.body_mass[i]
        model.dof_damping[dof + 3 : dof + 6] = ANGULAR_DAMPING * float(
            np.mean(model.body_inertia[i])
        )


def _compile(mujoco, xml: str):
    try:
        return mujoco.MjModel.from_xml_string(xml)
    except ValueError as exc:
        raise SegsimError(
            f"MuJoCo could not build the drop model: {exc}",
            "check the shapes' sizes (positive, not degenerate)",
        ) from None


def _mujoco():
    try:
        import mujoco
    except ImportError:
        raise SegsimError(
            "physics placement (drop) needs MuJoCo, which is not installed",
            "pip install mujoco (segsim's Makefile installs it)",
        ) from None
    return mujoco


def _quat(mujoco, rotation) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of the rotation nearest a 3x3 matrix."""
    u, _, vt = np.linalg.svd(np.asarray(rotation, float).reshape(3, 3))
    R = u @ vt
    if np.linalg.det(R) < 0:
        raise SegsimError("a body's rotation is a reflection", "give a proper rotation matrix")
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, R.ravel())
    return q


def _floats(values) -> str:
    # repr round-trips a float exactly, so the model (and the result) depends on the input alone
    return " ".join(repr(float(v)) for v in np.ravel(values))
