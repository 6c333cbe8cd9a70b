"""The `sunaba` command: a thin argparse layer; each area registers its own subcommands as an
entry point of the group `sunaba.commands` (pyproject.toml), a module with
`add_commands(subparsers)` whose subcommands set `func(args) -> int`."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version

from sunaba.config.problems import ProblemsError

COMMANDS_GROUP = "sunaba.commands"
# The order `sunaba --help` lists the areas in (what an admin needs first); areas not named
# here follow, by name.
HELP_ORDER = ("config", "runtime", "sandbox", "users", "datasets", "classroom", "grading")


def installed_version() -> str:
    try:
        return version("sunaba")
    except PackageNotFoundError:  # run from a checkout without an install
        return "unknown"


def _help_position(entry) -> tuple[int, str]:
    known = entry.name in HELP_ORDER
    return (HELP_ORDER.index(entry.name) if known else len(HELP_ORDER), entry.name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sunaba", description="Run and administer a Sunaba learning hub."
    )
    parser.add_argument(
        "--config", help="site config file (default: hub_config/sunaba.yaml or $SUNABA_CONFIG)"
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"sunaba {installed_version()}",
        help="show the version",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = sorted(entry_points(group=COMMANDS_GROUP), key=_help_position)
    if not modules:
        sys.exit(
            f"sunaba: no commands registered ({COMMANDS_GROUP}): install it with pip install ."
        )
    for entry in modules:
        entry.load().add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ProblemsError as exc:  # what is wrong and where, in words, never a traceback
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
