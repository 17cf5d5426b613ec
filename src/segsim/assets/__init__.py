"""Ready-made 3D models (asset libraries) for scenes: the Sweet Home 3D furniture catalogs.

`library.select_assets(category=..., name=...)` picks models, `library.model_path(entry)` unpacks
one into the cache (`SEGSIM_CACHE`, default ~/.cache/segsim) and `library.write_credits` writes
the attribution file a dataset made from them must carry; `meshfile` loads mesh files.
"""
