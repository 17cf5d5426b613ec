"""The object-texture and background kinds: their names for configs, their numbers for the
renderer and its shaders, from this one table.

Shaders get them as `#define TEX_CHECKER 1`, `#define BG_CLUTTER 5`, ... (see `glsl_defines`),
so the GLSL compares against names and cannot disagree with this table.
"""

from __future__ import annotations

# object textures: None is a plain colour; checker..gradient are the pattern kinds that
# common.glsl's pattern_factor draws
TEXTURE_KINDS = {
    None: 0,
    "checker": 1,
    "stripes": 2,
    "noise": 3,
    "gradient": 4,
    "image": 5,
    "photo": 5,  # a crop of a photos-library photo: drawn by the image program
}
# how a mesh file's own look is drawn (shape `appearance: file`): its vertex colours, or those
# times its texture atlas; chosen by the renderer from the file, never in a config
FILE_LOOKS = {"file_color": 6, "file_image": 7}
BACKGROUND_KINDS = {
    "solid": 0,
    "gradient": 1,
    "checker": 2,
    "stripes": 3,
    "noise": 4,
    "clutter": 5,
    "image": 6,
    "photo": 6,  # a crop of a photos-library photo, cover-fit like an image
    "sky": 7,  # a dome looked up by view direction: an HDR sky or a horizon-zenith gradient
}


def glsl_defines() -> dict[str, int]:
    """Every kind as a GLSL define: TEX_NONE, TEX_CHECKER, ..., TEX_FILE_COLOR, TEX_FILE_IMAGE,
    BG_SOLID, BG_GRADIENT, ..."""
    out = {f"TEX_{(name or 'none').upper()}": n for name, n in TEXTURE_KINDS.items()}
    out.update({f"TEX_{name.upper()}": n for name, n in FILE_LOOKS.items()})
    out.update({f"BG_{name.upper()}": n for name, n in BACKGROUND_KINDS.items()})
    return out
