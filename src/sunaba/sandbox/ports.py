"""Whose socket listens on a learner's server port.

Learners' servers share the host's network namespace and its loopback ports. The hub picks a
port, tells the server to listen there and, stock, waits until something answers HTTP on it:
it never asks who answers. A learner who holds that port (bound before the server, or grabbed in
the moment between the hub's pick and the server's bind) makes the server fail to bind (the
hub then waited until its HTTP timeout) or, worse, answers in its place and is handed the other
learner's traffic. The spawner therefore waits until the listening socket on the port is held
by a process of the server it started (found through the socket's inode in /proc/net/tcp and
the file descriptors of that process tree), and tries another port when the server could not
bind.

What this guarantees, and what it does not:
- The hub routes to a server's port only after every socket that would answer a connection to
  it (IPv4 and IPv6, the server's address or a wildcard) is held by the server's own processes
  and, with `full` isolation, was made by the learner's own uid. From then on no other uid can
  listen there while the server lives: Linux refuses a second listener on an address and port
  (SO_REUSEPORT shares one only among sockets of one uid).
- A port held before the spawn is skipped without starting anything (`can_listen`); one taken
  in the moment between that look and the server's bind costs a failed start and a try on the
  next port. A spawn that runs out of ports fails at once with a Japanese message instead of
  waiting for the hub's HTTP timeout.
- With `full` isolation each server listens on its learner's own loopback address
  (addresses.py), and the network policy lets only that uid's sockets send from it: a
  process that listens there after the server died (the route stays until the hub's next
  poll, 30 s by default) never completes a connection. Without the policy installed, or under
  the `bubblewrap` level where all servers share the hub's uid, only the check above applies.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"
TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
WILDCARDS = {"0.0.0.0", "::"}  # noqa: S104 (read from /proc, never bound)


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    uid: int
    inode: int


def _address(hex_address: str) -> str:
    """/proc/net/tcp's address (host byte order per 32-bit word) as text."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
    data = b"".join(words)
    if len(data) == 4:
        return ".".join(str(b) for b in data)
    if data[:12] == b"\0" * 10 + b"\xff\xff":  # IPv4-mapped
        return ".".join(str(b) for b in data[12:])
    return str(ipaddress.IPv6Address(data))


def listeners(port: int, tables: tuple[str, ...] = TABLES) -> list[Listener]:
    """Every listening TCP socket on `port` in this network namespace."""
    found = []
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            hex_address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) != port:
                continue
            found.append(Listener(_address(hex_address), port, int(fields[7]), int(fields[9])))
    return found


def socket_inodes(pids: set[int]) -> set[int]:
    """Inodes of the sockets the processes `pids` hold open."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd.path)
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    return inodes


def reaches(listener: Listener, ip: str) -> bool:
    """Whether a connection to (ip, port) could land on this listener."""
    return ip in WILDCARDS or listener.address in WILDCARDS or listener.address == ip


def port_owner(port: int, ip: str, pids: set[int] | Callable[[], set[int]], uid: int | None) -> str:
    """'ours' when every socket that would answer on (ip, port) belongs to `pids` (and to `uid`
    when given); 'foreign' when ours and another's both listen; 'theirs' when only another's
    does; 'none' when nothing listens yet. `pids` may be a function: the processes are looked
    up only once something listens (a look through /proc costs more than the port table, and
    a spawner asks many times while its server starts)."""
    answering = [item for item in listeners(port) if reaches(item, ip)]
    if not answering:
        return "none"
    mine = socket_inodes(pids() if callable(pids) else pids)
    own = [item for item in answering if item.inode in mine and uid in (None, item.uid)]
    if len(own) == len(answering):
        return "ours"
    return "foreign" if own else "theirs"


AVOID_SECONDS = 300.0


def range_candidate(low: int, high: int, skip: set[int], failed: dict[int, float]) -> int:
    """The first port of [low, high] not in `skip`, those that failed within AVOID_SECONDS
    (monotonic times in `failed`) last; 0 when none is left."""
    now = time.monotonic()
    free = [p for p in range(low, high + 1) if p not in skip]
    recent = [p for p in free if now - failed.get(p, -AVOID_SECONDS) < AVOID_SECONDS]
    return next((p for p in free if p not in recent), recent[0] if recent else 0)


def can_listen(ip: str, port: int) -> bool:
    """Whether a socket could listen on (ip, port) now, bound as the server binds (with
    SO_REUSEADDR). Only a hint: the port may be taken a moment later, which the check of the
    listening socket's owner catches."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
            sock.listen(1)
        except OSError:
            return False
    return True


def process_tree(pid: int) -> set[int]:
    """`pid` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in tree:
            tree.add(current)
            todo.extend(children.get(current, []))
    return tree


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has exited: its parent has not collected it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
