"""Benchmark: `sunaba.datasets.load()` against plain `pandas.read_csv` with the right arguments.

Run with `python benchmarks/bench_datasets.py`. It loads the largest file of the catalogue
(高松市 町丁別人口, 2024年7月: padded numbers, thousands separators, "-" for zero, M/D/YY dates)
and the largest dataset by number of files (七尾市 避難所の時系列, 118 files), each both ways,
and prints the best time of several rounds and their ratio. The pandas side is what a careful analyst would
write to get the same columns and types. No assertion: the figures are for reading.

Real data comes from the catalogue's search path; when it has not been fetched, it is fetched
into a temporary directory from the local mirror ../shared/opendata.
"""

from __future__ import annotations

import sys
import tempfile
import timeit
from pathlib import Path

import pandas as pd

from sunaba.datasets import load
from sunaba.datasets.catalogue import Catalogue, search_path
from sunaba.datasets.fetch import fetch

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "opendata"


def catalogue_with_data(workdir: Path) -> Catalogue:
    catalogue = Catalogue(search_path())
    dataset = catalogue.get("takamatsu-population")
    if all(catalogue.find_file(dataset, item) for item in dataset.resources):
        return catalogue
    if not MIRROR.is_dir():
        sys.exit(f"the real data is not fetched and the mirror {MIRROR} is absent")
    results = fetch(catalogue, workdir, ["takamatsu-population", "nanao-shelters"], mirror=MIRROR)
    if not all(result.ok for result in results):
        sys.exit("fetching from the mirror failed")
    return Catalogue([workdir, *catalogue.dirs])


def largest_file(catalogue: Catalogue) -> tuple[str, str, Path]:
    best = None
    for dataset in catalogue.datasets()[0]:
        for item in dataset.resources:
            if best is None or item.bytes > best[0]:
                best = (item.bytes, dataset.name, item.name, catalogue.find_file(dataset, item))
    assert best is not None and best[3] is not None
    return best[1], best[2], best[3]


def pandas_population(path: Path) -> pd.DataFrame:
    counts = [f"{sex}{i}" for i in range(1, 19) for sex in ("man", "woman")]
    counts += ["totalPopulation", "male", "woman", "numberOfHouseholds"]
    frame = pd.read_csv(
        path,
        encoding="utf-8",
        thousands=",",
        skipinitialspace=True,
        na_values=["-", "- ", " - "],
        keep_default_na=False,
        dtype={"prefCode": str, "regionCode": str, "note": str, "location": str},
        parse_dates=["surveyDate"],
        date_format="%m/%d/%y",
    )
    frame[counts] = frame[counts].fillna(0).astype("Int64")  # "-" means zero in this file
    return frame


def pandas_history(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(
            path, encoding="utf-8", dtype={"ID": str, "町字ID": str, "電話番号": str}
        )
        frame.insert(0, "ファイル", path.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def best_ms(func, number: int, repeat: int = 7) -> float:
    """The best of `repeat` rounds (as timeit advises: the others measure the machine's load)."""
    func()  # warm up: imports, catalogue cache
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1000


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        catalogue = catalogue_with_data(Path(workdir))
        name, resource, path = largest_file(catalogue)
        history = catalogue.get("nanao-shelters")
        history_paths = [
            catalogue.find_file(history, item)
            for item in history.resources
            if item.name.startswith("history-")
        ]

        ours = load(name, resource, catalogue=catalogue)
        theirs = pandas_population(path)
        assert ours["totalPopulation"].sum() == theirs["totalPopulation"].sum()

        rows = [
            (
                f"{name}/{path.name} ({path.stat().st_size / 1024:.0f} KiB)",
                best_ms(lambda: load(name, resource, catalogue=catalogue), 20),
                best_ms(lambda: pandas_population(path), 20),
            ),
            (
                "  same file, bare pandas.read_csv (floats for counts, no fix-ups)",
                best_ms(lambda: load(name, resource, catalogue=catalogue), 20),
                best_ms(
                    lambda: pd.read_csv(
                        path, thousands=",", skipinitialspace=True, na_values=["-", "- ", " - "]
                    ),
                    20,
                ),
            ),
            (
                f"nanao-shelters/history-* ({len(history_paths)} files)",
                best_ms(lambda: load("nanao-shelters", "history-*", catalogue=catalogue), 1, 5),
                best_ms(lambda: pandas_history(history_paths), 1, 5),
            ),
        ]
    width = max(len(row[0]) for row in rows)
    print(f"{'case':<{width}}  {'load()':>9}  {'pandas':>9}  {'ratio':>6}")
    for label, mine, plain in rows:
        print(f"{label:<{width}}  {mine:>6.1f} ms  {plain:>6.1f} ms  {mine / plain:>5.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
