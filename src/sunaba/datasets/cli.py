"""`sunaba datasets list|info|fetch|validate|generate`."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

from sunaba.datasets.catalogue import Catalogue, Dataset, checkout_datasets_dir
from sunaba.datasets.errors import DatasetError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    datasets = subparsers.add_parser("datasets", help="open data catalogue: list, fetch, validate")
    sub = datasets.add_subparsers(dest="datasets_command", required=True, metavar="SUBCOMMAND")

    show = sub.add_parser("list", help="list the datasets in the catalogue")
    show.set_defaults(func=cmd_list)

    info = sub.add_parser("info", help="show one dataset: source, licence, attribution, files")
    info.add_argument("name", help="dataset name, as `sunaba datasets list` shows it")
    info.add_argument("--columns", action="store_true", help="also list every column")
    info.set_defaults(func=cmd_info)

    fetch = sub.add_parser("fetch", help="download the public datasets and verify their checksums")
    fetch.add_argument("name", nargs="?", help="one dataset (default: all)")
    fetch.add_argument("--mirror", help="read from this local mirror instead of the source URLs")
    fetch.add_argument("--cache", help="write here instead of {prefix}/share/datasets")
    fetch.set_defaults(func=cmd_fetch)

    check = sub.add_parser(
        "validate", help="check a CSV file against a schema, like a publisher's validator"
    )
    check.add_argument("file", help="CSV or Excel file to check")
    check.add_argument(
        "--schema",
        required=True,
        help="standard name (aed-locations, 公共施設一覧…), DATASET/RESOURCE or a file",
    )
    check.add_argument("--encoding", help="file encoding (default: detected)")
    check.add_argument("--limit", type=int, default=200, help="print at most this many problems")
    check.add_argument(
        "--output", help="write every problem to this CSV file (UTF-8 with BOM, for Excel)"
    )
    check.set_defaults(func=cmd_validate)

    generate = sub.add_parser("generate", help="regenerate the fictional 砂場市 files")
    generate.add_argument(
        "--out", help="directory to write (default: the catalogue's sunaba-city/)"
    )
    generate.add_argument(
        "--seed", type=int, help="random seed (default: the committed files' seed)"
    )
    generate.set_defaults(func=cmd_generate)


def _config(args: argparse.Namespace):
    from sunaba.config import load_config

    return load_config(Path(args.config) if getattr(args, "config", None) else None)


def _catalogue(args: argparse.Namespace) -> Catalogue:
    from sunaba.core.state import public_datasets_dir

    config = _config(args)
    if config.datasets.catalogue:
        return Catalogue([Path(config.datasets.catalogue)])
    from sunaba.datasets.catalogue import search_path

    return Catalogue([public_datasets_dir(config), *search_path()])


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _status(catalogue: Catalogue, dataset: Dataset) -> str:
    remote = [item for item in dataset.resources if item.remote]
    if not remote:
        return "同梱"
    present = sum(1 for item in remote if catalogue.find_file(dataset, item) is not None)
    return f"取得済み {present}/{len(remote)}"


def _title(dataset: Dataset) -> str:
    if dataset.fictional and "架空" not in dataset.title:
        return f"{dataset.title}（架空のデータ）"
    return dataset.title


def _fail(exc: DatasetError) -> int:
    print(exc.render(), file=sys.stderr)
    return 1


def cmd_list(args: argparse.Namespace) -> int:
    try:
        catalogue = _catalogue(args)
    except DatasetError as exc:
        return _fail(exc)
    good, bad = catalogue.datasets()
    if not good and not bad:
        print("データセットがありません（探した場所: " + "、".join(map(str, catalogue.dirs)) + "）")
        return 1
    rows = [["名前", "タイトル", "ファイル", "状態", "ライセンス"]]
    for dataset in good:
        rows.append(
            [
                dataset.name,
                _title(dataset),
                str(len(dataset.resources)),
                _status(catalogue, dataset),
                dataset.license_label,
            ]
        )
    print(_table(rows))
    for error in bad:
        print(f"\n読めないデータセットがあります: {error.render()}", file=sys.stderr)
    return 1 if bad else 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        catalogue = _catalogue(args)
        dataset = catalogue.get(args.name)
    except DatasetError as exc:
        return _fail(exc)
    print(f"{_title(dataset)}\n{dataset.title_en}\n")
    if dataset.fictional:
        print("※ 架空のデータです。実在の自治体・施設・人とは関係ありません。\n")
    if dataset.description:
        print(dataset.description + "\n")
    print(f"名前:       {dataset.name}")
    print(f"提供:       {dataset.publisher}")
    for licence in dataset.licenses:
        print(
            f"ライセンス: {licence.get('title') or licence.get('name')}  {licence.get('path', '')}".rstrip()
        )
    print(f"出典表示:   {dataset.attribution}")
    for source in dataset.sources:
        print(f"元データ:   {source.get('title', '')}  {source.get('path', '')}".rstrip())
    print(f"場所:       {dataset.directory}\n")
    rows = [["リソース", "ファイル", "バイト", "SHA-256", "状態", "標準"]]
    for item in dataset.resources:
        present = catalogue.find_file(dataset, item) is not None
        status = "あり" if present else ("未取得" if item.remote else "なし")
        rows.append(
            [item.name, item.path, f"{item.bytes:,}", item.sha256[:12], status, item.standard or ""]
        )
    print(_table(rows))
    remote = [item.url for item in dataset.resources if item.url]
    if remote:
        print(f"\n取得元: {remote[0]}" + (f" ほか {len(remote) - 1} 件" if len(remote) > 1 else ""))
    if args.columns:
        seen: list[list[str]] = []
        for item in dataset.resources:
            names = item.schema.field_names
            if names in seen:
                continue
            seen.append(names)
            print(f"\n列（{item.name}）:")
            for field in item.schema.fields:
                mark = "必須 " if field.required else ""
                print(f"  {field.name}  [{field.type_label}] {mark}{field.description}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from sunaba.core.state import public_datasets_dir
    from sunaba.datasets.fetch import fetch, remote_count
    from sunaba.progress import Progress

    try:
        config = _config(args)
        catalogue = _catalogue(args)
        mirror_dir = args.mirror or config.datasets.mirror
        mirror = Path(mirror_dir) if mirror_dir else None
        target = Path(args.cache) if args.cache else public_datasets_dir(config)
        names = [args.name] if args.name else None
        with Progress(remote_count(catalogue, names), "取得") as progress:
            results = fetch(catalogue, target, names, mirror=mirror, progress=progress)
    except DatasetError as exc:
        return _fail(exc)
    if not results:
        print("取得するファイルはありません（同梱のデータだけです）")
        return 0
    counts = {"updated": 0, "unchanged": 0, "failed": 0}
    for result in results:
        counts[result.status] += 1
        if result.status == "failed":
            print(f"失敗  {result.dataset}/{result.resource}: {result.message}", file=sys.stderr)
        elif result.status == "updated":
            print(f"取得  {result.dataset}/{result.resource}")
    print(
        f"\n{target}: 取得 {counts['updated']} 件、最新のまま {counts['unchanged']} 件、失敗 {counts['failed']} 件"
    )
    return 1 if counts["failed"] else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sunaba.datasets.csvio import read_csv_ja
    from sunaba.datasets.resolve import resolve_schema
    from sunaba.datasets.validate import validate

    try:
        catalogue = _catalogue(args)
        schema = resolve_schema(args.schema, catalogue)
        frame = read_csv_ja(
            Path(args.file), encoding=args.encoding, dtype=str, keep_default_na=False, quiet=True
        )
        problems = validate(frame, schema)
    except DatasetError as exc:
        return _fail(exc)
    name = Path(args.file).name
    encoding = frame.attrs["encoding"]
    print(
        f"{name}: {len(frame)} 行、文字コード {encoding}、スキーマ「{schema.title or schema.name or args.schema}」"
    )
    if encoding not in ("utf-8", "utf-8-sig"):
        print(
            "  注意: 文字コードは UTF-8 をおすすめします（Excel では「CSV UTF-8（コンマ区切り）」で保存）"
        )
    if args.output:
        problems.to_csv(args.output, index=False, encoding="utf-8-sig")
        print(f"  問題の一覧を {args.output} に書きました")
    if problems.empty:
        print("問題はありません")
        return 0
    shown = problems.head(args.limit)
    rows = [["行", "列", "値", "問題"]]
    for row in shown.itertuples(index=False):
        line = "" if row[0] is None or str(row[0]) == "<NA>" else str(row[0])
        rows.append([line, str(row[1]), str(row[2]), str(row[3])])
    print(_table(rows))
    rest = len(problems) - len(shown)
    print(
        f"\n問題 {len(problems)} 件"
        + (f"（表示していないもの {rest} 件。--output で全件を書き出せます）" if rest else "")
    )
    return 1


def cmd_generate(args: argparse.Namespace) -> int:
    from sunaba.datasets import sunaba_city

    if args.out:
        out = Path(args.out)
    else:
        config = _config(args)
        root = (
            Path(config.datasets.catalogue)
            if config.datasets.catalogue
            else checkout_datasets_dir()
        )
        if root is None:
            print("出力先がわかりません。--out で指定してください", file=sys.stderr)
            return 2
        out = root / sunaba_city.NAME
    seed = args.seed if args.seed is not None else sunaba_city.SEED
    generated = sunaba_city.write(out, seed)
    for name, data in generated.files.items():
        print(f"{out / name}  {len(data):,} バイト")
    print(
        f"架空の砂場市のデータを書きました（シード {seed}、仕込んだ不備 {len(generated.defects)} か所）"
    )
    return 0
