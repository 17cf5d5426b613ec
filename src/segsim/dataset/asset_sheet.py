"""Contact sheet of library models: each drawn alone by segsim's renderer, at its catalog size,
under the same light, with its name; so a person can see what a selection holds before using
it in a scene config (`segsim assets show`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segsim.dataset import png
from segsim.errors import SegsimError
from segsim.fileio import write_atomic

LABEL = 18  # pixels of name under each tile


def _scene(shape: dict, size: int):
    from segsim.scene.geometry import look_at_opencv, rigid
    from segsim.scene.shapes import get_shape
    from segsim.scene.spec import Background, Camera, Light, Material, Scene, SceneObject

    kind = get_shape("mesh")
    radius = kind.bounding_radius(shape)
    lift = kind.depth_below_centre(shape, np.eye(3))
    obj = SceneObject(
        shape,
        rigid(np.eye(3), [0.0, 0.0, lift]),
        Material((0.75, 0.75, 0.75)),
        class_id=1,
        class_name="model",
        instance_id=1,
    )
    f = 0.5 * size / np.tan(np.radians(20))  # 40 degree field of view
    centre = np.array([0.0, 0.0, lift])
    direction = np.array([np.cos(0.6) * np.cos(-1.0), np.cos(0.6) * np.sin(-1.0), np.sin(0.6)])
    eye = centre + direction * radius / np.sin(np.radians(19))
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    camera = Camera(K, look_at_opencv(eye, centre), size, size, near=0.01, far=radius * 20)
    lights = [Light((-0.4, 0.6, -1.0), intensity=1.0), Light((0.8, -0.3, -0.4), intensity=0.4)]
    return Scene(camera, [obj], lights, background=Background("solid", color=(0.92, 0.92, 0.9)))


def write_asset_sheet(entries, out: str | Path, tile: int = 160, columns: int = 6) -> Path:
    """Render `entries` (AssetEntry records) into a grid PNG at `out`; returns its path."""
    import cv2

    from segsim.assets.library import model_path
    from segsim.render.gl import Renderer
    from segsim.scene.shapes.mesh import library_asset, mesh_shape

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise SegsimError(f"out {out} must end in .png", "pass e.g. out=sheet.png", param="out")
    if not entries:
        raise SegsimError("no models to show", "pick a category that has models")
    rows = -(-len(entries) // columns)
    sheet = np.full((rows * (tile + LABEL), min(columns, len(entries)) * tile, 3), 255, np.uint8)
    with Renderer(tile, tile) as renderer:
        for i, entry in enumerate(entries):
            shape = mesh_shape(library_asset(entry, model_path(entry)))
            rgb = renderer.render(_scene(shape, tile)).rgb
            y, x = (i // columns) * (tile + LABEL), (i % columns) * tile
            sheet[y : y + tile, x : x + tile] = rgb
            name = entry.name if len(entry.name) <= tile // 8 else entry.name[: tile // 8 - 1] + "."
            cv2.putText(
                sheet,
                name,
                (x + 4, y + tile + 13),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (20, 20, 20),
                1,
                cv2.LINE_AA,
            )
    write_atomic(out, png.encode(sheet))
    return out
