"""`sunaba firewall install|remove|show`: the learners' network policy of this install, for the
VM units and for an admin checking what `sunaba up` installs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.messages import error_text, localized, say
from sunaba.runtime.firewall_ports import pinned_ports, service_ports
from sunaba.sandbox import firewall
from sunaba.sandbox.doctor import probe
from sunaba.sandbox.firewall_rules import render


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
            print(render(firewall.gather_facts(config, service_ports(config))), end="")
        elif args.action == "remove":
            print(_removed(config, firewall.remove(config)))
        else:
            if not config.network.firewall:
                print(
                    say(
                        config,
                        ja="network.firewall が off のため、ルールはインストールしていません",
                        en="network.firewall is off: no rules installed",
                    )
                )
                return 0
            facts = firewall.install(config, service_ports(config))
            table, count = facts.table, len(facts.uids)
            print(
                say(
                    config,
                    ja=f"ファイアウォールのテーブル {table} をインストールしました"
                    f"（サンドボックスの uid {count} 個）",
                    en=f"firewall table {table} installed for {count} sandbox uids",
                )
            )
    except firewall.FirewallError as exc:
        reason = error_text(config, exc)
        print(
            say(config, ja=f"ファイアウォール: {reason}", en=f"firewall: {reason}"), file=sys.stderr
        )
        return 1
    return 0


def _removed(config, removed: bool) -> str:
    table = firewall.table_name(config)
    if removed:
        return say(
            config,
            ja=f"ファイアウォールのテーブル {table} を削除しました",
            en=f"firewall table {table} removed",
        )
    return say(
        config,
        ja=f"ファイアウォールのテーブル {table} はインストールされていませんでした",
        en=f"firewall table {table} was not installed",
    )


def _refusing(config, reason) -> str:
    return say(
        config,
        ja=f"起動しません: 受講者のネットワーク制限をインストールできません（{reason}）。"
        "Debian パッケージ `nftables` をインストールするか、`network.firewall: false` を"
        "設定してください。使い捨てのデモなら `sunaba up --insecure-demo` で起動できます。",
        en=f"Refusing to start: learners' network policy cannot be installed ({reason}). "
        "Install the Debian package `nftables`, set `network.firewall: false`, or run "
        "`sunaba up --insecure-demo` for a throwaway demo.",
    )


def refusal(config, level: str) -> str | None:
    """`sunaba up`, before anything is made: why full isolation cannot have its network policy."""
    if level != "full" or not config.network.firewall:
        return None
    reason = firewall.unavailable()
    if reason is None:
        return None
    return _refusing(config, localized(config, reason))


def start_policy(config, level: str, insecure_demo: bool) -> bool:
    """`sunaba up`, before the hub starts: pin the services' ports, install and test the rules.
    False (after saying why) when full isolation cannot have them and no demo was asked for."""
    if level != "full" or not config.network.firewall:
        why = "network.firewall: false" if level == "full" else None
        ja_why = why or "完全な隔離が必要です"
        print(
            say(
                config,
                ja=f"ネットワーク: 受講者の通信は制限されていません（{ja_why}）",
                en="network: learners' connections are NOT restricted "
                f"({why or 'needs full isolation'})",
            )
        )
        return True
    os.environ.update(pinned_ports(config))
    pinned = load_config()
    try:
        facts = firewall.install(pinned, service_ports(pinned))
        ok, detail = probe(pinned)
        if not ok:
            raise firewall.FirewallError(ja=detail.ja, en=detail.en)
    except firewall.FirewallError as exc:
        firewall.remove(pinned)
        if insecure_demo:
            print(
                say(
                    config,
                    ja="ネットワーク: 制限されていません。ルールをインストールできませんでした"
                    f"（{exc.to(config)}）",
                    en=f"network: NOT restricted, the rules could not be installed ({exc})",
                )
            )
            return True
        print(_refusing(config, error_text(config, exc)), file=sys.stderr)
        return False
    print(_restricted(pinned, facts))
    return True


def _restricted(config, facts) -> str:
    internet = config.network.internet
    count = len(facts.allowed)
    return say(
        config,
        ja=f"ネットワーク: nftables のテーブル {facts.table} で制限しています。つながる先は"
        f"ハブの API、Sunaba のサービス、DNS、{'インターネット、' if internet else ''}"
        f"許可した宛先 {count} 件です（{'' if internet else 'インターネット、'}"
        "このマシンの他のポート、プライベートやリンクローカルのネットワーク、"
        "メタデータサーバーにはつながりません）",
        en=f"network: restricted by nftables table {facts.table}: hub API, Sunaba services, "
        f"DNS, {'the internet' if internet else 'no internet'}, {count} allowed destinations; "
        "no other port of this machine, no private or link-local network, no metadata server",
    )


def stop_policy(config) -> None:
    """`sunaba up`, after everything it started has ended."""
    if firewall.remove(config):
        table = firewall.table_name(config)
        print(
            say(
                config,
                ja=f"ネットワーク: ファイアウォールのテーブル {table} を削除しました",
                en=f"network: firewall table {table} removed",
            ),
            flush=True,
        )
