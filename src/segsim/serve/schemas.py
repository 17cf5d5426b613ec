"""Pydantic response models: they make /docs and the OpenAPI schema say exactly what comes back."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="what was wrong")
    fix: str | None = Field(None, description="how to fix it, when known")


class Health(BaseModel):
    status: str
    model: str
    viewer: bool = Field(description="whether the live viewer has a scene to render")


class LabelInfo(BaseModel):
    id: int
    name: str
    color: list[int] = Field(description="[r, g, b], 0..255")
    group: str


class ModelInfo(BaseModel):
    name: str
    backend: str = Field(description="torch | onnx")
    input_size: list[int] | None = Field(description="[height, width] the model was trained at")
    num_classes: int
    ignore_index: int
    labels: list[LabelInfo]
    groups: dict[str, list[int]] = Field(description="group name -> label ids, in legend order")


class ClassShare(BaseModel):
    id: int
    name: str
    pixels: int
    fraction: float = Field(description="share of the image's pixels, 0..1")


class PredictJSON(BaseModel):
    width: int
    height: int
    mask_png_base64: str = Field(
        description="index mask (one uint8 class id per pixel) as base64 PNG"
    )
    classes: list[ClassShare] = Field(description="classes present in the mask, by id")
    latency_ms: float = Field(description="time spent in the model")
    total_ms: float = Field(description="decode + model + encode")
    backend: str
