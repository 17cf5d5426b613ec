"""Segmentation models in plain PyTorch, reached through one front door: `create_model`.

    from segsim.models import create_model, list_models
    net = create_model("unet", num_classes=4, encoder="resnet34", encoder_weights="imagenet")

Every model takes B x 3 x H x W ImageNet-normalized input and returns B x C x H x W logits at the
input size, for any H and W.
"""

from segsim.models.registry import (
    DEFAULT_MODEL,
    create_model,
    list_models,
    register_model,
)

__all__ = ["DEFAULT_MODEL", "create_model", "list_models", "register_model"]
