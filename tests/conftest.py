"""Every test run keeps the asset cache (unpacked library models, levels of detail) in a folder
of its own, never in the user's ~/.cache/segsim."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _asset_cache(tmp_path_factory):
    old = os.environ.get("SEGSIM_CACHE")
    os.environ["SEGSIM_CACHE"] = str(tmp_path_factory.mktemp("segsim-cache"))
    yield
    if old is None:
        os.environ.pop("SEGSIM_CACHE", None)
    else:
        os.environ["SEGSIM_CACHE"] = old
