"""CREDITS.md for a dataset drawn with library models: every model its frames use, from the
frames' meta (so a resumed run credits what the earlier run drew too), as CC-BY requires."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from segsim.assets.library import write_credits
from segsim.fileio import write_atomic

CREDITS = "CREDITS.md"


def uses_library(cfg) -> bool:
    """Whether frames may draw credited assets: library models, or HDR skies."""
    bg = getattr(cfg, "background", None)
    skies = bg is not None and bg.kinds.get("sky", 0) > 0 and bg.sky.kinds.get("hdr", 0) > 0
    classes = getattr(cfg, "classes", ())
    if hasattr(cfg, "photos"):  # the photos library's pictures are credited too
        from segsim.scene.realism import uses_photos

        skies = skies or uses_photos(cfg)
    return skies or any(getattr(c, "library", None) is not None for c in classes)


def write_dataset_credits(root: Path) -> int:
    """Write root/CREDITS.md when any frame drew a library model; returns how many models."""
    used, skies, photo_paths = _used_assets(root)
    if used:
        write_credits(Path(root) / CREDITS, [SimpleNamespace(**a) for a in used.values()])
    if skies:  # the CC0 skies, as a courtesy: after the models, or alone
        from segsim.assets.skies import sky_credits

        path = Path(root) / CREDITS
        head = path.read_text() if used else "# Credits\n"
        write_atomic(path, head + "\n" + sky_credits(Path(p).stem for p in skies))
    photos = _photo_credits(photo_paths)
    if photos:  # the photos library's pictures: after the models and skies, or alone
        path = Path(root) / CREDITS
        head = path.read_text() if (used or skies) else "# Credits\n"  # written just now
        write_atomic(path, head + "\n## Photos\n\n" + "".join(f"{x}\n" for x in photos))
    return len(used) + len(skies) + len(photos)


def _used_assets(root: Path) -> tuple[dict[str, dict], set[str], set[str]]:
    """From every frame's meta, read once: the library models drawn (by library/id), the HDR
    skies and the image files (background, object and ground textures)."""
    used: dict[str, dict] = {}
    skies: set[str] = set()
    paths: set[str] = set()
    for meta in sorted((Path(root) / "meta").rglob("*.json")):
        data = json.loads(meta.read_text())
        bg = data.get("background") or {}
        if bg.get("kind") == "sky" and bg.get("path"):
            skies.add(bg["path"])
        paths.add(bg.get("path"))
        for obj in data.get("objects", []):
            asset = obj.get("shape", {}).get("asset")
            if asset:
                used[f"{asset['library']}/{asset['id']}"] = asset
        for obj in [*data.get("objects", []), data.get("ground") or {}]:
            paths.add(((obj.get("material") or {}).get("texture") or {}).get("path"))
    paths.discard(None)
    return used, skies, paths


def _photo_credits(paths: set[str]) -> list[str]:
    """One credit line per photos-library picture among `paths`, sorted."""
    from segsim.assets.photos import credit_line, photos_by_path

    if not paths:  # no image file in any frame: the library's index is not worth building
        return []
    index = photos_by_path()  # built once: it reads every source's index
    lines = {credit_line(index[p]) for p in paths if p in index}
    return sorted(lines, key=str.casefold)
