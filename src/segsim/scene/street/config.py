"""StreetConfig: every range of the street generator (`street:` in a scene config).

Lengths in metres, angles in degrees, colours in HSV 0..1; `[low, high]` ranges and
`{option: weight}` maps as in the rest of the scene config. The library models the street draws
are the config's `classes`, one per role (ROLES); the label set is Cityscapes' 19 train
classes whatever the classes are called.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from segsim.scene.config_base import IntRange, Range, Section, weights_ok

# class name in `classes` -> the Cityscapes class its models are labelled as (its train id)
ROLES = {
    "car": "car",
    "truck": "truck",
    "bus": "bus",
    "motorcycle": "motorcycle",
    "bicycle": "bicycle",
    "person": "person",
    "rider": "rider",  # sitting people, placed on bicycles and motorcycles
    "tree": "vegetation",
    "hedge": "vegetation",
    "static": "static",  # benches, bins, hydrants: Cityscapes 'static', ignored (255)
}
LAYOUTS = ("straight", "curve", "t_junction", "x_junction")
LOOKS = ("brick", "plaster", "stone", "glass")
BOUNDARIES = ("none", "wall", "fence", "hedge")


def _positive_range(v, what="must be > 0"):
    if v[0] <= 0:
        raise ValueError(what)
    return v


class RoadConfig(Section):
    layouts: dict[str, float] = {
        "straight": 1.0,
        "curve": 1.0,
        "t_junction": 1.2,
        "x_junction": 1.2,
    }
    lanes: IntRange = (1, 3)  # lanes each way
    lane_width: Range = (2.8, 3.6)
    length: float = Field(160.0, gt=20, le=1000)  # of the road ahead of the camera
    curve_start: Range = (5.0, 40.0)  # distance ahead where a curve begins
    curve_radius: Range = (35.0, 160.0)
    curve_angle_deg: Range = (25.0, 90.0)
    junction_distance: Range = (14.0, 45.0)  # of the crossing road's centre line ahead
    dashed_centre: float = Field(0.6, ge=0, le=1)  # else solid (or double solid)
    crossing_probability: float = Field(0.7, ge=0, le=1)  # zebra crossings at junctions
    kerb_height: Range = (0.1, 0.16)
    sidewalk_width: Range = (2.0, 5.0)
    verge_probability: float = Field(0.3, ge=0, le=1)  # a grass strip between kerb and walk
    verge_width: Range = (0.8, 2.0)
    driveway_probability: float = Field(0.3, ge=0, le=1)  # per plot
    parking_probability: float = Field(0.6, ge=0, le=1)  # per side: cars parked at the kerb

    @field_validator("layouts")
    @classmethod
    def _layouts(cls, v):
        return weights_ok(v, LAYOUTS, "layouts")

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, v):
        if v[0] < 1 or v[1] > 4:
            raise ValueError("lanes each way must be from 1 to 4")
        return v

    @field_validator(
        "lane_width",
        "curve_radius",
        "kerb_height",
        "sidewalk_width",
        "verge_width",
        "junction_distance",
    )
    @classmethod
    def _positive(cls, v):
        return _positive_range(v)


class BuildingConfig(Section):
    probability: float = Field(0.9, ge=0, le=1)  # a plot has a building
    width: Range = (7.0, 24.0)  # along the street
    depth: Range = (8.0, 18.0)
    setback: Range = (0.0, 7.0)  # from the back of the sidewalk
    gap: Range = (0.0, 5.0)  # between neighbours
    storeys: IntRange = (1, 7)
    storey_height: Range = (2.8, 3.6)
    looks: dict[str, float] = {"brick": 1.0, "plaster": 1.5, "stone": 0.7, "glass": 0.5}
    window_width: Range = (0.8, 1.8)
    window_spacing: Range = (2.2, 4.0)  # centre to centre
    boundaries: dict[str, float] = {"none": 1.0, "wall": 1.0, "fence": 1.0, "hedge": 1.0}
    wall_height: Range = (0.5, 1.8)
    fence_height: Range = (0.9, 1.8)

    @field_validator("looks")
    @classmethod
    def _looks(cls, v):
        return weights_ok(v, LOOKS, "building looks")

    @field_validator("boundaries")
    @classmethod
    def _boundaries(cls, v):
        return weights_ok(v, BOUNDARIES, "plot boundaries")

    @field_validator("storeys")
    @classmethod
    def _storeys(cls, v):
        if v[0] < 1:
            raise ValueError("a building has at least 1 storey")
        return v

    @field_validator(
        "width",
        "depth",
        "storey_height",
        "window_width",
        "window_spacing",
        "wall_height",
        "fence_height",
    )
    @classmethod
    def _positive(cls, v):
        return _positive_range(v)


class NatureConfig(Section):
    tree_spacing: Range = (7.0, 16.0)  # street trees along a sidewalk (where a side has them)
    tree_side_probability: float = Field(0.6, ge=0, le=1)
    library_tree_share: float = Field(0.35, ge=0, le=1)  # street trees from the library
    max_library_trees: int = Field(3, ge=0, le=50)
    tree_height: Range = (5.0, 12.0)  # procedural trees and library trees
    yard_trees: IntRange = (0, 6)  # procedural trees behind plot boundaries
    hedge_library_share: float = Field(0.2, ge=0, le=1)

    @field_validator("tree_height", "tree_spacing")
    @classmethod
    def _positive(cls, v):
        return _positive_range(v)


class FurnitureConfig(Section):
    lamp_spacing: Range = (18.0, 35.0)
    lamp_height: Range = (5.0, 9.0)
    signs: IntRange = (1, 4)
    traffic_light_probability: float = Field(0.85, ge=0, le=1)  # at junctions
    street_traffic_lights: float = Field(0.25, ge=0, le=1)  # a signalled crossing elsewhere
    statics: IntRange = (1, 5)  # benches, bins, hydrants (library, label 'static': ignored)
    bollards: IntRange = (0, 6)  # short poles at the kerb


class TrafficConfig(Section):
    moving: IntRange = (1, 8)  # vehicles driving in the lanes
    truck_share: float = Field(0.12, ge=0, le=1)
    bus_share: float = Field(0.1, ge=0, le=1)
    parked_spacing: Range = (5.5, 9.0)  # where a side has parking
    parked_fill: float = Field(0.6, ge=0, le=1)  # share of parking slots taken
    max_parked: int = Field(8, ge=0, le=100)
    two_wheelers: IntRange = (0, 3)  # bicycles and motorcycles
    motorcycle_share: float = Field(0.4, ge=0, le=1)
    rider_probability: float = Field(0.6, ge=0, le=1)  # a two-wheeler has a rider
    pedestrians: IntRange = (2, 9)
    crossing_pedestrians: IntRange = (0, 3)  # on a zebra crossing, where there is one


class StreetCameraConfig(Section):
    height: Range = (1.2, 1.8)
    pitch_deg: Range = (-6.0, 3.0)  # up positive
    yaw_jitter_deg: Range = (-4.0, 4.0)  # about the lane's heading
    roll_deg: Range = (-1.0, 1.0)
    lateral_jitter: Range = (-0.4, 0.4)  # metres from the lane's centre
    hfov_deg: Range = (50.0, 100.0)  # horizontal field of view
    near: float = Field(0.3, gt=0)
    far: float = Field(400.0, gt=0)

    @field_validator("hfov_deg")
    @classmethod
    def _fov(cls, v):
        if v[0] < 10 or v[1] > 150:
            raise ValueError("the horizontal field of view must lie within 10..150 degrees")
        return v

    @field_validator("height")
    @classmethod
    def _height(cls, v):
        return _positive_range(v, "the camera height must be > 0 metres")

    @field_validator("pitch_deg")
    @classmethod
    def _pitch(cls, v):
        if v[0] < -60 or v[1] > 60:
            raise ValueError("pitch must lie within -60..60 degrees")
        return v


class StreetConfig(Section):
    road: RoadConfig = RoadConfig()
    buildings: BuildingConfig = BuildingConfig()
    nature: NatureConfig = NatureConfig()
    furniture: FurnitureConfig = FurnitureConfig()
    traffic: TrafficConfig = TrafficConfig()
    camera: StreetCameraConfig = StreetCameraConfig()
    shadows: bool = True  # the sun casts shadows (its map spans the whole street)
    # library models: how far (pixels) a decimated level may stray from the file on screen
    # (the renderer's own default is 0.5); coarser levels draw far fewer triangles
    lod_tolerance_px: float = Field(3.0, gt=0, le=50)
    # trees and shrubs: leaves are a cloud whose outline no label follows leaf by leaf (nor do
    # Cityscapes' own), and a tree's finer levels are 20-130k triangles
    vegetation_lod_tolerance_px: float = Field(8.0, gt=0, le=50)


def check_roles(classes) -> None:
    """ValueError unless every class of a street config names a role (ROLES)."""
    bad = [c.name for c in classes if c.name not in ROLES]
    if bad:
        raise ValueError(
            f"street classes {bad} are not street roles; the street preset's classes are its "
            f"library models by role: {', '.join(ROLES)}"
        )
