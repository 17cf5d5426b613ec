"""CREDITS.md for a dataset drawn with library models: every model its frames use, from the
frames' meta (so a resumed run credits what the earlier run drew too), as CC-BY requires."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from segsim.assets.library import write_credits

CREDITS = "CREDITS.md"


def uses_library(cfg) -> bool:
    return any(getattr(c, "library", None) is not None for c in getattr(cfg, "classes", ()))


def write_dataset_credits(root: Path) -> int:
    """Write root/CREDITS.md when any frame drew a library model; returns how many models."""
    used: dict[str, dict] = {}
    for meta in sorted((Path(root) / "meta").rglob("*.json")):
        for obj in json.loads(meta.read_text()).get("objects", []):
            asset = obj.get("shape", {}).get("asset")
            if asset:
                used[f"{asset['library']}/{asset['id']}"] = asset
    if used:
        write_credits(Path(root) / CREDITS, [SimpleNamespace(**a) for a in used.values()])
    return len(used)
