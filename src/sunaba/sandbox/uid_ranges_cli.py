"""`sunaba uid-ranges`: the grading uid ranges installs on this machine have claimed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.sandbox.uid_ranges import (
    UidRangeConflict,
    claim_uid_range,
    read_claims,
    registry_path,
    release_uid_range,
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    ranges = subparsers.add_parser(
        "uid-ranges", help="grading uid ranges claimed by the installs on this machine"
    )
    actions = ranges.add_subparsers(dest="uid_ranges_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list every install's range")
    show.set_defaults(func=cmd_show)
    claim = actions.add_parser("claim", help="claim this install's range (done by `sunaba up`)")
    claim.set_defaults(func=cmd_claim)
    release = actions.add_parser("release", help="free the range of a removed install")
    release.add_argument("state_dir", help="state directory of the install")
    release.set_defaults(func=cmd_release)


def cmd_show(args: argparse.Namespace) -> int:
    claims = read_claims(registry_path())
    if not claims:
        print("登録されている範囲はありません")
    for claim in claims:
        print(f"{claim.first}-{claim.last}\t{claim.state_dir}\t{claim.prefix}")
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("uid の範囲を登録するには root で実行してください", file=sys.stderr)
        return 1
    try:
        config = load_config(Path(args.config) if args.config else None, with_secrets=False)
        claim = claim_uid_range(config, registry_path())
    except (ConfigError, UidRangeConflict) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{claim.first}-{claim.last}\t{claim.state_dir}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("uid の範囲を解放するには root で実行してください", file=sys.stderr)
        return 1
    if release_uid_range(args.state_dir, registry_path()):
        print(f"状態フォルダ {args.state_dir} の範囲を解放しました")
        return 0
    print(f"状態フォルダ {args.state_dir} の範囲は登録されていません", file=sys.stderr)
    return 1
