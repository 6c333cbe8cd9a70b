"""A test certificate made with openssl, and a real nginx run from a temporary prefix."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path


def make_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


class Nginx:
    """nginx with a main config of its own (pid, logs and temp files under `root`) that includes
    the rendered site file inside its `http` block, as /etc/nginx/nginx.conf includes conf.d."""

    def __init__(self, root: Path, site_file: Path):
        self.root = root
        self.conf = root / "nginx.conf"
        temp = "\n".join(
            f"    {kind}_temp_path {root / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf.write_text(
            f"pid {root / 'nginx.pid'};\n"
            f"error_log {root / 'error.log'} info;\n"
            "worker_processes 1;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {root / 'access.log'};\n"
            f"{temp}\n"
            f"    include {site_file};\n"
            "}\n"
        )
        self.proc: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return ["nginx", "-p", str(self.root), "-c", str(self.conf), *extra]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True)

    def start(self, port: int) -> None:
        self.proc = subprocess.Popen(
            self.command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "wb"),  # noqa: SIM115 (closed with nginx)
        )
        wait_port(port)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the master waits for its workers
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""
