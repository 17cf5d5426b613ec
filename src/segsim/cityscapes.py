"""The Cityscapes label table (Cordts et al. 2016), as cityscapesScripts' `helpers/labels.py`
defines it: 34 label ids with names, colours, categories and train ids. Masks segsim writes for
the street preset hold train ids (0..18, 255 for the rest); the Cityscapes layout writes label
ids. Kept as data here, so segsim needs no cityscapesscripts at run time (a test compares the
two tables)."""

from __future__ import annotations

from typing import NamedTuple

from segsim.labels import IGNORE_INDEX, Label, LabelSet


class CityscapesLabel(NamedTuple):
    name: str
    id: int
    train_id: int  # 255: not one of the 19 classes trained and evaluated
    category: str
    has_instances: bool
    color: tuple[int, int, int]


LABELS: tuple[CityscapesLabel, ...] = (
    CityscapesLabel("unlabeled", 0, 255, "void", False, (0, 0, 0)),
    CityscapesLabel("ego vehicle", 1, 255, "void", False, (0, 0, 0)),
    CityscapesLabel("rectification border", 2, 255, "void", False, (0, 0, 0)),
    CityscapesLabel("out of roi", 3, 255, "void", False, (0, 0, 0)),
    CityscapesLabel("static", 4, 255, "void", False, (0, 0, 0)),
    CityscapesLabel("dynamic", 5, 255, "void", False, (111, 74, 0)),
    CityscapesLabel("ground", 6, 255, "void", False, (81, 0, 81)),
    CityscapesLabel("road", 7, 0, "flat", False, (128, 64, 128)),
    CityscapesLabel("sidewalk", 8, 1, "flat", False, (244, 35, 232)),
    CityscapesLabel("parking", 9, 255, "flat", False, (250, 170, 160)),
    CityscapesLabel("rail track", 10, 255, "flat", False, (230, 150, 140)),
    CityscapesLabel("building", 11, 2, "construction", False, (70, 70, 70)),
    CityscapesLabel("wall", 12, 3, "construction", False, (102, 102, 156)),
    CityscapesLabel("fence", 13, 4, "construction", False, (190, 153, 153)),
    CityscapesLabel("guard rail", 14, 255, "construction", False, (180, 165, 180)),
    CityscapesLabel("bridge", 15, 255, "construction", False, (150, 100, 100)),
    CityscapesLabel("tunnel", 16, 255, "construction", False, (150, 120, 90)),
    CityscapesLabel("pole", 17, 5, "object", False, (153, 153, 153)),
    CityscapesLabel("polegroup", 18, 255, "object", False, (153, 153, 153)),
    CityscapesLabel("traffic light", 19, 6, "object", False, (250, 170, 30)),
    CityscapesLabel("traffic sign", 20, 7, "object", False, (220, 220, 0)),
    CityscapesLabel("vegetation", 21, 8, "nature", False, (107, 142, 35)),
    CityscapesLabel("terrain", 22, 9, "nature", False, (152, 251, 152)),
    CityscapesLabel("sky", 23, 10, "sky", False, (70, 130, 180)),
    CityscapesLabel("person", 24, 11, "human", True, (220, 20, 60)),
    CityscapesLabel("rider", 25, 12, "human", True, (255, 0, 0)),
    CityscapesLabel("car", 26, 13, "vehicle", True, (0, 0, 142)),
    CityscapesLabel("truck", 27, 14, "vehicle", True, (0, 0, 70)),
    CityscapesLabel("bus", 28, 15, "vehicle", True, (0, 60, 100)),
    CityscapesLabel("caravan", 29, 255, "vehicle", True, (0, 0, 90)),
    CityscapesLabel("trailer", 30, 255, "vehicle", True, (0, 0, 110)),
    CityscapesLabel("train", 31, 16, "vehicle", True, (0, 80, 100)),
    CityscapesLabel("motorcycle", 32, 17, "vehicle", True, (0, 0, 230)),
    CityscapesLabel("bicycle", 33, 18, "vehicle", True, (119, 11, 32)),
)

CATEGORIES = ("flat", "construction", "object", "nature", "sky", "human", "vehicle")
TRAIN_LABELS = tuple(
    sorted((lab for lab in LABELS if lab.train_id != 255), key=lambda x: x.train_id)
)
BY_NAME = {lab.name: lab for lab in LABELS}


def train_labelset() -> LabelSet:
    """The 19 train classes (ids = train ids), grouped by category; 255 is ignore."""
    return LabelSet(
        [Label(lab.train_id, lab.name, lab.color, lab.category) for lab in TRAIN_LABELS],
        IGNORE_INDEX,
    )


def train_to_label_id_lut():
    """256-entry uint8 table: train id -> label id (255 and unused ids -> 0, unlabeled)."""
    import numpy as np

    lut = np.zeros(256, np.uint8)
    for lab in TRAIN_LABELS:
        lut[lab.train_id] = lab.id
    return lut


def label_to_train_id_lut():
    """256-entry uint8 table: label id -> train id (255 where the label is not trained)."""
    import numpy as np

    lut = np.full(256, IGNORE_INDEX, np.uint8)
    for lab in LABELS:
        lut[lab.id] = lab.train_id
    return lut
