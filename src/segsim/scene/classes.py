"""The classes of a scene config: what each labelled class is drawn as (a shape kind, or mesh
files / library models at a real size) and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from segsim.scene.config_base import Range, Section
from segsim.scene.shapes import get_shape, shape_names


def distractor_shape_names() -> tuple[str, ...]:
    """Kinds that can be drawn without a class of their own (not mesh: it needs assets)."""
    return tuple(n for n in shape_names() if not get_shape(n).needs_spec)


class LibrarySelection(Section):
    """Models of an asset library, by case-insensitive patterns (`segsim assets` lists them)."""

    library: str = "sweethome3d"
    category: str | list[str] | None = None  # e.g. "Living room"; a list: any of them
    name: str | list[str] | None = None  # e.g. "*chair*" or ["*bin", "*trash*"]
    exclude: str | list[str] | None = None  # name patterns left out, e.g. models of other classes


class ClassSpec(Section):
    name: str
    shape: str | None = None  # a registered kind (scene/shapes/); None: a label only, for parts
    weight: float = Field(1.0, ge=0)  # share of objects drawn from this class
    color: tuple[int, int, int] | None = None  # label colour (palette); default palette if None
    group: str = "shapes"
    # shape: mesh only: the files (a file, a folder or a glob, or a list of them) or a library
    # selection, the real height in metres (file units never reach the scene; library models
    # default to the size their catalog records) and the files' up axis
    assets: str | list[str] | None = None
    library: LibrarySelection | None = None
    height: Range | None = None
    up: Literal["y", "z"] = "y"
    appearance: Literal["file", "random"] = "file"  # mesh: the file's own look, or a random one
    hue_jitter: float = Field(0.0, ge=0, le=0.5)  # mesh, file look: hue shift per object, turns
    rotation: Literal["random", "upright", "yaw"] | None = None  # default: objects.rotation
    # mesh: part-name patterns (OBJ groups / materials, glTF nodes) -> the class those parts
    # are labelled as; unmapped parts take this class
    parts: dict[str, str] | None = None
    # set by SceneConfig: this class's id and, per parts pattern, its class id
    _class_id: int = PrivateAttr(0)
    _part_ids: tuple = PrivateAttr(())

    @model_serializer(mode="wrap")
    def _only_what_applies(self, handler):
        # fields a class does not use stay out of dataset.yaml, so datasets written before they
        # existed still match (and resume) byte for byte
        data = handler(self)
        mesh_only = ("assets", "library", "height", "up", "appearance", "hue_jitter", "parts")
        for key in mesh_only if self.shape != "mesh" else ():
            data.pop(key, None)
        if self.rotation is None:
            data.pop("rotation", None)
        return data

    @model_validator(mode="after")
    def _mesh_fields(self):
        if self.shape is None:
            if self.weight != 0:
                raise ValueError(
                    f"class {self.name!r} has no shape: a class without one only labels mesh "
                    "parts, so give it weight: 0 (or give it a shape)"
                )
            return self
        if self.parts is not None and self.shape != "mesh":
            raise ValueError(f"class {self.name!r}: parts are for shape mesh only")
        if self.shape == "mesh":
            if not self.assets and self.library is None:
                raise ValueError(
                    f"class {self.name!r} has shape mesh but no assets: give a mesh "
                    "file, a folder or a glob, or a library selection"
                )
            if self.assets and self.library is not None:
                raise ValueError(f"class {self.name!r}: give assets or library, not both")
            if self.height is None and self.library is None:
                raise ValueError(
                    f"class {self.name!r} has shape mesh but no height: give its "
                    "real height in metres, e.g. height: [1.4, 1.7]"
                )
            if self.height is not None and self.height[0] <= 0:
                raise ValueError(f"class {self.name!r}: height must be > 0 metres")
        elif self.assets is not None or self.library is not None or self.height is not None:
            raise ValueError(
                f"class {self.name!r}: assets, library and height are for shape mesh only"
            )
        return self

    @field_validator("shape")
    @classmethod
    def _known_shape(cls, v):
        names = shape_names()
        if v is not None and v not in names:
            quoted = [repr(n) for n in names]
            expected = " or ".join(filter(None, [", ".join(quoted[:-1]), quoted[-1]]))
            # worded like pydantic's own Literal error
            raise PydanticCustomError(
                "shape_kind", "Input should be {expected}", {"expected": expected}
            )
        return v
