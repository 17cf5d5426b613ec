"""CLI: segsim assets | assets show CATEGORY -- the asset libraries scene configs pick from."""

from __future__ import annotations

from pathlib import Path

import typer

from segsim.commands.app import app

assets_app = typer.Typer(
    help="The asset libraries (3D models) scene configs can pick from.", no_args_is_help=False
)
app.add_typer(assets_app, name="assets")


@assets_app.callback(invoke_without_command=True)
def assets(ctx: typer.Context):
    """List the libraries found, their models and categories (`segsim assets show` draws them)."""
    if ctx.invoked_subcommand is not None:
        return
    from segsim.assets.library import categories, list_libraries, missing_message

    for name, entries in list_libraries().items():
        if not entries:
            typer.echo(f"{name}: not installed ({missing_message(name)})")
            continue
        cc0 = sum(not e.attribution_required for e in entries)
        typer.echo(
            f"{name}: {len(entries)} models ({cc0} CC0, {len(entries) - cc0} CC-BY: "
            "credited in the dataset's CREDITS.md)"
        )
        for category, count in categories(entries).items():
            typer.echo(f"  {category:<20} {count:>4}")
    typer.echo(
        "select in a scene config: {name: chair, shape: mesh, library: "
        '{category: "Living room", name: "*chair*"}}'
    )
    _list_photos()


def _list_photos():
    """The photos library: per source, how many photos and under which licences."""
    from collections import Counter

    from segsim.assets.photos import SOURCES, env_dirs, folder_photos, source_photos

    typer.echo("photos (backgrounds, textures, cut-outs; decoded once into the cache):")
    for source in SOURCES:
        found = source_photos(source)
        if not found:
            typer.echo(f"  {source:<20} not installed")
            continue
        credited = sum(p.attribution_required for p in found)
        typer.echo(f"  {source:<20} {len(found):>4} photos ({credited} credited in CREDITS.md)")
        for licence, n in Counter(" ".join(p.licence.split())[:60] for p in found).most_common(3):
            typer.echo(f"    {n:>4}  {licence}")
    for folder in env_dirs():
        typer.echo(f"  {folder:<20} {len(folder_photos(folder)):>4} photos ($SEGSIM_PHOTO_DIRS)")
    typer.echo(
        "use in a scene config: background: {kinds: {photo: 2.0}}, material: {texture: "
        "{kinds: {photo: 1.0}}}, distractors: {cards: [1, 3]}; photos: {dirs: [FOLDER]}"
    )


@assets_app.command("show")
def show(
    category: str = typer.Argument(..., help="Category pattern, e.g. 'Living room' or 'Vehicles'."),
    name: str | None = typer.Option(None, "--name", help="Name pattern, e.g. '*chair*'."),
    library: str = typer.Option("sweethome3d", "--library", help="Asset library."),
    out: Path = typer.Option(Path("assets.png"), "--out", "-o", help="PNG to write."),
    count: int = typer.Option(36, "--count", "-n", min=1, help="At most this many models."),
    tile: int = typer.Option(160, "--tile", min=48, max=512, help="Tile size in pixels."),
):
    """Contact sheet of a category's models, each drawn by segsim's renderer with its name."""
    from segsim.assets.library import select_assets
    from segsim.dataset.asset_sheet import write_asset_sheet

    entries = select_assets(library, category, name)
    typer.echo(
        f"wrote {write_asset_sheet(entries[:count], out, tile)} "
        f"({min(count, len(entries))} of {len(entries)} models)"
    )
