"""How an answer travels from a learner's kernel to the check service, and back into a value.

Only data formats that cannot run code: JSON for scalars and containers, Arrow IPC for pandas
DataFrames and Series, a JSON description for matplotlib figures. Never pickle. The encoder runs
inside learners' kernels, so heavy libraries are imported only when the answer already is one of
their objects.
"""

from __future__ import annotations

import base64
import datetime
import math
import struct
import sys

FORMAT = "sunaba-check/1"
JSON_KINDS = (type(None), bool, int, float, str)


class AnswerRefused(ValueError):
    """The answer cannot be sent or read; the message is Japanese, for the learner."""


def _type_name(value) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _is_figure(value) -> bool:
    matplotlib = sys.modules.get("matplotlib.figure")
    axes = sys.modules.get("matplotlib.axes")
    return bool(
        (matplotlib and isinstance(value, matplotlib.Figure))
        or (axes and isinstance(value, axes.Axes))
    )


def _plain(value, depth: int = 0):
    """A JSON-ready copy of scalars and containers (numpy scalars and arrays included)."""
    if depth > 50:
        raise AnswerRefused("答えの入れ子が深すぎます")
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    if isinstance(value, JSON_KINDS):
        return value
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise AnswerRefused("辞書のキーは文字列にしてください")
        return {key: _plain(item, depth + 1) for key, item in value.items()}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)):
        return _plain(value.tolist(), depth + 1)
    raise AnswerRefused(
        f"この種類の値（{_type_name(value)}）は確かめられません。"
        "数値、文字列、リスト、辞書、DataFrame、Series、グラフを渡してください"
    )


def describe_figure(value) -> dict:
    """What a grader may look at in a figure: kind of marks, their data, titles and labels."""
    axes_module = sys.modules.get("matplotlib.axes")
    is_axes = axes_module is not None and isinstance(value, axes_module.Axes)
    axes_list = [value] if is_axes else list(value.axes)
    described = []
    for axes in axes_list:
        bars = [p for p in axes.patches if type(p).__name__ == "Rectangle"]
        described.append(
            {
                "title": axes.get_title(),
                "xlabel": axes.get_xlabel(),
                "ylabel": axes.get_ylabel(),
                "lines": [
                    {
                        # Unit-converted data: dates and category labels become numbers.
                        "x": _plain([float(x) for x in line.get_xdata(orig=False)]),
                        "y": _plain([float(y) for y in line.get_ydata(orig=False)]),
                        "label": str(line.get_label()),
                    }
                    for line in axes.get_lines()
                ],
                "bars": [_plain(float(bar.get_height())) for bar in bars],
                "xticklabels": [t.get_text() for t in axes.get_xticklabels()],
            }
        )
    return {"axes": described}


def _arrow(frame) -> str:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=True)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def encode_answer(value) -> dict:
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        if not all(isinstance(c, str) for c in value.columns):
            value = value.rename(columns=str)
        return {"kind": "dataframe", "arrow": _arrow(value)}
    if pandas is not None and isinstance(value, pandas.Series):
        name = value.name if isinstance(value.name, str) else "__series__"
        return {
            "kind": "series",
            "name": _plain(value.name if isinstance(value.name, JSON_KINDS) else str(value.name)),
            "column": name,
            "arrow": _arrow(value.to_frame(name)),
        }
    if _is_figure(value):
        return {"kind": "figure", "value": describe_figure(value)}
    return {"kind": "json", "value": _plain(value)}


# -- reading (service side) ------------------------------------------------------------------


def _restore(value):
    if isinstance(value, dict):
        if set(value) == {"$float"}:
            return float(value["$float"])
        if set(value) == {"$date"}:
            return _parse(datetime.date, value["$date"])
        if set(value) == {"$datetime"}:
            return _parse(datetime.datetime, value["$datetime"])
        return {key: _restore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore(item) for item in value]
    return value


def _parse(kind, text):
    try:
        return kind.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise AnswerRefused("日付の形式が正しくありません") from exc


def _table_field(buffer: bytes, table: int, field: int) -> int | None:
    """Position of a flatbuffer table's field, or None when the field is absent."""
    vtable = table - struct.unpack_from("<i", buffer, table)[0]
    vtable_size = struct.unpack_from("<H", buffer, vtable)[0]
    entry = 4 + 2 * field
    if entry + 2 > vtable_size:
        return None
    offset = struct.unpack_from("<H", buffer, vtable + entry)[0]
    return table + offset if offset else None


def _child_table(buffer: bytes, position: int) -> int:
    return position + struct.unpack_from("<I", buffer, position)[0]


def _compressed(metadata: bytes, kind: str) -> bool:
    """Whether a record or dictionary batch says its body is compressed (Arrow's Message and
    RecordBatch flatbuffers: Message.header is field 2; RecordBatch.compression is field 3;
    DictionaryBatch.data, the RecordBatch, is field 1)."""
    message = _child_table(metadata, 0)
    header = _table_field(metadata, message, 2)
    if header is None:
        return False
    batch = _child_table(metadata, header)
    if kind == "dictionary batch":
        data = _table_field(metadata, batch, 1)
        if data is None:
            return False
        batch = _child_table(metadata, data)
    return _table_field(metadata, batch, 3) is not None


def _refuse_compressed(raw: bytes) -> None:
    """A compressed body could unpack to far more than the size limit allows (a few kilobytes
    of zstd can hold gigabytes of zeros). The learner-side encoder never compresses."""
    import pyarrow as pa

    for message in pa.ipc.MessageReader.open_stream(raw):
        if message.type in ("record batch", "dictionary batch") and _compressed(
            message.metadata.to_pybytes(), message.type
        ):
            raise AnswerRefused("圧縮された表のデータは受け付けていません")


def _read_arrow(text) -> object:
    import pyarrow as pa

    if not isinstance(text, str):
        raise AnswerRefused("表のデータが読めません")
    try:
        raw = base64.b64decode(text, validate=True)
        _refuse_compressed(raw)
        with pa.ipc.open_stream(raw) as reader:
            # Extension types may carry serialised Python objects: only plain Arrow types.
            if any(isinstance(f.type, pa.ExtensionType) for f in reader.schema):
                raise AnswerRefused("表に読めない種類の列があります")
            table = reader.read_all()
        return table.to_pandas()
    except AnswerRefused:
        raise
    except Exception as exc:
        raise AnswerRefused("表のデータが壊れています（Arrow 形式として読めません）") from exc


def decode_answer(answer) -> object:
    if not isinstance(answer, dict) or not isinstance(answer.get("kind"), str):
        raise AnswerRefused("答えの形式が正しくありません")
    kind = answer["kind"]
    if kind == "json":
        return _restore(answer.get("value"))
    if kind == "dataframe":
        return _read_arrow(answer.get("arrow"))
    if kind == "series":
        frame = _read_arrow(answer.get("arrow"))
        column = answer.get("column")
        if column not in frame.columns:
            raise AnswerRefused("Series のデータが壊れています")
        series = frame[column]
        series.name = answer.get("name")
        return series
    if kind == "figure":
        value = answer.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("axes"), list):
            raise AnswerRefused("グラフの説明が正しくありません")
        return Figure(value)
    raise AnswerRefused(
        f"答えの種類「{str(kind)[:40]}」は受け付けていません（pickle は使えません）"
    )


class Figure(dict):
    """A figure as the service sees it: its JSON description."""

    @property
    def axes(self) -> list[dict]:
        return self["axes"]
