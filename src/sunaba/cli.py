"""The `sunaba` command: a thin argparse layer; each area registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

# Each module exposes `add_commands(subparsers)`; subcommands set `func(args) -> int`.
COMMAND_MODULES = (
    "sunaba.config.cli",
    "sunaba.runtime.cli",
    "sunaba.sandbox.cli",
    "sunaba.users.cli",
    "sunaba.datasets.cli",
    "sunaba.classroom.cli",
    "sunaba.grading.cli",
    "sunaba.showcase.cli",
    "sunaba.deploy.cli",
)


def installed_version() -> str:
    try:
        return version("sunaba")
    except PackageNotFoundError:  # run from a checkout without an install
        return "unknown"


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
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
