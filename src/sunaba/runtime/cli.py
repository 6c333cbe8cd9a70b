"""`sunaba install` (the ensure steps) and `sunaba up` (install, then run the hub)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.config.loader import repo_root
from sunaba.core.state import StatePaths, ensure_secrets, ensure_state_dir
from sunaba.deploy.local_install import ensure_runtime
from sunaba.messages import say
from sunaba.runtime import firewall_cli
from sunaba.runtime.firewall_cli import refusal, start_policy, stop_policy
from sunaba.runtime.hubprocess import run_hub
from sunaba.sandbox.doctor import describe, isolation_level, run_checks
from sunaba.sandbox.uid_ranges import UidRangeConflict, ensure_uid_range
from sunaba.users.admin import admin_password_file, ensure_first_admin


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    install = subparsers.add_parser(
        "install", help="set up the runtime prefix (proxy, settings, datasets), not the state"
    )
    _common(install)
    install.set_defaults(func=cmd_install)

    up = subparsers.add_parser("up", help="set everything up and run the hub in the foreground")
    _common(up)
    up.add_argument(
        "--insecure-demo",
        action="store_true",
        help="run even when learners' servers cannot be isolated (throwaway demos only)",
    )
    up.set_defaults(func=cmd_up)
    firewall_cli.add_commands(subparsers)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", help="runtime prefix (default from config: /opt/sunaba)")
    parser.add_argument("--state-dir", help="state directory (default: /var/lib/sunaba)")
    parser.add_argument("--port", type=int, help="public port (default 8000)")


def _overrides(args: argparse.Namespace) -> None:
    # Command-line flags become the environment layer of the config, so the hub process that
    # loads the config again sees exactly the same values.
    if args.config:
        os.environ["SUNABA_CONFIG"] = str(Path(args.config).resolve())
    if args.prefix:
        os.environ["SUNABA__HUB__PREFIX"] = str(Path(args.prefix).resolve())
    if args.state_dir:
        os.environ["SUNABA__HUB__STATE_DIR"] = str(Path(args.state_dir).resolve())
    if args.port:
        os.environ["SUNABA__HUB__PORT"] = str(args.port)
    # The hub runs in the state dir: tell it which checkout and site file this is.
    source = _source()
    os.environ["SUNABA_SOURCE"] = str(source)
    os.environ.setdefault("SUNABA_CONFIG", str(source / "hub_config" / "sunaba.yaml"))


def _source() -> Path:
    root = repo_root()
    if root is None:
        sys.exit(
            say(
                None,  # before the config is read
                ja="sunaba up は Sunaba のチェックアウトの中で実行してください"
                "（hub_config/ が見つかりません）",
                en="sunaba up must run from a Sunaba checkout (hub_config/ not found)",
            )
        )
    return root


def _prepare_courses(config, paths: StatePaths, source: Path) -> None:
    """The demo instructor and learner, and every course under courses/, synced before start."""
    from sunaba.classroom.sync import sync_courses
    from sunaba.courses.demo import describe_demo_accounts, ensure_demo_accounts

    demo = ensure_demo_accounts(config, paths)
    if demo:
        print(describe_demo_accounts(demo))
    sync_courses(config, hub_config_dir=source / "hub_config", use_running_hub=False, log=print)
    _fetch_course_data(config, source)


def _fetch_course_data(config, source: Path) -> None:
    """The open data the courses use; a machine that cannot fetch still starts."""
    from sunaba.core.layout import courses_dir
    from sunaba.courses.course_data import fetch_course_data

    print("コースで使うデータセットを確認しています:")
    try:
        fetch_course_data(config, courses_dir(config, source / "hub_config"))
    except Exception as exc:  # a missing dataset must never keep the site from starting
        print(f"  データセットを確認できませんでした（{exc}）。起動は続けます")


def _prepare_state(config, paths: StatePaths) -> None:
    ensure_state_dir(paths)
    ensure_secrets(paths)
    password = ensure_first_admin(config, paths)
    if password:
        admin = config.hub.admin_users[0]
        print(
            f"\n初回の管理者アカウントを作成しました / first admin created:\n"
            f"  ユーザー名 user name: {admin}\n  パスワード password:  {password}\n"
            f"  (also saved, readable by root only, in {admin_password_file(paths)}; "
            "change it after the first login at /hub/change-password)\n"
        )


def cmd_install(args: argparse.Namespace) -> int:
    _overrides(args)
    try:
        config = load_config(with_secrets=False)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    prefix = config.hub.prefix
    print(say(config, ja=f"Sunaba: {prefix} を準備しています", en=f"Sunaba: preparing {prefix}"))
    ensure_runtime(config, Path(os.environ["SUNABA_SOURCE"]))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    _overrides(args)
    try:
        config = load_config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    source = Path(os.environ["SUNABA_SOURCE"])
    prefix, state = config.hub.prefix, config.hub.state_dir
    print(
        say(
            config,
            ja=f"Sunaba: {prefix} と {state} を準備しています",
            en=f"Sunaba: preparing {prefix} and {state}",
        )
    )
    ensure_runtime(config, source)
    checks = run_checks(config)
    level = isolation_level(config, checks)
    print(say(config, ja="隔離: ", en="isolation: ") + describe(level, checks).to(config))
    if level == "none":
        if not args.insecure_demo:
            refusing = say(
                config,
                ja="起動しません: ここでは受講者のサーバーを隔離できません。理由は "
                "`sunaba doctor` で確かめられます。使い捨てのデモなら "
                "`sunaba up --insecure-demo` で起動できます。",
                en="Refusing to start: learners' servers cannot be isolated here. "
                "Run `sunaba doctor` to see why, or `sunaba up --insecure-demo` for a "
                "throwaway demo.",
            )
            print(refusing, file=sys.stderr)
            return 1
        os.environ["SUNABA_INSECURE_DEMO"] = "1"
    network_refusal = refusal(config, level)
    if network_refusal and not args.insecure_demo:
        print(network_refusal, file=sys.stderr)
        return 1
    os.environ["SUNABA_SANDBOX_MODE"] = level
    paths = StatePaths.from_config(config)
    ensure_state_dir(paths)  # before the claim: a claim whose state dir is missing is dropped
    try:  # no two installs on this machine grade as the same uids
        ensure_uid_range(config)
    except UidRangeConflict as exc:
        print(exc, file=sys.stderr)
        return 1
    _prepare_state(config, paths)
    _prepare_courses(config, paths, source)
    return run_hub(
        config,
        source,
        paths,
        fast_start=config.sandbox.forks_servers(level),
        before_start=lambda: start_policy(config, level, args.insecure_demo),
        after_stop=lambda: stop_policy(config),
    )
