"""What every site config section shares: unknown keys are errors, sizes are checked."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]?i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _valid_size(value: str) -> str:
    if not _SIZE.match(value.strip()):
        raise ValueError("512M、1G、1.5GiB のような大きさで書いてください")
    return value


# A size written as text ("512M", "2G", "1.5GiB"), checked when the config is read.
Size = Annotated[str, AfterValidator(_valid_size)]


def parse_size(text: str | int) -> int:
    """Turn '512M', '2G' or '1.5GiB' into bytes; ints are taken as bytes."""
    if isinstance(text, int):
        return text
    cleaned = text.strip().upper().replace("IB", "").replace("B", "")
    number = cleaned.rstrip("KMGT")
    unit = cleaned[len(number) :]
    return int(float(number) * _UNITS[unit])
