"""A mesh file's own look, for the renderer: a colour per vertex, and UVs into one texture.

Built part by part from what trimesh loads (the parts of `load_scene(path).dump()`, whose
concatenation is `trimesh.load(path, force="mesh")` vertex for vertex). trimesh's own merge of a
multi-material OBJ packs the textures into one image and wraps each vertex's UV into its tile,
which garbles tiling textures (about a quarter of the Sweet Home 3D models). Here each texture
gets a tile of an atlas, bordered by its own opposite edges, and each vertex that tile's
rectangle; the shader wraps the UV into it per pixel, so tiling survives.

What a part gives, per vertex:
  vertex colours (PLY, OBJ `v x y z r g b`)                 -> those colours
  face colours                                              -> those (its vertices split per face)
  a material colour (OBJ `Kd`, glTF baseColorFactor)        -> that colour
  a diffuse texture with UVs (`map_Kd`, baseColorTexture)   -> the texture, times baseColorFactor
      for glTF (an OBJ's Kd is not multiplied in, as most viewers do)
  a texture without UVs                                     -> the texture's mean colour
A file with none of these (STL, OFF, an OBJ without MTL) has no look: the renderer gives it the
object's randomized material. A texture that is missing or will not decode is a warning naming
the file; its part keeps its material colour.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TILE_MAX = 512  # texels a side per texture: a 256 px frame never shows one larger
ATLAS_MAX = 2048
PAD = 8  # border texels around each tile, so bilinear and the first mip levels stay inside
MIP_LEVELS = 3  # coarser mips would mix neighbouring tiles (2 ** 3 = PAD)
WHITE = 16  # the white block at the atlas origin that untextured vertices sample
GREY = (0.4, 0.4, 0.4)  # a part without colours in a file whose other parts have some


@dataclass(frozen=True)
class FileLook:
    """Per-vertex appearance of a mesh file. Look vertices sit on file vertices (`vertex_of`);
    `faces` index look vertices, one per file face in the file's order."""

    vertex_of: np.ndarray  # (V,) int64: the file vertex each look vertex is at
    faces: np.ndarray  # (F, 3) int64
    color: np.ndarray  # (V, 3) float32, sRGB 0..1
    uv: np.ndarray  # (V, 2) float32
    rect: np.ndarray  # (V, 4) float32: atlas (x, y, w, h) the UV's fraction maps into
    texture: np.ndarray | None  # (H, W, 3) uint8, rows bottom-up (GL order); None: colours only


def mtl_textures(path: str) -> list[Path]:
    """The diffuse textures an OBJ's MTL files name (only to name them in warnings)."""
    p = Path(path)
    if p.suffix.lower() != ".obj":
        return []
    out = []
    try:
        for lib in re.findall(rb"mtllib[ \t]+([^\r\n]+)", p.read_bytes()):  # a literal prefix: fast
            mtl = p.parent / lib.decode(errors="replace").strip()
            if mtl.is_file():
                text = mtl.read_text(errors="replace")
                names = re.findall(r"^\s*map_Kd\s+(.+?)\s*$", text, re.M | re.I)
                out += [mtl.parent / n.split()[-1] for n in names]
    except OSError:
        return out
    return out


def check_textures(scene, path: str) -> None:
    """Decode every texture of a loaded scene now; drop (with a warning naming the file) those
    that will not, so copying the scene cannot fail on them and their parts keep their colour.
    Where a material has no texture, the MTL is read for textures trimesh could not open at
    all, and those are warned about too."""
    opened, bare = set(), False
    for geom in scene.geometry.values():
        mat = getattr(getattr(geom, "visual", None), "material", None)
        if mat is None:
            continue
        bare |= getattr(mat, "image", None) is None and not hasattr(mat, "baseColorTexture")
        for attr in ("image", "baseColorTexture"):
            img = getattr(mat, attr, None)
            if img is None:
                continue
            name = img.info.get("file_path") if hasattr(img, "info") else None
            opened.add(Path(name).name if name else None)
            try:
                img.load()
            except Exception as e:  # PIL raises OSError, SyntaxError, struct.error, ...
                where = Path(path).parent / name if name else path
                log.warning("texture %s will not decode (%s); using the material colour", where, e)
                setattr(mat, attr, None)
    for tex in mtl_textures(path) if bare else ():
        if tex.name not in opened:
            log.warning("texture %s is missing or unreadable; using the material colour", tex)


def _srgb(values, linear: bool) -> np.ndarray:
    c = np.asarray(values, np.float64)[..., :3] / 255.0
    return np.sqrt(c) if linear else c  # the shaders' gamma is 2 (common.glsl)


def _material(mat):
    """(base colour sRGB 0..1, texture PIL image or None, whether the colour multiplies it)."""
    from trimesh.visual.material import PBRMaterial

    if isinstance(mat, PBRMaterial):
        factor = mat.baseColorFactor
        color = _srgb(factor, linear=True) if factor is not None else np.ones(3)
        return color, mat.baseColorTexture, True
    diffuse = getattr(mat, "diffuse", None)
    color = _srgb(diffuse, linear=False) if diffuse is not None else np.asarray(GREY)
    return color, getattr(mat, "image", None), False


def _rgb(img, path: str) -> np.ndarray | None:
    from PIL import Image

    try:
        im = img.convert("RGB")
        if max(im.size) > TILE_MAX:
            im = im.copy()
            im.thumbnail((TILE_MAX, TILE_MAX), Image.Resampling.BOX)
        return np.asarray(im, np.uint8)
    except Exception as e:  # decoding is lazy in PIL: a broken file can fail here first
        log.warning("a texture of %s will not decode (%s); using the material colour", path, e)
        return None


@dataclass
class _Part:
    vertex_of: np.ndarray
    faces: np.ndarray
    color: np.ndarray  # (V, 3) float64
    uv: np.ndarray | None = None
    tile: int | None = None  # index into the tiles list
    tiles_uv: bool = False  # UVs leave 0..1: the texture repeats


def _part(part, offset: int, path: str, tiles: list, seen: dict) -> _Part | None:
    """One part's look, or None when the part says nothing about its colour."""
    from trimesh.visual import ColorVisuals, TextureVisuals

    vis = part.visual
    n = len(part.vertices)
    ids = np.arange(offset, offset + n)
    faces = np.asarray(part.faces, np.int64)
    if isinstance(vis, ColorVisuals):
        if vis.kind == "vertex":
            return _Part(ids, faces, _srgb(vis.vertex_colors, linear=False))
        if vis.kind == "face":
            color = np.repeat(_srgb(vis.face_colors, linear=False), 3, axis=0)
            return _Part(ids[faces.ravel()], np.arange(faces.size).reshape(-1, 3), color)
        return None
    if not isinstance(vis, TextureVisuals) or vis.material is None:
        return None
    color, img, multiplies = _material(vis.material)
    tile = None  # one tile per distinct image, however many parts use it
    if img is not None:
        if id(img) not in seen:
            rgb = _rgb(img, path)
            seen[id(img)] = None if rgb is None else len(tiles)
            if rgb is not None:
                tiles.append(rgb)
        tile = seen[id(img)]
    base = np.tile(color, (n, 1))
    uv = None if vis.uv is None else np.asarray(vis.uv, np.float64)
    if tile is None:
        return _Part(ids, faces, base)
    if uv is None or len(uv) != n or not np.isfinite(uv).all():
        # no UVs to place it: the texture's mean colour
        mean = tiles[tile].reshape(-1, 3).mean(axis=0) / 255.0
        return _Part(ids, faces, base * mean if multiplies else np.tile(mean, (n, 1)))
    repeats = bool(uv.min() < -1e-3 or uv.max() > 1 + 1e-3)
    white = np.ones((n, 3)) * (color if multiplies else 1.0)
    return _Part(ids, faces, white, uv, tile, repeats)


def _atlas(tiles: list[np.ndarray]) -> tuple[np.ndarray, list[tuple], tuple]:
    """Tiles on shelves (tallest first), each flipped to GL row order and bordered by its own
    opposite edges; returns the atlas, each tile's inner (x, y, w, h) in texels, and the white
    block's centre."""
    shrink = 1
    while True:
        sizes = [
            ((t.shape[1] + shrink - 1) // shrink, (t.shape[0] + shrink - 1) // shrink)
            for t in tiles
        ]
        padded = [(w + 2 * PAD, h + 2 * PAD) for w, h in sizes]
        width = max([WHITE] + [w for w, _ in padded])
        width = max(width, int(np.sqrt(sum(w * h for w, h in padded) + WHITE * WHITE) * 1.15))
        places, x, y, row = [None] * len(tiles), WHITE, 0, WHITE
        for i in sorted(range(len(tiles)), key=lambda i: -padded[i][1]):
            w, h = padded[i]
            if x + w > width:
                x, y, row = 0, y + row, 0
            places[i] = (x, y)
            x, row = x + w, max(row, h)
        height = y + row
        if max(width, height) <= ATLAS_MAX or shrink >= 64:
            break
        shrink *= 2
    atlas = np.zeros((height, width, 3), np.uint8)
    atlas[:WHITE, :WHITE] = 255
    rects = []
    for t, (w, h), (x, y) in zip(tiles, sizes, places, strict=True):
        if shrink > 1:
            t = _downscale(t, w, h)
        body = np.pad(np.ascontiguousarray(t[::-1]), ((PAD, PAD), (PAD, PAD), (0, 0)), mode="wrap")
        atlas[y : y + h + 2 * PAD, x : x + w + 2 * PAD] = body
        rects.append((x + PAD, y + PAD, w, h))
    return atlas, rects, (WHITE / 2, WHITE / 2)


def _downscale(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.BOX), np.uint8)


def file_look(path: str, parts: list) -> FileLook | None:
    """The look of a loaded file from its dumped parts (trimesh meshes, in the file's order),
    or None when no part carries colour. Never raises: a failure is a warning and no look."""
    try:
        return _file_look(path, parts)
    except Exception as e:  # a file trimesh loaded but whose visuals surprise us: draw it plain
        log.warning("cannot read the colours of %s (%s); using a random material", path, e)
        return None


def _file_look(path: str, parts: list) -> FileLook | None:
    tiles: list = []
    seen: dict = {}
    looks, offset = [], 0
    for part in parts:
        looks.append(_part(part, offset, path, tiles, seen))
        offset += len(part.vertices)
    if all(look is None for look in looks):
        return None
    atlas, rects, white = _atlas(tiles) if tiles else (None, [], (0.0, 0.0))
    size = np.array(atlas.shape[1::-1], np.float64) if atlas is not None else np.ones(2)
    out = {k: [] for k in ("vertex_of", "faces", "color", "uv", "rect")}
    base = 0
    offset = 0
    for part, look in zip(parts, looks, strict=True):
        if look is None:
            n = len(part.vertices)
            look = _Part(
                np.arange(offset, offset + n),
                np.asarray(part.faces, np.int64),
                np.tile(GREY, (n, 1)),
            )
        offset += len(part.vertices)
        n = len(look.vertex_of)
        if look.tile is None:
            uv = np.zeros((n, 2))
            rect = np.tile([white[0] / size[0], white[1] / size[1], 0.0, 0.0], (n, 1))
        else:
            x, y, w, h = rects[look.tile]
            uv = look.uv
            if not look.tiles_uv:  # keep bilinear off the far edge: clamp half a texel in
                half = 0.5 / np.array([w, h])
                uv = np.clip(uv, half, 1 - half)
            rect = np.tile([x / size[0], y / size[1], w / size[0], h / size[1]], (n, 1))
        out["vertex_of"].append(look.vertex_of)
        out["faces"].append(look.faces + base)
        out["color"].append(look.color)
        out["uv"].append(uv)
        out["rect"].append(rect)
        base += n
    return FileLook(
        np.concatenate(out["vertex_of"]).astype(np.int64),
        np.concatenate(out["faces"]).astype(np.int64),
        np.clip(np.concatenate(out["color"]), 0, 1).astype(np.float32),
        np.concatenate(out["uv"]).astype(np.float32),
        np.concatenate(out["rect"]).astype(np.float32),
        atlas,
    )
