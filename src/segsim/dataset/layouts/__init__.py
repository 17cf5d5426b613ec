"""Dataset folder layouts, one module each; detection tries them in the order imported here."""

from segsim.dataset.layouts import segsim, voc, folder  # noqa: F401, I001 (registers them)
