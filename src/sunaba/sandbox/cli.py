"""`sunaba doctor`: print each isolation check and the level in force."""

from __future__ import annotations

import argparse
from pathlib import Path

from sunaba.config import load_config
from sunaba.sandbox.doctor import describe, isolation_level, run_checks


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser("doctor", help="check the isolation this machine gives")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config) if args.config else None, with_secrets=False)
    checks = run_checks(config)
    for check in checks:
        print(f"[{'ok' if check.ok else '--'}] {check.name:15} {check.detail}")
    level = isolation_level(config, checks)
    print(f"isolation level: {describe(level, checks)}")
    return 0 if level != "none" else 1
