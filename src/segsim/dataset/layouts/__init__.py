"""Dataset folder layouts, one module each; detection tries them in the order imported here."""

from segsim.dataset.layouts import segsim, voc, cityscapes, carla, folder  # noqa: F401, I001
