"""The wire format: values survive the trip, nothing but data formats is ever read."""

from __future__ import annotations

import base64
import datetime
import json
import pickle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from sunaba.checks.wire import AnswerRefused, Figure, decode_answer, encode_answer  # noqa: E402


def trip(value):
    return decode_answer(json.loads(json.dumps(encode_answer(value), allow_nan=False)))


def test_scalars_and_containers():
    value = {"a": [1, 2.5, "三", None, True], "b": {"c": float("inf")}}
    assert trip(value) == value
    assert trip((1, 2)) == [1, 2]
    assert trip(np.int64(3)) == 3
    assert trip(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert np.isnan(trip(float("nan")))
    assert trip([datetime.date(2019, 5, 1)]) == [datetime.date(2019, 5, 1)]
    assert trip(datetime.datetime(2024, 4, 1, 9, 30)) == datetime.datetime(2024, 4, 1, 9, 30)
    with pytest.raises(AnswerRefused, match="日付"):
        decode_answer({"kind": "json", "value": {"$date": "令和"}})


def test_dataframe_and_series_through_arrow():
    frame = pd.DataFrame(
        {"市": ["甲", "乙"], "人口": [1, 2], "日": pd.to_datetime(["2024-04-01", "2024-05-01"])},
        index=[10, 20],
    )
    pd.testing.assert_frame_equal(trip(frame), frame)
    series = pd.Series([1.5, 2.5], name="率")
    back = trip(series)
    pd.testing.assert_series_equal(back, series)
    assert encode_answer(frame)["kind"] == "dataframe"


def test_figure_is_described_not_pickled():
    figure, axes = plt.subplots()
    axes.bar(["a", "b"], [3, 4])
    axes.set_title("人口")
    described = trip(figure)
    assert isinstance(described, Figure)
    assert described.axes[0]["bars"] == [3.0, 4.0]
    assert described.axes[0]["title"] == "人口"
    assert trip(axes).axes[0]["title"] == "人口"
    plt.close(figure)


def test_unknown_objects_are_refused_in_japanese():
    with pytest.raises(AnswerRefused, match="この種類の値"):
        encode_answer(object())
    with pytest.raises(AnswerRefused, match="キーは文字列"):
        encode_answer({1: 2})


class Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickle_is_never_read():
    blob = base64.b64encode(pickle.dumps(Boom())).decode()
    for answer in ({"kind": "pickle", "data": blob}, {"kind": "dataframe", "arrow": blob}):
        with pytest.raises(AnswerRefused):
            decode_answer(answer)
    with pytest.raises(AnswerRefused, match="pickle"):
        decode_answer({"kind": "pickle", "data": blob})


def test_malformed_answers():
    for answer in (None, [], {"kind": 3}, {"kind": "figure", "value": []}, {"kind": "series"}):
        with pytest.raises(AnswerRefused):
            decode_answer(answer)


def test_arrow_extension_types_are_refused():
    class Secretive(pa.ExtensionType):
        def __init__(self):
            super().__init__(pa.int64(), "test.secretive")

        def __arrow_ext_serialize__(self):
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    pa.register_extension_type(Secretive())
    try:
        storage = pa.array([1, 2])
        table = pa.table({"x": pa.ExtensionArray.from_storage(Secretive(), storage)})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        text = base64.b64encode(sink.getvalue().to_pybytes()).decode()
        with pytest.raises(AnswerRefused, match="読めない種類の列"):
            decode_answer({"kind": "dataframe", "arrow": text})
    finally:
        pa.unregister_extension_type("test.secretive")


@pytest.mark.parametrize("codec", ["zstd", "lz4"])
def test_compressed_arrow_is_refused_before_it_is_unpacked(codec):
    # A small fraction of the 80 MB it would unpack to: refused from the batch's metadata alone.
    table = pa.table({"zeros": pa.array(np.zeros(10_000_000, dtype=np.int64))})
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=codec)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    packed = sink.getvalue().to_pybytes()
    assert len(packed) < 1_000_000
    text = base64.b64encode(packed).decode()
    with pytest.raises(AnswerRefused, match="圧縮された表のデータ"):
        decode_answer({"kind": "dataframe", "arrow": text})


def test_dictionary_columns_still_pass():
    frame = pd.DataFrame({"区分": pd.Categorical(["避難所", "避難場所"] * 50)})
    assert trip(frame).equals(frame)
