"""Dataset converters: a segsim dataset (or any folder the reader opens) written in another
tool's layout. One module per format registers a `Converter`; `convert_dataset` is the front
door `segsim convert` calls. Everything is written into a temporary folder beside the target
and renamed at the end, so an interrupted conversion leaves nothing half-written."""

from segsim.dataset.convert import cityscapes, coco, voc  # noqa: F401, E402, I001 (registers)
from segsim.dataset.convert.registry import (  # noqa: F401
    CONVERTERS,
    Converter,
    convert_dataset,
    register_converter,
)
