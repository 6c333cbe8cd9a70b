"""`sunaba deploy render vm|k8s`, `sunaba deploy vm install`, `sunaba backup`, `sunaba restore`."""

from __future__ import annotations

import argparse
import gzip
import sys
import tarfile
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.deploy.rendered import RenderError, write_files
from sunaba.messages import error_text, say
from sunaba.progress import Progress


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    deploy = subparsers.add_parser("deploy", help="render and install a VM or Kubernetes setup")
    sub = deploy.add_subparsers(dest="deploy_command", required=True)

    render = sub.add_parser("render", help="render every file a target needs from the config")
    render.add_argument(
        "target", choices=["vm", "k8s"], help="vm: systemd units and nginx; k8s: Helm values"
    )
    render.add_argument("--out", help="output directory (default: ./sunaba-<target>)")
    render.add_argument(
        "--chart-reference",
        help="folder with the Zero to JupyterHub chart's values.schema.yaml and values.yaml "
        "(default: $SUNABA_Z2JH_REFERENCE or shared/reference/z2jh beside the checkout)",
    )
    render.add_argument(
        "--skip-chart-schema",
        action="store_true",
        help="render k8s values without checking them against the chart's schema",
    )
    render.set_defaults(func=cmd_render)

    image = sub.add_parser(
        "image-prepare", help="inside an image build: the learner environment steps of `up`"
    )
    image.add_argument("--source", default=".", help="checkout the image is built from")
    image.set_defaults(func=cmd_image_prepare)

    vm = sub.add_parser("vm", help="a server with systemd and nginx")
    vm_sub = vm.add_subparsers(dest="vm_command", required=True)
    install = vm_sub.add_parser("install", help="install or update this server (idempotent)")
    install.add_argument(
        "--root", default="/", help="install under this root instead of / (staging, tests)"
    )
    install.add_argument(
        "--no-packages", action="store_true", help="do not install Debian packages"
    )
    install.add_argument(
        "--no-services", action="store_true", help="do not enable or start systemd units"
    )
    install.set_defaults(func=cmd_vm_install)

    backup = subparsers.add_parser(
        "backup", help="archive databases, homes, course dirs and the state dir"
    )
    backup.add_argument("--dir", help="directory for the archive (default: deploy.vm.backup_dir)")
    backup.add_argument("--keep", type=int, help="keep this many archives, remove older ones")
    backup.set_defaults(func=cmd_backup)

    restore = subparsers.add_parser("restore", help="restore a `sunaba backup` archive")
    restore.add_argument("archive", help="archive written by `sunaba backup`")
    restore.set_defaults(func=cmd_restore)


def _config(args: argparse.Namespace):
    return load_config(Path(args.config) if args.config else None)


def cmd_render(args: argparse.Namespace) -> int:
    out = Path(args.out or f"sunaba-{args.target}")
    config = None  # until it is read: Japanese
    try:
        config = _config(args)
        if args.target == "vm":
            from sunaba.deploy.vm import render_vm

            files = render_vm(config)
        else:
            from sunaba.deploy.k8s import render_k8s
            from sunaba.deploy.k8s_schema import find_chart_reference

            reference = None
            if not args.skip_chart_schema:
                reference = find_chart_reference(args.chart_reference)
                if reference is None:
                    raise RenderError(
                        ja="Zero to JupyterHub チャートのスキーマが見つかりません: "
                        "--chart-reference DIR（チャートの values.schema.yaml と values.yaml が"
                        "あるフォルダ）か --skip-chart-schema を指定してください",
                        en="the Zero to JupyterHub chart schema was not found: pass "
                        "--chart-reference DIR (values.schema.yaml and values.yaml of the "
                        "chart) or --skip-chart-schema",
                    )
            files = render_k8s(config, reference)
    except (ConfigError, RenderError) as exc:
        reason = error_text(config, exc)
        said = say(config, ja=f"何も書き出していません: {reason}", en=f"nothing written: {reason}")
        print(said, file=sys.stderr)
        return 1
    written = write_files(files, out)
    count = len(written)
    print(
        say(
            config,
            ja=f"{out} に {count} 個のファイルを書き出しました",
            en=f"{count} files written to {out}",
        )
    )
    return 0


def cmd_image_prepare(args: argparse.Namespace) -> int:
    from sunaba.deploy.image import prepare_image
    from sunaba.deploy.local_install import step_line

    try:
        config = _config(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    for result in prepare_image(config, Path(args.source)):
        print(step_line(result, config))
    return 0


def cmd_vm_install(args: argparse.Namespace) -> int:
    from sunaba.deploy.local_install import step_line
    from sunaba.deploy.vm_install import install_vm

    config = None  # until it is read: Japanese
    try:
        config = _config(args)
        from sunaba.config.loader import default_site_file

        results = install_vm(
            config,
            root=Path(args.root),
            packages=not args.no_packages,
            services=not args.no_services,
            source_config=Path(args.config) if args.config else default_site_file(),
        )
    except (ConfigError, RenderError) as exc:
        reason = error_text(config, exc)
        said = say(
            config, ja=f"何もインストールしていません: {reason}", en=f"nothing installed: {reason}"
        )
        print(said, file=sys.stderr)
        return 1
    for result in results:
        print(step_line(result, config))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from sunaba.deploy.backup import BackupError, backup, prune_backups

    try:
        config = _config(args)
        directory = Path(args.dir or config.deploy.vm.backup_dir)
        with Progress(0, "バックアップ") as progress:
            archive = backup(config, directory, progress=progress)
        if args.keep:
            for old in prune_backups(directory, args.keep):
                print(f"古いバックアップを削除しました: {old}")
    except (ConfigError, BackupError, OSError) as exc:
        print(f"バックアップできませんでした: {exc}", file=sys.stderr)
        return 1
    print(f"バックアップを書き出しました: {archive}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sunaba.deploy.backup import BackupError
    from sunaba.deploy.restore import restore

    try:
        config = _config(args)
        with Progress(0, "復元") as progress:
            restored = restore(config, Path(args.archive), progress=progress)
    except (EOFError, gzip.BadGzipFile, tarfile.TarError) as exc:
        print(
            f"復元できませんでした: {args.archive} を tar.gz として読めません（{exc}）",
            file=sys.stderr,
        )
        return 1
    except (ConfigError, BackupError, OSError) as exc:
        print(f"復元できませんでした: {exc}", file=sys.stderr)
        return 1
    for line in restored:
        print(f"  {line}")
    return 0
