"""``workshop kits ...``: command-line access to the kit specs (registered on the workshop CLI)."""

from pathlib import Path

import click

from workshop.kits.loader import KitCheckError, KitError, check_kits, folder_warnings, summary_line


@click.group("kits")
def kits() -> None:
    """Conversion kits: bill of material, costs, CAN database, EOL limits."""


@kits.command("check")
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def check_command(ctx: click.Context, dirs: tuple[Path, ...]) -> None:
    """Validate kits: each DIR is a kit folder or a folder of kits (default: kit_specs/).

    Prints one line per kit, or "ERROR FILE: LOCATION: PROBLEM", then "WARNING ..." for what a
    kit should not go without (a safety limit without its source); exits 1 on any error.
    """
    results = check_kits(dirs)
    for _folder, result in results:
        # One stream, in kit order, so a failing kit's line sits where its summary would have been;
        # "ERROR " as in `workshop manuals check`, so both can be grepped the same way.
        if isinstance(result, KitCheckError) or (
            isinstance(result, KitError) and len(result.details) > 1 and result.location == "(file)"
        ):
            for _location, problem in result.details:  # one line per problem found
                click.echo(f"ERROR {problem}")
        elif isinstance(result, KitError):
            click.echo(f"ERROR {result}")
        else:
            click.echo(summary_line(result))
            for warning in folder_warnings(result):
                click.echo(f"WARNING {warning}")
    if any(isinstance(result, KitError) for _folder, result in results):
        ctx.exit(1)
