"""Which throwaway grading uids each install on this machine uses, so two never share one.

Grading sandboxes run submissions as uids no account holds (`grading.sandbox_uid_base` and up).
Two installs on one machine (another prefix and state dir) with the same base would run their
submissions as the same uids: one install's process limit (an rlimit on the uid) would count
the other's processes, and a sandbox of one could signal a sandbox of the other. Each install
therefore claims its range in a small root-owned registry, one tab-separated line per install:

    <first uid> <last uid> <state dir> <prefix>

keyed by the state dir, and a claim that overlaps another install's range is refused with a
message naming both installs and the key to change. An install whose state dir no longer exists
has been removed: its line is dropped at the next claim. `sunaba uid-ranges release` frees one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sunaba.config.schema import SiteConfig

REGISTRY = Path("/etc/sunaba/uid-ranges")
REGISTRY_ENV = "SUNABA_UID_REGISTRY"  # another registry file (tests)
CONFIG_KEY = "grading.sandbox_uid_base"
# Two uids per CLI worker (at most 256 workers), and as many again from `base + 512` for the
# formgrader's single runs (grading.backends.FORMGRADER_UID_OFFSET).
GRADING_UID_SPAN = 4 * 256
UID_CEILING = 4_000_000_000  # the schema's upper bound for the base


class UidRangeConflict(RuntimeError):
    """The range overlaps another install's (message in Japanese)."""


@dataclass(frozen=True)
class Claim:
    first: int
    last: int
    state_dir: str
    prefix: str

    def overlaps(self, other: Claim) -> bool:
        return self.first <= other.last and other.first <= self.last

    def line(self) -> str:
        return f"{self.first}\t{self.last}\t{self.state_dir}\t{self.prefix}\n"


def registry_path(registry: Path | None = None) -> Path:
    return registry or Path(os.environ.get(REGISTRY_ENV) or REGISTRY)


def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def grading_uid_range(config: SiteConfig) -> range:
    """Every uid the install's grading sandboxes may run as."""
    base = config.grading.sandbox_uid_base
    return range(base, base + GRADING_UID_SPAN)


def claim_for(config: SiteConfig) -> Claim:
    uids = grading_uid_range(config)
    return Claim(
        uids.start,
        uids.stop - 1,
        _resolved(config.hub.state_dir),
        _resolved(config.hub.prefix),
    )


def _parse(text: str) -> list[Claim]:
    claims = []
    for raw in text.splitlines():
        parts = raw.split("\t", 3)
        if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
            continue  # a line no install wrote: ignored, and dropped at the next write
        claims.append(Claim(int(parts[0]), int(parts[1]), parts[2], parts[3]))
    return claims


@contextlib.contextmanager
def _locked(registry: Path) -> Iterator[int]:
    """The registry open read-write under an exclusive flock (created root-only if missing)."""
    registry.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(registry, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _read(fd: int) -> list[Claim]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return _parse(b"".join(chunks).decode("utf-8", "replace"))


def _write(fd: int, claims: list[Claim]) -> None:
    data = "".join(c.line() for c in sorted(claims, key=lambda c: c.first)).encode()
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
    os.fsync(fd)


def read_claims(registry: Path | None = None) -> list[Claim]:
    try:
        return _parse(registry_path(registry).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def free_base(claims: list[Claim], span: int = GRADING_UID_SPAN) -> int | None:
    """A base whose range overlaps none of `claims`: just past the highest one that fits."""
    base = max((c.last + 1 for c in claims), default=UID_CEILING - span)
    base = -(-base // 1000) * 1000  # a round number, easier to type
    if base + span - 1 <= UID_CEILING:
        return base
    base = min(c.first for c in claims) - span
    base -= base % 1000
    return base if base >= 100_000 else None


def conflict_message(mine: Claim, other: Claim, suggestion: int | None) -> str:
    hint = f"（例えば {suggestion}）" if suggestion is not None else ""
    return (
        f"採点用の uid の範囲 {mine.first}〜{mine.last} は、このマシンの別の Sunaba "
        f"（状態フォルダ {other.state_dir}、ランタイム {other.prefix}）が使っている範囲 "
        f"{other.first}〜{other.last} と重なります。このままでは二つのインストールの採点が同じ "
        f"uid で動き、互いのプロセス数の上限や採点を妨げます。このインストール（状態フォルダ "
        f"{mine.state_dir}）の設定 {CONFIG_KEY} を、重ならない値{hint}に変えてください。"
        f"使われなくなったインストールの範囲は `sunaba uid-ranges release "
        f"{other.state_dir}` で解放できます"
    )


def claim_uid_range(config: SiteConfig, registry: Path | None = None) -> Claim:
    """Record the install's grading uid range; UidRangeConflict if another install's overlaps.
    Installs whose state dir is gone are dropped; the install's own earlier line is replaced."""
    mine = claim_for(config)
    with _locked(registry_path(registry)) as fd:
        kept = [
            c for c in _read(fd) if c.state_dir != mine.state_dir and Path(c.state_dir).is_dir()
        ]
        for other in kept:
            if other.overlaps(mine):
                raise UidRangeConflict(conflict_message(mine, other, free_base(kept)))
        _write(fd, [*kept, mine])
    return mine


def check_uid_range(config: SiteConfig, registry: Path | None = None) -> None:
    """Without writing (a process that is not root): UidRangeConflict on an overlap."""
    mine = claim_for(config)
    others = [c for c in read_claims(registry) if c.state_dir != mine.state_dir]
    for other in others:
        if other.overlaps(mine) and Path(other.state_dir).is_dir():
            raise UidRangeConflict(conflict_message(mine, other, free_base(others)))


def ensure_uid_range(config: SiteConfig, registry: Path | None = None) -> None:
    """Claim as root, check only otherwise (the registry is root's to write). Grading pods
    (`grading.backend: kubernetes`) run as no host uid: nothing to claim."""
    if config.grading.backend == "kubernetes":
        return
    if os.geteuid() == 0:
        claim_uid_range(config, registry)
    else:
        check_uid_range(config, registry)


def release_uid_range(state_dir: str, registry: Path | None = None) -> bool:
    """Free the range of the install with `state_dir`; whether it had one."""
    if not registry_path(registry).exists():
        return False
    key = _resolved(state_dir)
    with _locked(registry_path(registry)) as fd:
        claims = _read(fd)
        kept = [c for c in claims if c.state_dir != key]
        if len(kept) == len(claims):
            return False
        _write(fd, kept)
    return True
