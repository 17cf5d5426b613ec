"""Driving scenes with Cityscapes classes: roads, buildings, nature, street furniture, traffic."""
