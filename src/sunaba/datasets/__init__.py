"""Japanese open data for learners: a catalogue, a loader and the helpers real files need.

Importable in a learner's kernel (only pandas and PyYAML are imported):

    from sunaba.datasets import load, read_csv_ja, normalize_text, parse_wareki
    df = load("takamatsu-facilities", "aed-location")

`load` finds datasets in SUNABA_DATASETS_PATH, then `{prefix}/share/datasets` (read-only in
every sandbox), then the checkout's `datasets/`.
"""

from sunaba.datasets.catalogue import Catalogue, Dataset, Resource, search_path
from sunaba.datasets.csvio import detect_encoding, read_csv_ja
from sunaba.datasets.errors import (
    CatalogueError,
    DatasetError,
    EncodingError,
    FetchError,
    LgCodeError,
    WarekiError,
)
from sunaba.datasets.lgcode import is_valid_lg_code, lg_code_check_digit, validate_lg_code
from sunaba.datasets.loader import load
from sunaba.datasets.standards import standard_names
from sunaba.datasets.tableschema import Schema
from sunaba.datasets.text import normalize_text
from sunaba.datasets.validate import validate
from sunaba.datasets.wareki import FiscalYear, parse_wareki, to_wareki

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Dataset",
    "DatasetError",
    "EncodingError",
    "FetchError",
    "FiscalYear",
    "LgCodeError",
    "Resource",
    "Schema",
    "WarekiError",
    "detect_encoding",
    "is_valid_lg_code",
    "lg_code_check_digit",
    "load",
    "normalize_text",
    "parse_wareki",
    "read_csv_ja",
    "search_path",
    "standard_names",
    "to_wareki",
    "validate",
    "validate_lg_code",
]
