"""The RGB post-effects of a frame (noise, blur, colour), drawn from the config's `postfx`
section; shared by every scene generator so they draw them alike."""

from __future__ import annotations

from segsim.draws import uniform
from segsim.scene.spec import PostFX


def sample_postfx(rng, pc) -> PostFX:
    """Post-effects for one frame from a PostFXConfig (the identity when the frame has none)."""
    use = rng.random() < pc.probability
    blur = rng.random() < pc.blur_probability
    values = {
        "noise_std": uniform(rng, pc.noise_std),
        "blur_sigma": uniform(rng, pc.blur_sigma) if blur else 0.0,
        "brightness": uniform(rng, pc.brightness),
        "contrast": uniform(rng, pc.contrast),
        "saturation": uniform(rng, pc.saturation),
        "hue_shift": uniform(rng, pc.hue_shift),
        "seed": int(rng.integers(2**31)),
    }
    return PostFX(**values) if use else PostFX()
