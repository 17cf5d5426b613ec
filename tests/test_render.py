"""Renderer behaviour: determinism, exact labels, post-effects on RGB only, normals, shadows,
backgrounds, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

from render_fixtures import get_renderer
from segsim.errors import SegsimError
from segsim.scene.config import load_scene_config
from segsim.scene.geometry import look_at_opencv, rigid
from segsim.scene.randomize import sample_scene
from segsim.scene.spec import (
    Background,
    Camera,
    Light,
    Material,
    PostFX,
    Scene,
    SceneObject,
    Texture,
)

W, H = 96, 72


@pytest.fixture
def renderer_factory():
    return get_renderer


def simple_scene(width=W, height=H, **kw) -> Scene:
    K = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1.0]])
    cam = Camera(
        K, look_at_opencv(np.array([0.0, -5.0, 2.5]), np.array([0.0, 0.0, 0.5])), width, height
    )
    box = SceneObject(
        {"type": "box", "extents": [1.0, 1.0, 1.0]},
        rigid(np.eye(3), [-0.8, 0, 0.5]),
        Material((0.9, 0.2, 0.2)),
        class_id=1,
        class_name="cube",
        instance_id=1,
    )
    ball = SceneObject(
        {"type": "sphere", "radius": 0.5},
        rigid(np.eye(3), [0.8, 0, 0.5]),
        Material((0.2, 0.8, 0.3), Texture("checker", (0.1, 0.1, 0.6), 6.0)),
        class_id=2,
        class_name="sphere",
        instance_id=2,
    )
    ground = SceneObject(
        {"type": "box", "extents": [30, 30, 0.02]},
        rigid(np.eye(3), [0, 0, -0.01]),
        Material((0.7, 0.7, 0.7)),
        distractor=True,
    )
    scene = Scene(
        cam, [box, ball], [Light((0.5, 0.6, -1.0))], ambient=(0.2, 0.2, 0.2), ground=ground
    )
    for k, v in kw.items():
        setattr(scene, k, v)
    return scene


def test_frame_types_and_shapes(renderer_factory):
    f = renderer_factory(W, H).render(simple_scene(), normals=True)
    assert f.rgb.shape == (H, W, 3) and f.rgb.dtype == np.uint8
    assert f.class_ids.shape == (H, W) and f.class_ids.dtype == np.uint8
    assert f.instance_ids.shape == (H, W) and f.instance_ids.dtype == np.uint16
    assert f.depth.shape == (H, W) and f.depth.dtype == np.float32
    assert f.normals.shape == (H, W, 3) and f.normals.dtype == np.float32
    assert set(np.unique(f.class_ids)) == {0, 1, 2}
    assert set(np.unique(f.instance_ids)) == {0, 1, 2}
    # ids are exact: every instance pixel carries its own class, never a blend
    assert np.all(f.class_ids[f.instance_ids == 1] == 1)
    assert np.all(f.class_ids[f.instance_ids == 2] == 2)
    assert renderer_factory(W, H).render(simple_scene()).normals is None


@pytest.mark.parametrize("normals", [False, True])
def test_same_scene_twice_is_identical(renderer_factory, normals):
    """Also: nothing carries over between frames. Only the depth buffer is cleared before the
    colour pass, so a pixel left unwritten would show the previous frame's labels."""
    cfg = load_scene_config("shapes")
    r = renderer_factory(W, H)
    scenes = [sample_scene(cfg, 3, i, W, H) for i in range(3)]
    first = [r.render(s, normals=normals) for s in scenes]
    again = [r.render(s, normals=normals) for s in reversed(scenes)][::-1]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.class_ids, b.class_ids)
        assert np.array_equal(a.instance_ids, b.instance_ids)
        assert np.array_equal(a.depth, b.depth)
        assert np.array_equal(a.rgb, b.rgb)
        if normals:
            assert np.array_equal(a.normals, b.normals)


def test_postfx_touches_rgb_only_and_is_seeded(renderer_factory):
    r = renderer_factory(W, H)
    plain = r.render(simple_scene())
    fx = PostFX(
        noise_std=5.0,
        blur_sigma=1.0,
        brightness=0.05,
        contrast=1.2,
        saturation=0.5,
        hue_shift=20.0,
        seed=7,
    )
    a = r.render(simple_scene(postfx=fx))
    b = r.render(simple_scene(postfx=copy.deepcopy(fx)))
    other = r.render(simple_scene(postfx=PostFX(**{**fx.__dict__, "seed": 8})))
    assert np.array_equal(a.class_ids, plain.class_ids)
    assert np.array_equal(a.instance_ids, plain.instance_ids)
    assert np.array_equal(a.depth, plain.depth)
    assert not np.array_equal(a.rgb, plain.rgb)
    assert np.array_equal(a.rgb, b.rgb)
    assert not np.array_equal(a.rgb, other.rgb)


def test_normals_face_the_camera_and_match_the_sphere(renderer_factory):
    scene = simple_scene()
    f = renderer_factory(W, H).render(scene, normals=True)
    hit = f.depth > 0
    lengths = np.linalg.norm(f.normals[hit], axis=-1)
    assert np.allclose(lengths, 1.0, atol=1e-3)
    assert np.all(f.normals[~hit] == 0)
    # a visible surface faces the camera: normal . ray direction < 0 (smooth normals of the
    # tessellated sphere may graze the other way right at its silhouette)
    K = scene.camera.K
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    assert np.mean(np.sum(f.normals[hit] * rays[hit], -1) < 0) > 0.99
    # on the sphere the normal is (point - centre) / r, in the camera frame
    sphere = f.instance_ids == 2
    points = rays[sphere] * f.depth[sphere][:, None]
    centre = (scene.camera.world_to_camera @ np.array([0.8, 0, 0.5, 1.0]))[:3]
    expected = (points - centre) / 0.5
    assert np.median(np.abs(f.normals[sphere] - expected)) < 0.03


def test_shadow_darkens_the_ground_beside_the_box(renderer_factory):
    r = renderer_factory(W, H)
    lit = simple_scene()
    lit.objects = lit.objects[:1]
    lit.lights = [Light((1.0, 0.2, -0.7))]  # from the left: the shadow falls to the right
    no_shadow = copy.deepcopy(lit)
    no_shadow.lights[0].cast_shadows = False
    a, b = r.render(lit), r.render(no_shadow)
    ground = a.class_ids == 0
    ground &= a.depth > 0
    darker = (b.rgb.astype(int).sum(-1) - a.rgb.astype(int).sum(-1)) > 30
    assert (darker & ground).sum() > 20  # a real shadow on the ground
    assert not (darker & (a.instance_ids == 1)).sum() > 0.5 * (a.instance_ids == 1).sum()


def test_an_object_that_casts_no_shadow_leaves_the_ground_lit(renderer_factory):
    r = renderer_factory(W, H)
    lit = simple_scene()
    lit.objects = lit.objects[:1]
    lit.lights = [Light((1.0, 0.2, -0.7))]
    flat = copy.deepcopy(lit)
    flat.objects[0].casts_shadow = False
    no_shadow = copy.deepcopy(lit)
    no_shadow.lights[0].cast_shadows = False
    a, b, c = r.render(lit), r.render(flat), r.render(no_shadow)
    assert not np.array_equal(a.rgb, c.rgb)  # the box does shadow the ground when it casts
    assert np.array_equal(b.rgb, c.rgb)
    assert np.array_equal(b.class_ids, a.class_ids)


def test_fill_lights_brighten_only_the_faces_they_reach(renderer_factory):
    # Fill lights are lit per vertex (scene.vert.glsl). A green fill from the camera's side must
    # green the box's front face; one from behind the objects must leave every visible face as it
    # was, since they all turn away from it.
    r = renderer_factory(W, H)
    key_only = simple_scene()
    key_only.ground = None

    def with_fill(direction):
        scene = copy.deepcopy(key_only)
        scene.lights.append(
            Light(direction, color=(0.0, 1.0, 0.0), intensity=1.0, cast_shadows=False)
        )
        return r.render(scene)

    a = r.render(key_only)
    front, behind = with_fill((0.0, 1.0, 0.0)), with_fill((0.0, -1.0, 0.0))
    box = a.instance_ids == 1
    green_gain = front.rgb[box][:, 1].astype(int) - a.rgb[box][:, 1].astype(int)
    assert green_gain.mean() > 8
    assert np.abs(behind.rgb[box].astype(int) - a.rgb[box].astype(int)).mean() < 1
    np.testing.assert_array_equal(a.class_ids, front.class_ids)  # light never changes labels


def test_soft_light_wraps_past_the_terminator(renderer_factory):
    # A key light grazing the objects' faces that look at the camera leaves them unlit under
    # Lambert; with wrap 1 (half-Lambert) they catch half of it, and the labels stay as they were.
    r = renderer_factory(W, H)
    hard = simple_scene()
    hard.ground = None
    hard.ambient = (0.05, 0.05, 0.05)
    hard.lights = [Light((1.0, 0.0, 0.0), cast_shadows=False)]
    soft = copy.deepcopy(hard)
    soft.lights[0].wrap = 1.0
    a, b = r.render(hard), r.render(soft)
    objects = a.instance_ids > 0
    gain = b.rgb[objects].astype(int).sum(-1) - a.rgb[objects].astype(int).sum(-1)
    assert gain.mean() > 30 and (gain >= 0).mean() > 0.99
    np.testing.assert_array_equal(a.class_ids, b.class_ids)


def test_rgb_is_antialiased_and_lit(renderer_factory):
    scene = simple_scene(background=Background("solid", color=(0.0, 0.0, 1.0)))
    scene.ground = None
    f = renderer_factory(W, H).render(scene)
    box = f.instance_ids == 1
    # the box is red-ish, the background blue
    assert f.rgb[box][:, 0].mean() > 2 * f.rgb[box][:, 2].mean()
    empty = f.depth == 0
    inner = empty.copy()  # background pixels away from any object edge
    inner[1:-1, 1:-1] = np.logical_and.reduce(
        [empty[1 + dy : H - 1 + dy, 1 + dx : W - 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    )
    assert np.all(f.rgb[inner][:, 2] >= 250) and np.all(f.rgb[inner][:, 0] <= 5)
    # MSAA: some edge pixels blend red and blue
    edge_colours = f.rgb[(f.rgb[..., 0] > 40) & (f.rgb[..., 2] > 60) & (f.rgb[..., 2] < 230)]
    assert len(edge_colours) > 5


def test_background_image_is_upright(renderer_factory, tmp_path):
    img = np.zeros((50, 80, 3), np.uint8)
    img[:25] = (255, 0, 0)  # top red
    img[25:] = (0, 0, 255)  # bottom blue
    path = tmp_path / "bg.png"
    Image.fromarray(img).save(path)
    scene = simple_scene(background=Background("image", path=str(path)))
    scene.objects, scene.ground = [], None
    f = renderer_factory(W, H).render(scene)
    assert f.rgb[2, W // 2, 0] > 200 and f.rgb[2, W // 2, 2] < 50
    assert f.rgb[-3, W // 2, 2] > 200 and f.rgb[-3, W // 2, 0] < 50


@pytest.mark.parametrize("kind", ["solid", "gradient", "checker", "stripes", "noise", "clutter"])
def test_every_background_kind_renders_and_varies_by_seed(renderer_factory, kind):
    r = renderer_factory(W, H)
    scene = simple_scene(
        background=Background(kind, color=(0.9, 0.5, 0.1), color2=(0.1, 0.2, 0.8), seed=1)
    )
    scene.objects, scene.ground = [], None
    a = r.render(scene).rgb.astype(int)
    assert np.array_equal(r.render(scene).rgb, a)
    if kind != "solid":
        assert a.std() > 5  # a pattern, not a flat colour
        scene.background.seed = 2
        scene.background.angle = 1.0
        assert not np.array_equal(r.render(scene).rgb, a)


def test_cached_clutter_never_goes_stale(renderer_factory):
    """The renderer keeps the last clutter image; a new seed or colour must still show."""
    r = renderer_factory(W, H)

    def clutter(seed, color=(0.9, 0.5, 0.1)):
        scene = simple_scene(
            background=Background("clutter", color=color, color2=(0.1, 0.2, 0.8), seed=seed)
        )
        scene.objects, scene.ground = [], None
        return r.render(scene).rgb

    a, b, c = clutter(1), clutter(2), clutter(1, color=(0.1, 0.9, 0.1))
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(clutter(1), a)  # back to the first after others: identical bytes


@pytest.mark.parametrize("kind", ["checker", "stripes", "noise", "gradient"])
def test_procedural_textures_vary_across_the_surface(renderer_factory, kind):
    scene = simple_scene()
    for o in scene.objects:
        o.material = Material((0.9, 0.9, 0.1), Texture(kind, (0.1, 0.1, 0.9), scale=5.0))
    f = renderer_factory(W, H).render(scene)
    ball = f.rgb[f.instance_ids == 2].astype(int)
    assert (ball[:, 0] - ball[:, 2]).std() > 20  # both colours appear


def test_image_texture(renderer_factory, tmp_path):
    tex = np.zeros((16, 16, 3), np.uint8)
    tex[::2] = 255
    Image.fromarray(tex).save(tmp_path / "t.png")
    scene = simple_scene()
    scene.objects[0].material = Material(
        (1, 1, 1), Texture("image", scale=3.0, path=str(tmp_path / "t.png"))
    )
    f = renderer_factory(W, H).render(scene)
    assert f.rgb[f.instance_ids == 1].std() > 10
    scene.objects[0].material.texture.path = str(tmp_path / "missing.png")
    with pytest.raises(SegsimError, match="not found"):
        renderer_factory(W, H).render(scene)


def test_size_mismatch_and_bad_kinds_are_user_errors(renderer_factory):
    r = renderer_factory(W, H)
    with pytest.raises(SegsimError, match="renderer is 96x72"):
        r.render(simple_scene(width=64, height=64))
    with pytest.raises(SegsimError, match="unknown background kind"):
        r.render(simple_scene(background=Background("plaid")))
    scene = simple_scene()
    scene.objects[0].shape = {"type": "teapot"}
    with pytest.raises(SegsimError, match="unknown shape type"):
        r.render(scene)
    scene = simple_scene()
    scene.objects[0].object_to_world = np.diag([1.0, 0.0, 1.0, 1.0])  # flattened to a plane
    with pytest.raises(SegsimError, match="singular"):
        r.render(scene)


def test_egl_failure_names_the_debian_packages(monkeypatch):
    from segsim.render import context, gl

    def broken():
        raise RuntimeError("eglGetDisplay failed")

    monkeypatch.setattr(context, "_create_context", broken)
    monkeypatch.setattr(context, "_CONTEXT", {})
    with pytest.raises(SegsimError) as err:
        gl.Renderer(32, 32)
    msg = str(err.value)
    assert "eglGetDisplay failed" in msg
    for pkg in ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"):
        assert pkg in msg


def test_edge_aa_matches_msaa_labels_and_softens_only_edges(renderer_factory):
    """The default single-sample path writes labels in the colour pass: they must equal the
    MSAA path's separate id pass exactly, and its edge smoothing must give in-between colours
    on silhouettes while leaving flat interiors untouched."""
    from segsim.render.edge_aa import edge_mask
    from segsim.render.gl import Renderer

    scene = simple_scene(background=Background("solid", color=(0.0, 0.0, 1.0)))
    scene.ground = None
    single = renderer_factory(W, H).render(scene)
    r = Renderer(W, H, msaa=4)
    try:
        msaa = r.render(scene)
    finally:
        r.release()
    assert np.array_equal(single.class_ids, msaa.class_ids)
    assert np.array_equal(single.instance_ids, msaa.instance_ids)
    assert np.array_equal(single.depth, msaa.depth)
    ids = np.stack([single.class_ids.astype(np.uint16), single.instance_ids], -1)
    edge = edge_mask(ids, single.depth).astype(bool)
    # both sides of the box's silhouette against the blue background are marked
    assert edge[(single.class_ids == 1)].any() and edge[(single.class_ids == 0)].any()
    blue = np.array([0, 0, 255])
    background = (single.class_ids == 0) & ~edge
    assert np.array_equal(np.unique(single.rgb[background].reshape(-1, 3), axis=0), blue[None])
    blended = single.rgb[edge & (single.class_ids == 0)]
    assert (
        np.abs(blended.astype(int) - blue).sum(axis=1) > 20
    ).mean() > 0.5  # mixed with the object
    assert np.abs(single.rgb.astype(int) - msaa.rgb).mean() < 6  # close to the MSAA image


def test_edge_mask_marks_id_changes_and_depth_steps():
    from segsim.render.edge_aa import edge_mask

    ids = np.zeros((6, 6, 2), np.uint16)
    depth = np.full((6, 6), 5.0, np.float32)
    ids[:, 3:, 1] = 7  # an instance boundary between columns 2 and 3
    depth[4:, :] = 0.0  # nothing hit below row 3: a depth step on row 3/4
    edge = edge_mask(ids, depth).astype(bool)
    assert edge[:, 2:4].all() and not edge[:3, :2].any() and not edge[:3, 5].any()
    assert edge[3:5, :].all()
    assert not edge[5, 0]  # 0 next to 0: not an edge
    # a one-pixel-wide or -high image has edges along its one direction only
    assert edge_mask(ids[:, 2:4], depth[:, 2:4])[:, 0].all()
    assert edge_mask(ids[:1], depth[:1]).astype(bool).tolist() == [
        [False, False, True, True, False, False]
    ]
    assert edge_mask(ids[:, :1], depth[:, :1]).astype(bool).ravel().tolist() == [False] * 3 + [
        True
    ] * 2 + [False]


def test_render_from_another_thread_gives_the_same_frame(renderer_factory):
    """An EGL context is current in one thread only; render() must not silently draw nothing
    when a server calls it from a worker thread."""
    import threading

    r = renderer_factory(W, H)
    scene = simple_scene()
    here = r.render(scene)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("frame", r.render(scene)))
    worker.start()
    worker.join()
    again = r.render(scene)
    for f in (out["frame"], again):
        assert np.array_equal(f.class_ids, here.class_ids) and np.array_equal(f.rgb, here.rgb)


def test_objects_out_of_view_are_culled_but_still_cast_shadows(renderer_factory):
    from segsim.render.drawables import draw_items, in_view

    scene = simple_scene()
    box = scene.objects[0]
    # behind the camera, far to the side, beyond the far plane; one straddling the left edge
    outside = [[0, -9, 2.5], [40, 0, 0.5], [0, 200, 0.5]]
    edge = copy.deepcopy(box)
    edge.object_to_world = rigid(np.eye(3), [-3.0, 0, 0.5])
    edge.instance_id = 9
    far = []
    for k, pos in enumerate(outside):
        o = copy.deepcopy(box)
        o.object_to_world = rigid(np.eye(3), pos)
        o.instance_id = 10 + k
        far.append(o)
    scene.objects = [*scene.objects, edge, *far]
    kept = {it.obj.instance_id for it in in_view(draw_items(scene), scene.camera)}
    assert kept == {1, 2, 9, 0}  # the ground (instance 0) and everything in view or partly
    frame = renderer_factory(W, H).render(scene)
    assert (frame.instance_ids == 9).any()  # the one at the edge is partly drawn

    # a box outside the view to the light's side still shadows the ground in view
    shade = simple_scene()
    shade.lights = [Light((1.0, 0.0, -0.35))]  # low sun from -x: shadows fall towards +x
    shade.objects = []
    caster = copy.deepcopy(box)
    caster.shape = {"type": "box", "extents": [1.0, 3.0, 3.0]}
    caster.object_to_world = rigid(np.eye(3), [-6.0, 0, 1.5])
    shade.objects = [caster]
    assert in_view(draw_items(shade), shade.camera)[0].obj is shade.ground
    no_caster = copy.deepcopy(shade)
    no_caster.objects = []
    r = renderer_factory(W, H)
    a, b = r.render(shade), r.render(no_caster)
    assert not (a.instance_ids == 1).any()
    darker = (b.rgb.astype(int).sum(-1) - a.rgb.astype(int).sum(-1)) > 30
    assert darker.sum() > 20


def test_meshes_without_a_look_carry_position_and_normal_only(renderer_factory, monkeypatch):
    """Primitives and scenery upload 6 floats a vertex, file looks 15; vertex data that an
    earlier version cached 15 wide without a look still draws the same."""
    from segsim.render import meshes
    from segsim.render.gl import Renderer

    plain = meshes.MESHES.get(("box",), 0)
    assert plain.vertices.shape[1] == 6 and plain.look is None
    scene = simple_scene()
    a = renderer_factory(W, H).render(scene)
    wide = np.zeros((len(plain.vertices), meshes.VERTEX_FLOATS), np.float32)
    wide[:, :6] = plain.vertices
    padded = meshes.MeshData(wide, plain.indices)
    real_get = meshes.MESHES.get
    monkeypatch.setattr(
        meshes.MESHES, "get", lambda key, level: padded if key == ("box",) else real_get(key, level)
    )
    with Renderer(W, H) as fresh:  # its own GPU meshes: the padded box is uploaded anew
        b = fresh.render(scene)
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.class_ids, b.class_ids)
