"""The Sweet Home 3D asset library: catalogs parsed, models picked, unpacked safely, credited.

Fake catalogs are tiny zips written here (a properties file, a one-triangle OBJ + MTL); one test
reads the real catalogs when Debian's sweethome3d-furniture is installed.
"""

from __future__ import annotations

import multiprocessing
import os
import zipfile
from pathlib import Path

import pytest

from segsim.assets import cache, sweethome3d
from segsim.assets.library import (
    categories,
    list_libraries,
    missing_message,
    model_path,
    select_assets,
    write_credits,
)
from segsim.errors import SegsimError

REAL_DIR = Path("/usr/share/sweethome3d/furniture")
OBJ = "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl red\nf 1 2 3\n"
MTL = "newmtl red\nKd 1 0 0\nmap_Kd tex.png\n"
PROPS = r"""# a comment \u0041 that is no entry
name=Fake catalog
license=Creative Commons Attribution 3.0 license

id#1=Fake#chair
name#1=Caf\u00e9 chair
category#1=Living room
model#1=/fake/chair/chair.obj
width#1=40.5
depth#1=42
height#1=90
modelRotation#1=1 0 0 0 0 1 0 -1 0
creator#1=Jane \
    Doe
tags#1=Seat, Kitchen,

id#2=Fake#car
name#2=Car
category#2=Vehicles
model#2=/fake/car/car.obj
width#2=180
depth#2=420
height#2=150
creator#2=Bob
license#2=CC0 public domain
"""


def write_catalog(path: Path, props: str = PROPS, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("PluginFurnitureCatalog.properties", props.encode("latin-1"))
        z.writestr("PluginFurnitureCatalog_fr.properties", "name#1=Chaise\nmodel#3=/x.obj\n")
        for model in ("chair", "car"):
            z.writestr(f"fake/{model}/{model}.obj", OBJ.replace("m.mtl", f"{model}.mtl"))
            z.writestr(f"fake/{model}/{model}.mtl", MTL)
            z.writestr(f"fake/{model}/tex.png", b"\x89PNG not really")
        z.writestr("fake/chair.png", b"icon, not part of the model")
        for name, data in (extra or {}).items():
            z.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps '..' and leading '/'
    return path


@pytest.fixture
def fake_lib(tmp_path, monkeypatch):
    lib = tmp_path / "catalogs"
    lib.mkdir()
    write_catalog(lib / "Fake.sh3f")
    monkeypatch.setenv("SEGSIM_SH3D_DIR", str(lib))
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    return lib


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_catalog_is_parsed(fake_lib):
    chair, car = sweethome3d.read_catalog(fake_lib / "Fake.sh3f")
    assert chair.library == "sweethome3d" and chair.catalog == "Fake catalog"
    assert (chair.id, chair.name, chair.category) == ("Fake#chair", "Café chair", "Living room")
    assert chair.size_cm == (40.5, 42.0, 90.0)
    assert chair.model_rotation == ((1, 0, 0), (0, 0, 1), (0, -1, 0))
    assert chair.creator == "Jane Doe"  # a continued line
    assert chair.tags == ("Seat", "Kitchen")
    assert chair.licence == "Creative Commons Attribution 3.0 license"  # the catalog's
    assert chair.attribution_required
    assert chair.member == "fake/chair/chair.obj" and chair.archive == fake_lib / "Fake.sh3f"
    assert car.model_rotation is None and car.licence == "CC0 public domain"  # its own
    assert not car.attribution_required
    # the French file's name and its model#3 are ignored
    assert [e.id for e in list_libraries()["sweethome3d"]] == ["Fake#chair", "Fake#car"]


def test_properties_escapes_and_separators():
    props = sweethome3d.parse_properties(
        "a=1\n  b : 2\nc 3\nd==4\ne\\u00e9\\=x=\\u20ac\\tz\n! bang\n#x=1\nf=tail\\\\\ng=\r\nh=\\\n"
    )
    assert props == {
        "a": "1",
        "b": "2",
        "c": "3",
        "d": "=4",
        "eé=x": "€\tz",
        "f": "tail\\",
        "g": "",
        "h": "",
    }


def test_selection_by_patterns(fake_lib):
    assert [e.name for e in select_assets(category="living ROOM")] == ["Café chair"]
    assert [e.name for e in select_assets(name="*CHAIR*")] == ["Café chair"]
    assert [e.name for e in select_assets(category="v*", name="c?r")] == ["Car"]
    assert len(select_assets()) == 2
    assert categories(select_assets()) == {"Living room": 1, "Vehicles": 1}


def test_an_empty_selection_names_the_pattern_and_the_categories(fake_lib):
    with pytest.raises(SegsimError) as err:
        select_assets(category="Tree*")
    assert "category='Tree*'" in err.value.problem
    assert "Living room (1)" in err.value.fix and "Vehicles (1)" in err.value.fix
    assert "--category" in err.value.renamed("--category").fix
    with pytest.raises(SegsimError, match="library must be one of sweethome3d"):
        select_assets(library="nope")


def test_a_missing_folder_is_an_empty_library_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSIM_SH3D_DIR", str(tmp_path / "absent"))
    assert list_libraries() == {"sweethome3d": []}
    assert "sudo apt-get install sweethome3d-furniture" in missing_message("sweethome3d")
    with pytest.raises(SegsimError) as err:
        select_assets()
    assert "sudo apt-get install sweethome3d-furniture" in err.value.fix


def test_a_model_unpacks_into_the_cache(fake_lib, tmp_path):
    chair = select_assets(name="*chair")[0]
    path = model_path(chair)
    assert path.is_file() and path.read_text() == OBJ.replace("m.mtl", "chair.mtl")
    assert path.is_relative_to(tmp_path / "cache" / "sweethome3d")
    assert sorted(p.name for p in path.parent.iterdir()) == ["chair.mtl", "chair.obj", "tex.png"]
    assert model_path(chair) == path  # the second call finds it
    root = path.parents[3]
    assert [p.name for p in root.iterdir()] == [path.parents[2].name]  # no temp folder left
    trimesh = pytest.importorskip("trimesh")
    assert len(trimesh.load(path, force="mesh").faces) == 1


def _unpack_in_a_process(barrier, entry, queue):
    barrier.wait()
    queue.put(str(model_path(entry)))


def test_two_processes_unpacking_at_once_leave_one_whole_copy(tmp_path, monkeypatch):
    big = os.urandom(3 << 20)  # a texture that takes a while, so both are extracting at once
    props = PROPS.replace("/fake/car/car.obj", "/fake/big/big.obj")
    catalog = write_catalog(
        tmp_path / "Big.sh3f",
        props,
        {"fake/big/big.obj": OBJ.encode(), "fake/big/m.mtl": MTL.encode(), "fake/big/t.bin": big},
    )
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    entry = sweethome3d.read_catalog(catalog)[1]
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_unpack_in_a_process, args=(barrier, entry, queue)) for _ in "ab"]
    for p in procs:
        p.start()
    found = {queue.get(timeout=60) for _ in procs}
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    (obj,) = map(Path, found)
    assert (obj.parent / "t.bin").read_bytes() == big and obj.read_text() == OBJ
    assert files_under(obj.parents[3]) == [
        obj.parents[2].name,
        *(f"{obj.parents[2].name}/{p}" for p in ("fake", "fake/big")),
        *(f"{obj.parents[2].name}/fake/big/{n}" for n in ("big.obj", "m.mtl", "t.bin")),
    ]  # one copy, no temp folder


def test_a_rival_copy_renamed_in_first_is_kept(fake_lib, monkeypatch, tmp_path):
    """The losing side of the race, made certain: the rename finds the target there."""
    real_rename = os.rename

    def rival_first(src, dst):
        os.makedirs(dst)
        Path(dst, "rival").write_text("the other worker's copy")
        real_rename(src, dst)

    monkeypatch.setattr(cache.os, "rename", rival_first)
    dest = tmp_path / "cache" / "x"
    got = cache.unpack_member_files(fake_lib / "Fake.sh3f", ["fake/car/car.obj"], dest)
    assert got == dest and files_under(tmp_path / "cache") == ["x", "x/rival"]


@pytest.mark.parametrize("evil", ["../evil.obj", "/tmp/evil.obj", "fake/chair/../../../evil.obj"])
def test_zip_slip_entries_are_refused_and_nothing_is_written(tmp_path, monkeypatch, evil):
    catalog = write_catalog(tmp_path / "Evil.sh3f", extra={evil: b"v 0 0 0\n"})
    dest = tmp_path / "cache" / "one" / "model"
    with pytest.raises(SegsimError) as err:
        cache.unpack_member_files(catalog, ["fake/chair/chair.obj", evil], dest)
    assert str(catalog) in err.value.problem and repr(evil) in err.value.problem
    assert not (tmp_path / "cache").exists()  # refused before the first folder is made
    assert not Path("/tmp/evil.obj").exists()
    if not evil.startswith("/"):  # through the catalog: the entry sits in the model's folder
        props = PROPS.replace("/fake/chair/chair.obj", "/" + evil)
        write_catalog(catalog, props, extra={evil: b"v 0 0 0\n"})
        monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache2"))
        with pytest.raises(SegsimError, match="unsafe entry"):
            model_path(sweethome3d.read_catalog(catalog)[0])
        assert not (tmp_path / "cache2").exists()
    assert not list(tmp_path.rglob("evil.obj"))


def test_a_file_that_is_not_a_zip_is_refused(tmp_path, monkeypatch):
    (tmp_path / "Broken.sh3f").write_text("not a zip")
    monkeypatch.setenv("SEGSIM_SH3D_DIR", str(tmp_path))
    with pytest.raises(SegsimError) as err:
        list_libraries()
    assert "Broken.sh3f is not a readable zip file" in err.value.problem and err.value.fix
    with pytest.raises(SegsimError, match="not a readable zip"):
        cache.unpack_member_files(tmp_path / "Broken.sh3f", ["a.obj"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_credits_list_every_model_once_sorted(fake_lib, tmp_path):
    entries = select_assets()
    write_credits(tmp_path / "CREDITS.md", [*entries, entries[0]])
    text = (tmp_path / "CREDITS.md").read_text()
    assert "CC-BY" in text.split("\n\n")[1] and "require this attribution" in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines == [
        "- Café chair (Fake#chair), Fake catalog, by Jane Doe: Creative Commons Attribution 3.0 "
        "license (attribution required)",
        "- Car (Fake#car), Fake catalog, by Bob: CC0 public domain (no attribution required)",
    ]


@pytest.mark.skipif(not REAL_DIR.is_dir(), reason="sweethome3d-furniture is not installed")
def test_the_real_catalogs(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SEGSIM_SH3D_DIR", raising=False)
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    entries = list_libraries()["sweethome3d"]
    found = categories(entries)
    with capsys.disabled():
        print(f"\n{len(entries)} Sweet Home 3D models: {found}")
    assert len(entries) >= 800 and missing_message() is None
    assert {"Vehicles", "Characters", "Exterior"} <= set(found)
    assert all(min(e.size_cm) > 0 for e in entries)
    assert {e.attribution_required for e in entries} == {True, False}
    assert len({(e.catalog, e.id) for e in entries}) == len(entries)
    # the smallest model, to keep the test quick
    sizes = {}
    for archive in {e.archive for e in entries}:
        with zipfile.ZipFile(archive) as z:
            sizes.update(
                {e: z.getinfo(e.member).file_size for e in entries if e.archive == archive}
            )
    entry = min(entries, key=lambda e: (sizes[e], e.id))
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.load(model_path(entry), force="mesh")
    assert len(mesh.faces) > 0 and len(mesh.vertices) > 0
