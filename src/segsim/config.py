"""Shared config plumbing: YAML in, pydantic models, clear errors out.

Each area keeps its own pydantic models (scene/config.py, train/config.py); this module holds
the pieces they share, so every config error reads the same way: the field's dotted path, what
was wrong, and the allowed values.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from segsim.errors import SegsimError

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise SegsimError(f"config file not found: {p}", "pass the path of an existing YAML file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise SegsimError(f"config file {p} is not valid YAML: {e}", "fix the YAML syntax") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SegsimError(
            f"config file {p} must hold a mapping at the top level, got {type(data).__name__}",
            "write the config as `field: value` lines",
        )
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """Recursively merge `override` into a copy of `base` (override wins; dicts merge)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_overrides(items: list[str]) -> dict:
    """`["optim.lr=0.01", "model.name=unet"]` -> nested dict, values parsed as YAML scalars."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise SegsimError(
                f"override {item!r} is not of the form key=value", "write e.g. optim.lr=0.001"
            )
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _allowed(model: type[BaseModel], loc: tuple) -> str | None:
    """Best-effort list of the fields allowed at `loc`, for 'extra field' errors."""
    node: Any = model
    for part in loc[:-1]:
        fields = getattr(node, "model_fields", None)
        if not fields or part not in fields:
            return None
        node = fields[part].annotation
    fields = getattr(node, "model_fields", None)
    return ", ".join(fields) if fields else None


def validate(model: type[M], data: dict, source: str = "config") -> M:
    """Build `model` from `data`; on failure raise SegsimError naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = _allowed(model, loc)
                msg = "unknown field" + (f"; allowed fields here: {allowed}" if allowed else "")
            elif "input" in err and err["type"] not in ("missing",):
                msg = f"{msg} (got {err['input']!r})"
            lines.append(f"{field}: {msg}")
        raise SegsimError(
            f"invalid {source}: " + "; ".join(lines),
            "correct the named field(s); see README 'Config reference'",
        ) from None
