"""`sunaba firewall install|remove|show`: the learners' network policy of this install, for the
VM units and for an admin checking what `sunaba up` installs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.sandbox import firewall
from sunaba.sandbox.doctor import probe


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "firewall", help="install, remove or show where learners' processes may connect"
    )
    parser.add_argument(
        "action",
        choices=("install", "remove", "show"),
        help="install (or replace) this install's rules, remove them, or print them",
    )
    parser.set_defaults(func=cmd_firewall)


def cmd_firewall(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config) if args.config else None, with_secrets=False)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        if args.action == "show":
            print(firewall.render(firewall.gather_facts(config)), end="")
        elif args.action == "remove":
            removed = firewall.remove(config)
            print(
                f"firewall table {firewall.table_name(config)} "
                + ("removed" if removed else "was not installed")
            )
        else:
            if not config.network.firewall:
                print("network.firewall is off: no rules installed")
                return 0
            facts = firewall.install(config)
            print(f"firewall table {facts.table} installed for {len(facts.uids)} sandbox uids")
    except firewall.FirewallError as exc:
        print(f"firewall: {exc}", file=sys.stderr)
        return 1
    return 0


def refusal(config, level: str) -> str | None:
    """`sunaba up`, before anything is made: why full isolation cannot have its network policy."""
    if level != "full" or not config.network.firewall:
        return None
    reason = firewall.unavailable()
    if reason is None:
        return None
    return (
        f"Refusing to start: learners' network policy cannot be installed ({reason}). "
        "Install the Debian package `nftables`, set `network.firewall: false`, or run "
        "`sunaba up --insecure-demo` for a throwaway demo."
    )


def start_policy(config, level: str, insecure_demo: bool) -> bool:
    """`sunaba up`, before the hub starts: pin the services' ports, install and test the rules.
    False (after saying why) when full isolation cannot have them and no demo was asked for."""
    if level != "full":
        print("network: learners' connections are NOT restricted (needs full isolation)")
        return True
    if not config.network.firewall:
        print("network: learners' connections are NOT restricted (network.firewall: false)")
        return True
    os.environ.update(firewall.pinned_ports(config))
    pinned = load_config()
    try:
        facts = firewall.install(pinned)
        ok, detail = probe(pinned)
        if not ok:
            raise firewall.FirewallError(detail)
    except firewall.FirewallError as exc:
        firewall.remove(pinned)
        if insecure_demo:
            print(f"network: NOT restricted, the rules could not be installed ({exc})")
            return True
        print(
            f"Refusing to start: learners' network policy cannot be installed ({exc}). "
            "Install the Debian package `nftables`, set `network.firewall: false`, or run "
            "`sunaba up --insecure-demo` for a throwaway demo.",
            file=sys.stderr,
        )
        return False
    internet = "the internet, " if pinned.network.internet else "no internet, "
    print(
        f"network: restricted by nftables table {facts.table}: hub API, Sunaba services, DNS, "
        f"{internet}{len(facts.allowed)} allowed destinations; no other port of this machine, "
        "no private or link-local network, no metadata server"
    )
    return True


def stop_policy(config) -> None:
    """`sunaba up`, after everything it started has ended."""
    if firewall.remove(config):
        print(f"network: firewall table {firewall.table_name(config)} removed", flush=True)
