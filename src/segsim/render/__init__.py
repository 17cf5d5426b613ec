"""Headless OpenGL rendering of Scenes (gl.py) and RGB post-effects (postfx.py)."""
