"""What `segsim models NAME` prints: each option a model takes, its default and one line on it.

The defaults come from the builder's signature (what `create_model` checks keywords against);
the descriptions from its docstring, one `option: description` line per option under an
`Options:` header (a more indented line continues the one above). An option without such a line
still appears, with an empty description, so the list never hides what a model takes.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

from segsim.models.registry import _entry

_OPTION_LINE = re.compile(r"^(\w+):\s*(.*)$")


@dataclass(frozen=True)
class ModelOption:
    name: str
    default: Any
    description: str


def parse_options_doc(doc: str | None) -> dict[str, str]:
    """{option: description} from the `Options:` section of a docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: dict[str, str] = {}
    inside, indent, last = False, None, None
    for line in lines:
        if not inside:
            inside = line.strip() == "Options:"
            continue
        if not line.strip():
            if out:
                break  # a blank line after the options ends the section
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            break  # back at the docstring's margin: another section
        indent = depth if indent is None else indent
        match = _OPTION_LINE.match(line.strip())
        if depth == indent and match:
            last = match.group(1)
            out[last] = match.group(2).strip()
        elif last is not None:
            out[last] = f"{out[last]} {line.strip()}".strip()
    return out


def model_options(name: str) -> list[ModelOption]:
    """Every keyword model `name` takes (signature order), with default and description."""
    entry = _entry(name)
    docs = parse_options_doc(entry.builder.__doc__)
    return [
        ModelOption(k, default, docs.get(k, "")) for k, default in entry.accepted_kwargs().items()
    ]


def format_default(value: Any) -> str:
    """A default as the user would type it in `model.kwargs.<name>=...` (YAML-ish)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(format_default(v) for v in value) + "]"
    return str(value)
