"""Scenes as plain data (spec.py) and the randomizers that draw them (randomize.py)."""
