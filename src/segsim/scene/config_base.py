"""What every scene config section shares: forbidding unknown fields, [low, high] ranges, and
{option: weight} maps."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

Range = tuple[float, float]
IntRange = tuple[int, int]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _ordered_ranges(cls, v, info):
        # every 2-tuple field is a [low, high] range
        is_range = (
            isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
        )
        if is_range and v[0] > v[1]:
            raise ValueError(f"range must be [low, high] with low <= high, got {list(v)}")
        return v


def weights_ok(weights: dict, allowed: tuple, what: str) -> dict:
    bad = [k for k in weights if k not in allowed]
    if bad:
        raise ValueError(f"unknown {what} {bad}; allowed: {', '.join(allowed)}")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be >= 0")
    if weights and sum(weights.values()) <= 0:
        raise ValueError("at least one weight must be > 0")
    return weights
