"""Errors a learner may see. Messages are Japanese and name the file, row and column.

Every error raised for bad input derives from `DatasetError`. In a notebook, IPython calls
`_render_traceback_` and shows only the message: a learner never sees a Python traceback for a
problem in the data.
"""

from __future__ import annotations

from pathlib import Path


class DatasetError(Exception):
    """A problem with a dataset, a file or a value, explained in Japanese."""

    label = "データの問題"

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ):
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self.render())

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"{self.row}行目")
        if self.column is not None:
            parts.append(f"列「{self.column}」")
        return "・".join(parts)

    def render(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of a traceback.
        return [f"\x1b[1;31m{type(self).__name__}（{self.label}）\x1b[0m", self.render()]


class EncodingError(DatasetError):
    label = "文字コードの問題"


class WarekiError(DatasetError, ValueError):
    label = "和暦の問題"


class LgCodeError(DatasetError, ValueError):
    label = "全国地方公共団体コードの問題"


class CatalogueError(DatasetError):
    label = "カタログの問題"


class FetchError(DatasetError):
    label = "ダウンロードの問題"
