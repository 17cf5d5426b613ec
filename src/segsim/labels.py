"""LabelSet: the one list of classes that drives masks, palettes, training, evaluation,
the API and the viewer's legend and groups. Stored in dataset.yaml and in every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segsim.errors import SegsimError

IGNORE_INDEX = 255


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    color: tuple[int, int, int]
    group: str = "default"

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "color": list(self.color), "group": self.group}


# Distinct, colour-blind-friendly-ish defaults (background black, then a qualitative palette).
DEFAULT_COLORS: list[tuple[int, int, int]] = [
    (0, 0, 0),
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (255, 225, 25),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (255, 250, 200),
    (128, 0, 0),
    (170, 255, 195),
    (128, 128, 0),
    (255, 215, 180),
    (0, 0, 128),
    (128, 128, 128),
]


def default_color(i: int) -> tuple[int, int, int]:
    if i < len(DEFAULT_COLORS):
        return DEFAULT_COLORS[i]
    rng = np.random.default_rng(i)  # stable per id
    return tuple(int(c) for c in rng.integers(40, 256, 3))


@dataclass
class LabelSet:
    labels: list[Label]
    ignore_index: int = IGNORE_INDEX
    _by_name: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        ids = [lab.id for lab in self.labels]
        if ids != list(range(len(ids))):
            raise SegsimError(
                f"label ids must be 0..{len(ids) - 1} in order, got {ids}",
                "number the labels consecutively from 0 (0 = background)",
            )
        if len({lab.name for lab in self.labels}) != len(self.labels):
            raise SegsimError("label names must be unique", "rename the duplicated label")
        self._by_name = {lab.name: lab for lab in self.labels}

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_names(cls, names: list[str], groups: list[str] | None = None) -> LabelSet:
        groups = groups or ["background" if i == 0 else "default" for i in range(len(names))]
        return cls(
            [
                Label(i, n, default_color(i), g)
                for i, (n, g) in enumerate(zip(names, groups, strict=True))
            ]
        )

    @classmethod
    def from_dict(cls, d: dict) -> LabelSet:
        try:
            labels = [
                Label(
                    int(x["id"]),
                    str(x["name"]),
                    tuple(int(c) for c in x["color"]),
                    str(x.get("group", "default")),
                )
                for x in d["labels"]
            ]
        except (KeyError, TypeError, ValueError) as e:
            raise SegsimError(
                f"malformed label set: {e}",
                "each label needs id, name, color [r,g,b] and optionally group",
            ) from e
        return cls(labels, int(d.get("ignore_index", IGNORE_INDEX)))

    def to_dict(self) -> dict:
        return {"labels": [lab.to_dict() for lab in self.labels], "ignore_index": self.ignore_index}

    # --- queries ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def id_of(self, name: str) -> int:
        if name not in self._by_name:
            raise SegsimError(f"unknown class {name!r}", f"use one of {self.names}")
        return self._by_name[name].id

    def groups(self) -> dict[str, list[int]]:
        """Group name -> label ids, in order of first appearance."""
        out: dict[str, list[int]] = {}
        for lab in self.labels:
            out.setdefault(lab.group, []).append(lab.id)
        return out

    def palette(self) -> np.ndarray:
        """256x3 uint8 lookup table: class id -> colour (ignore index white, unused grey)."""
        lut = np.full((256, 3), 128, np.uint8)
        for lab in self.labels:
            lut[lab.id] = lab.color
        lut[self.ignore_index] = (255, 255, 255)
        return lut

    def colorize(self, mask: np.ndarray) -> np.ndarray:
        """HxW class ids -> HxWx3 uint8 RGB."""
        return self.palette()[mask.astype(np.uint8)]
