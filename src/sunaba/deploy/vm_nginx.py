"""nginx in front of the hub's proxy: TLS, HTTP redirected, websockets, upload limit.

The file goes into /etc/nginx/conf.d/ and is included inside nginx's `http` block.
"""

from __future__ import annotations

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.state import StatePaths
from sunaba.deploy.rendered import RenderedFile, comment_header

NGINX_PATH = "nginx/sunaba.conf"


def _listen(address: str, port: int, extra: str = "") -> list[str]:
    suffix = f" {extra}" if extra else ""
    if address:
        host = f"[{address}]" if ":" in address else address
        return [f"    listen {host}:{port}{suffix};"]
    return [f"    listen {port}{suffix};", f"    listen [::]:{port}{suffix};"]


def upload_limit(config: SiteConfig) -> str:
    """nginx's body limit: never below what the exchange accepts for one submission."""
    limits = [config.deploy.vm.max_upload_size]
    courses = getattr(config, "courses", None)
    submission = getattr(courses, "max_submission_size", None)
    if submission:
        limits.append(submission.strip().upper().removesuffix("IB").removesuffix("B"))
    biggest = max(limits, key=parse_size)
    return str(parse_size(biggest)) if "." in biggest else biggest


def render_nginx(config: SiteConfig) -> RenderedFile:
    vm = config.deploy.vm
    server_name = config.deploy.server_name or "_"
    port_suffix = "" if vm.https_port == 443 else f":{vm.https_port}"
    upstream = f"http://127.0.0.1:{config.hub.port}"
    lines = [
        comment_header().rstrip(),
        "",
        "# Websocket upgrades for kernels and terminals; plain keep-alive otherwise.",
        "map $http_upgrade $sunaba_connection_upgrade {",
        "    default upgrade;",
        "    ''      close;",
        "}",
        "",
        "server {",
        *_listen(vm.listen_address, vm.http_port),
        f"    server_name {server_name};",
        "    location / {",
        f"        return 301 https://$host{port_suffix}$request_uri;",
        "    }",
        "}",
        "",
        "server {",
        *_listen(vm.listen_address, vm.https_port, "ssl"),
        f"    server_name {server_name};",
        f"    ssl_certificate {vm.tls_certificate};",
        f"    ssl_certificate_key {vm.tls_certificate_key};",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        "    ssl_prefer_server_ciphers off;",
        "    ssl_session_cache shared:sunaba_tls:10m;",
        "    ssl_session_timeout 1d;",
        '    add_header Strict-Transport-Security "max-age=63072000" always;',
        '    add_header X-Content-Type-Options "nosniff" always;',
        "    # Notebook uploads and exchange submissions pass through here.",
        f"    client_max_body_size {upload_limit(config)};",
        "",
        "    location / {",
        f"        proxy_pass {upstream};",
        "        proxy_http_version 1.1;",
        # $http_host keeps the port: Jupyter compares the websocket Origin with Host.
        "        proxy_set_header Host $http_host;",
        "        proxy_set_header X-Real-IP $remote_addr;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "        proxy_set_header Upgrade $http_upgrade;",
        "        proxy_set_header Connection $sunaba_connection_upgrade;",
        "        # Kernels stay connected for hours; responses stream (no buffering).",
        "        proxy_read_timeout 1h;",
        "        proxy_send_timeout 1h;",
        "        proxy_buffering off;",
        "    }",
        "}",
        "",
    ]
    return RenderedFile(NGINX_PATH, "\n".join(lines))


def render_logrotate(config: SiteConfig) -> RenderedFile:
    logs = StatePaths.from_config(config).log_dir
    lines = [
        comment_header().rstrip(),
        f"{logs}/*.log {{",
        "    daily",
        f"    rotate {config.deploy.vm.log_keep_days}",
        "    missingok",
        "    notifempty",
        "    compress",
        "    delaycompress",
        # The hub keeps its log open: copy and truncate instead of asking it to reopen.
        "    copytruncate",
        "    su root root",
        "    create 0600 root root",
        "}",
        "",
    ]
    return RenderedFile("logrotate/sunaba", "\n".join(lines))
