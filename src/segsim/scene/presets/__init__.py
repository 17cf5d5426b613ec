"""Preset registry: every `<name>.yaml` in this folder is a preset (a partial SceneConfig)."""

from __future__ import annotations

from pathlib import Path

import yaml

from segsim.errors import SegsimError

PRESET_DIR = Path(__file__).parent


def _files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PRESET_DIR.glob("*.yaml"))}


def list_presets() -> dict[str, str]:
    """Preset name -> one-line description."""
    out = {}
    for name, path in _files().items():
        data = yaml.safe_load(path.read_text()) or {}
        out[name] = str(data.get("description", "")).strip()
    return out


def load_preset(name: str) -> dict:
    files = _files()
    if name not in files:
        raise SegsimError(
            f"unknown preset {name!r}", f"use one of: {', '.join(files)} (see `segsim presets`)"
        )
    return yaml.safe_load(files[name].read_text()) or {}
