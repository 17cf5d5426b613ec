"""Dataset folders: layout (paths), writer (atomic files, manifest), reader, generate."""
