"""Scenes as plain data (spec.py), the shape kinds (shapes/) and the randomizers that draw them
(randomize.py)."""
