"""The wire of Sunaba's fork servers (the zygote and the kernel forkserver): one request per
connection over a Unix socket, each message a 4-byte big-endian length and that much JSON."""

from __future__ import annotations

import json
import socket
import struct


def send(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message).encode()
    sock.sendall(struct.pack("!I", len(data)) + data)


def receive(sock: socket.socket, limit: int = 1 << 20) -> dict:
    header = _read_exact(sock, 4)
    (length,) = struct.unpack("!I", header)
    if length > limit:
        raise ValueError("request too large")
    return json.loads(_read_exact(sock, length))


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return chunks


def ask(socket_path: str, request: dict, timeout: float) -> dict:
    """One request and its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        send(sock, request)
        return receive(sock)
