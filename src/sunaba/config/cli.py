"""`sunaba config check|show|docs`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from sunaba.config.docs import render_reference
from sunaba.config.loader import ConfigError, load_config, masked, read_yaml_layer, validate
from sunaba.messages import say


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser("config", help="check or show the site config")
    sub = config.add_subparsers(dest="config_command", required=True)

    check = sub.add_parser("check", help="validate a site config file and list every problem")
    check.add_argument("file", nargs="?", help="file to check (default: the site config)")
    check.set_defaults(func=cmd_check)

    show = sub.add_parser("show", help="print the effective config, secrets masked")
    show.set_defaults(func=cmd_show)

    docs = sub.add_parser("docs", help="write the config reference generated from the schema")
    docs.add_argument(
        "--out", default="docs/reference/config.md", help="file to write (default: %(default)s)"
    )
    docs.set_defaults(func=cmd_docs)


def _site_file(args: argparse.Namespace) -> Path | None:
    return Path(args.config) if args.config else None


def _readable_config(args: argparse.Namespace):
    """The site config if it can be read (for the language to speak), else None: Japanese."""
    try:
        return load_config(_site_file(args), with_secrets=False)
    except ConfigError:
        return None


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else _site_file(args)
    try:
        if path is None:
            config = load_config(with_secrets=False)
        else:
            config = validate(read_yaml_layer(path), str(path))
    except ConfigError as exc:
        count = len(exc.problems)
        # The config cannot be read: Japanese, the default language of a site.
        said = say(None, ja=f"問題が {count} 件あります:", en=f"{count} problem(s) found:")
        print(said, file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    name = path or say(config, ja="サイト設定", en="site config")
    print(say(config, ja=f"{name}: 問題ありません", en=f"{name}: OK"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        config = load_config(_site_file(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    data = masked(config.model_dump(mode="json"))
    print(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), end="")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_reference(), encoding="utf-8")
    config = _readable_config(args)
    print(say(config, ja=f"{out} を書き出しました", en=f"wrote {out}"))
    return 0
