"""An independent ray caster for the oracle test: numpy only, no GL, nothing from segsim.render.

It reads what a frame's meta holds (camera K and world_to_camera, every object's object_to_world
and canonical shape, the ground) and intersects one ray per pixel centre with the analytic
shapes: boxes (slabs), spheres and cylinders / cones / capsules (quadratics + caps) exactly, tori
by sphere tracing their signed distance function, meshes from their files with trimesh's ray
test. Rays are K^-1 (u + 0.5, v + 0.5, 1) in the camera frame, so the ray parameter t *is* the
metric z depth.
"""

from __future__ import annotations

import numpy as np

INF = np.inf


def _first_positive(*ts):
    """Elementwise smallest t > eps among candidate arrays (inf when none)."""
    best = np.full(ts[0].shape, INF)
    for t in ts:
        ok = np.isfinite(t) & (t > 1e-9)
        best = np.where(ok & (t < best), t, best)
    return best


def _quadratic(a, b, c):
    """Both roots of a t^2 + b t + c = 0 (nan where none)."""
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.where(disc >= 0, disc, np.nan))
        t0 = (-b - s) / (2 * a)
        t1 = (-b + s) / (2 * a)
    return t0, t1


def hit_box(o, d, extents):
    half = np.asarray(extents, float) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
    tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
    hit = (tmax >= tmin) & (tmax > 0)
    return np.where(hit, np.where(tmin > 0, tmin, INF), INF)


def hit_sphere(o, d, radius, centre=(0.0, 0.0, 0.0)):
    oc = o - np.asarray(centre, float)
    a = np.sum(d * d, -1)
    b = 2 * np.sum(oc * d, -1)
    c = np.sum(oc * oc, -1) - radius * radius
    t0, t1 = _quadratic(a, b, c)
    return _first_positive(t0, t1)


def _disc(o, d, z, radius):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - o[..., 2]) / d[..., 2]
    p = o + t[..., None] * d
    inside = p[..., 0] ** 2 + p[..., 1] ** 2 <= radius * radius
    return np.where(inside, t, INF)


def _side(o, d, t, half_height):
    z = o[..., 2] + t * d[..., 2]
    return np.where(np.abs(z) <= half_height, t, INF)


def hit_cylinder(o, d, radius, height, caps=True):
    a = d[..., 0] ** 2 + d[..., 1] ** 2
    b = 2 * (o[..., 0] * d[..., 0] + o[..., 1] * d[..., 1])
    c = o[..., 0] ** 2 + o[..., 1] ** 2 - radius * radius
    t0, t1 = _quadratic(a, b, c)
    h = height / 2
    cands = [_side(o, d, t0, h), _side(o, d, t1, h)]
    if caps:
        cands += [_disc(o, d, h, radius), _disc(o, d, -h, radius)]
    return _first_positive(*cands)


def hit_cone(o, d, radius, height):
    """Apex at z = +h/2, base disc of `radius` at z = -h/2."""
    k = radius / height
    h = height / 2
    w0 = h - o[..., 2]  # (h/2 - z) at t = 0, decreasing by d_z per unit t
    a = d[..., 0] ** 2 + d[..., 1] ** 2 - k * k * d[..., 2] ** 2
    b = 2 * (o[..., 0] * d[..., 0] + o[..., 1] * d[..., 1]) + 2 * k * k * w0 * d[..., 2]
    c = o[..., 0] ** 2 + o[..., 1] ** 2 - k * k * w0 * w0
    t0, t1 = _quadratic(a, b, c)
    return _first_positive(_side(o, d, t0, h), _side(o, d, t1, h), _disc(o, d, -h, radius))


def hit_capsule(o, d, radius, height):
    """Cylinder of `height` between the hemisphere centres at z = +-h/2: the union's first hit
    is the smallest first hit of its three convex parts."""
    h = height / 2
    return _first_positive(
        hit_cylinder(o, d, radius, height, caps=False),
        hit_sphere(o, d, radius, (0, 0, h)),
        hit_sphere(o, d, radius, (0, 0, -h)),
    )


def hit_torus(o, d, radius, tube, steps=400, eps=1e-6):
    """Sphere tracing of the torus SDF (ring in the xy plane), started at its bounding sphere."""
    shape = d.shape[:-1]
    o = np.broadcast_to(o, d.shape).reshape(-1, 3)
    d = d.reshape(-1, 3)
    n = np.linalg.norm(d, axis=-1)
    u = d / n[..., None]
    t_start = hit_sphere(o, u, radius + tube)
    inside = np.linalg.norm(o, axis=-1) < radius + tube
    t = np.where(inside, 0.0, t_start)
    active = np.isfinite(t)
    result = np.full(t.shape, INF)
    t_exit = np.where(active, t + 2 * (radius + tube) + 1e-6, 0)
    for _ in range(steps):
        if not active.any():
            break
        p = o[active] + t[active][:, None] * u[active]
        q = np.stack([np.hypot(p[:, 0], p[:, 1]) - radius, p[:, 2]], -1)
        dist = np.linalg.norm(q, axis=-1) - tube
        idx = np.flatnonzero(active)
        done = dist < eps
        result[idx[done]] = t[idx[done]]
        t[idx] = t[idx] + np.maximum(dist, 0)
        gone = done | (t[idx] > t_exit[idx])
        active[idx[gone]] = False
    return (result / n).reshape(shape)  # back to the parameter of the unnormalised ray


def hit_mesh(o, d, shape):
    """A mesh shape as the meta's contract defines it: the file as trimesh.load(path,
    force="mesh") returns it, mapped by file_to_object."""
    import trimesh

    mesh = trimesh.load(shape["path"], force="mesh")
    return hit_triangles(o, d, _to_object(shape, mesh.vertices)[mesh.faces])


def mesh_parts(shape):
    """(class id, object-frame triangles) per part of a mesh whose parts have classes: the
    geometry of trimesh.load(path, force="scene") by name, its scene-graph transform applied
    before file_to_object, as the meta's contract says."""
    import trimesh

    scene = trimesh.load(shape["path"], force="scene")
    class_of = {p["name"]: p["class_id"] for p in shape["parts"]}
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geom = scene.geometry[name]
        verts = geom.vertices @ transform[:3, :3].T + transform[:3, 3]
        yield class_of[name], _to_object(shape, verts)[geom.faces]


def _to_object(shape, vertices):
    f2o = np.asarray(shape["file_to_object"], float)
    return np.asarray(vertices, float) @ f2o[:3, :3].T + f2o[:3, 3]


def hit_triangles(o, d, tri, chunk=64):
    """Moller-Trumbore ray-triangle tests of every ray against every triangle (two-sided),
    `chunk` triangles at a time; t of the nearest hit per ray (inf: none)."""
    out_shape = d.shape[:-1]
    origins = np.broadcast_to(o, d.shape).reshape(-1, 3)
    dirs = d.reshape(-1, 3)
    best = np.full(len(dirs), INF)
    for k in range(0, len(tri), chunk):
        v0, e1, e2 = (
            tri[k : k + chunk, 0],
            tri[k : k + chunk, 1] - tri[k : k + chunk, 0],
            tri[k : k + chunk, 2] - tri[k : k + chunk, 0],
        )
        p = np.cross(dirs[:, None, :], e2[None])  # R x C x 3
        det = np.einsum("rcj,cj->rc", p, e1)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / det
            s = origins[:, None, :] - v0[None]
            u = np.einsum("rcj,rcj->rc", s, p) * inv
            q = np.cross(s, e1[None])
            v = np.einsum("rj,rcj->rc", dirs, q) * inv
            t = np.einsum("rcj,cj->rc", q, e2) * inv
        ok = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
        best = np.minimum(best, np.where(ok, t, INF).min(axis=1))
    return best.reshape(out_shape)


SHAPES = {
    "box": lambda o, d, s: hit_box(o, d, s["extents"]),
    "sphere": lambda o, d, s: hit_sphere(o, d, s["radius"]),
    "cylinder": lambda o, d, s: hit_cylinder(o, d, s["radius"], s["height"]),
    "cone": lambda o, d, s: hit_cone(o, d, s["radius"], s["height"]),
    "capsule": lambda o, d, s: hit_capsule(o, d, s["radius"], s["height"]),
    "torus": lambda o, d, s: hit_torus(o, d, s["radius"], s["tube"]),
    "mesh": hit_mesh,
}


def camera_rays(K, world_to_camera, width, height):
    """Per pixel centre: world origin (3,) and world direction (H, W, 3) with camera z = 1."""
    K = np.asarray(K, float)
    w2c = np.asarray(world_to_camera, float)
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], -1)
    d_cam = pix @ np.linalg.inv(K).T  # z component exactly 1
    c2w = np.linalg.inv(w2c)
    return c2w[:3, 3], d_cam @ c2w[:3, :3].T


def raycast(meta: dict) -> dict:
    """class_ids (uint8), instance_ids (uint16), depth (float32, 0 = nothing) and object index
    (int, -1 = nothing) of every pixel, from a meta-like dict."""
    cam = meta["camera"]
    w, h = int(cam["width"]), int(cam["height"])
    origin, dirs = camera_rays(cam["K"], cam["world_to_camera"], w, h)
    objects = list(meta["objects"]) + ([meta["ground"]] if meta.get("ground") else [])
    best = np.full((h, w), INF)
    index = np.full((h, w), -1)
    part_class = np.full((h, w), -1)  # where a part with a class of its own is nearest
    for i, obj in enumerate(objects):
        w2o = np.linalg.inv(np.asarray(obj["object_to_world"], float))
        o = np.broadcast_to(w2o[:3, :3] @ origin + w2o[:3, 3], dirs.shape)
        d = dirs @ w2o[:3, :3].T
        if "parts" in obj["shape"]:
            for cid, tri in mesh_parts(obj["shape"]):
                t = hit_triangles(o, d, tri)
                closer = t < best
                best, index = np.where(closer, t, best), np.where(closer, i, index)
                part_class = np.where(closer, cid, part_class)
            continue
        t = SHAPES[obj["shape"]["type"]](o, d, obj["shape"])
        closer = t < best
        best = np.where(closer, t, best)
        index = np.where(closer, i, index)
        part_class = np.where(closer, -1, part_class)
    near, far = float(cam.get("near", 0.0)), float(cam.get("far", INF))
    hit = np.isfinite(best) & (best >= near) & (best <= far)
    class_lut = np.array([int(o["class_id"]) for o in objects] + [0])
    inst_lut = np.array([int(o["instance_id"]) for o in objects] + [0])
    index = np.where(hit, index, -1)
    classes = np.where(hit & (part_class >= 0), part_class, class_lut[index])
    return {
        "class_ids": classes.astype(np.uint8),
        "instance_ids": inst_lut[index].astype(np.uint16),
        "depth": np.where(hit, best, 0).astype(np.float32),
        "object_index": index,
    }


def edge_band(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """True within `width` pixels of a change of `labels` (4-neighbour boundaries, dilated)."""
    edge = np.zeros(labels.shape, bool)
    dy = labels[1:] != labels[:-1]
    dx = labels[:, 1:] != labels[:, :-1]
    edge[1:] |= dy
    edge[:-1] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    for _ in range(width - 1):
        grown = edge.copy()
        grown[1:] |= edge[:-1]
        grown[:-1] |= edge[1:]
        grown[:, 1:] |= edge[:, :-1]
        grown[:, :-1] |= edge[:, 1:]
        edge = grown
    return edge
