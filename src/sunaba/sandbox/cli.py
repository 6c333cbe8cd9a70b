"""`sunaba doctor`: print each isolation check and the level in force."""

from __future__ import annotations

import argparse
from pathlib import Path

from sunaba.config import load_config
from sunaba.messages import localized, say
from sunaba.sandbox import uid_ranges_cli
from sunaba.sandbox.doctor import describe, isolation_level, network_check, run_checks


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser("doctor", help="check the isolation this machine gives")
    doctor.set_defaults(func=cmd_doctor)
    uid_ranges_cli.add_commands(subparsers)


def cmd_doctor(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config) if args.config else None, with_secrets=False)
    checks = run_checks(config)
    for check in checks:
        print(f"[{'ok' if check.ok else '--'}] {check.name:15} {localized(config, check.detail)}")
    level = isolation_level(config, checks)
    network = network_check(config)
    print(f"[{'ok' if network.ok else '--'}] {network.name:15} {localized(config, network.detail)}")
    isolation = describe(level, checks).to(config)
    if network.ok:
        reach = say(config, ja="制限しています", en="restricted by the policy")
    else:
        reach = say(config, ja="制限していません", en="NOT restricted")
    print(
        say(
            config,
            ja=f"隔離レベル: {isolation}。ネットワーク: {reach}",
            en=f"isolation level: {isolation}; network: {reach}",
        )
    )
    return 0 if level != "none" else 1
