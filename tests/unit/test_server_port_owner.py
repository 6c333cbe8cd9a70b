"""Whose socket listens on a port, read from /proc: the spawner's check before a server's port
is routed to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time

from sunaba.sandbox.ports import (
    can_listen,
    listeners,
    port_owner,
    process_tree,
    range_candidate,
    socket_inodes,
)

HOLDER = textwrap.dedent(
    """
    import socket, sys, time
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((sys.argv[1], 0))
    sock.listen()
    print(sock.getsockname()[1], flush=True)
    time.sleep(600)
    """
)


def _listening(address: str = "127.0.0.1", family=socket.AF_INET) -> socket.socket:
    sock = socket.socket(family)
    sock.bind((address, 0))
    sock.listen()
    return sock


def test_listener_is_found_with_its_owner_and_inode():
    with _listening() as sock:
        port = sock.getsockname()[1]
        found = listeners(port)
        assert [(item.address, item.uid) for item in found] == [("127.0.0.1", os.geteuid())]
        assert found[0].inode in socket_inodes({os.getpid()})
        assert port_owner(port, "127.0.0.1", {os.getpid()}, os.geteuid()) == "ours"
        # Owned by this process but not by the uid asked for: not ours.
        assert port_owner(port, "127.0.0.1", {os.getpid()}, os.geteuid() + 1) == "theirs"
        # Another address on the port would not answer a connection to 127.0.0.1.
        assert port_owner(port, "127.0.0.2", {os.getpid()}, None) == "none"
    assert listeners(port) == []


def test_ipv6_and_wildcard_listeners_are_read():
    with _listening("::1", socket.AF_INET6) as sock:
        port = sock.getsockname()[1]
        assert [item.address for item in listeners(port)] == ["::1"]
    with _listening("0.0.0.0") as sock:  # noqa: S104 (a wildcard listener is what is tested)
        port = sock.getsockname()[1]
        assert port_owner(port, "127.0.0.1", {os.getpid()}, None) == "ours"


def test_another_process_socket_is_theirs_and_beside_ours_is_foreign():
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "127.0.0.1"], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(holder.stdout.readline())
        assert port_owner(port, "127.0.0.1", {os.getpid()}, None) == "theirs"
        assert port_owner(port, "127.0.0.1", process_tree(holder.pid), None) == "ours"
        assert holder.pid in process_tree(os.getpid())
        # A second socket on the same port and address, of this process (SO_REUSEPORT, which
        # only one uid can share).
        with socket.socket() as other:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            other.bind(("127.0.0.1", port))
            other.listen()
            assert port_owner(port, "127.0.0.1", {os.getpid()}, None) == "foreign"
    finally:
        holder.kill()
        holder.wait()


def test_a_held_port_cannot_be_listened_on_and_a_free_one_can():
    with socket.socket() as bound:  # bound, not listening: still held
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        assert not can_listen("127.0.0.1", port)
    assert can_listen("127.0.0.1", port)
    with _listening() as sock:
        assert not can_listen("127.0.0.1", sock.getsockname()[1])


def test_ports_of_a_range_in_order_recent_failures_last():
    failed = {5001: time.monotonic(), 5003: time.monotonic() - 10_000}
    assert range_candidate(5000, 5004, {5000}, failed) == 5002
    assert range_candidate(5000, 5004, {5000, 5002, 5003, 5004}, failed) == 5001
    assert range_candidate(5000, 5001, {5000, 5001}, failed) == 0


def test_processes_are_looked_up_only_once_something_listens():
    asked = []

    def pids():
        asked.append(1)
        return {os.getpid()}

    with _listening() as sock:
        port = sock.getsockname()[1]
        assert port_owner(port, "127.0.0.1", pids, os.geteuid()) == "ours"
        assert asked == [1]
    assert port_owner(port, "127.0.0.1", pids, os.geteuid()) == "none"
    assert asked == [1]
