"""Where learners' processes may connect on one machine: one nftables table per install. Here:
the facts its rules (`firewall_rules`) depend on, gathered from the config and this machine, and
the table installed, kept up to date and removed with nft. The ports of Sunaba's services are
given by the caller (`sunaba.runtime.firewall_ports`): the areas that run them know them.

The table's set of sandbox uids (learners, showcase apps and the thumbnail renderer that runs as
them, course graders running the formgrader) is filled from the accounts when the rules are
installed and again whenever an account is ensured; the site's `network.allow` and
`network.internet` decide what else those uids may reach.

Kernels of a learner's server talk to it over Unix sockets (`ipc`), never loopback TCP, so
refusing loopback leaves them working (see `KERNEL_CONFIG`).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.messages import BilingualError, Text
from sunaba.sandbox.addresses import server_owners
from sunaba.sandbox.firewall_rules import Allowed, Facts, render

NFT = "nft"
# Never an account: the uid `sunaba doctor` and `sunaba up` test the rules with.
PROBE_UID = 4_199_999_999
_STATE_DIR = re.compile(r'comment ".*\(state dir (.+)\)"')
# jupyter_client config read by every Jupyter application in a learner's server (the server,
# nbgrader's validate, nbconvert): kernels listen on Unix sockets in the private runtime dir.
KERNEL_CONFIG = {"KernelManager": {"transport": "ipc"}}
KERNEL_RUNTIME_DIR = "/tmp/.jupyter-runtime"


class FirewallError(BilingualError, RuntimeError):
    """The rules cannot be installed; said to the admin in the site's language."""


NEEDS_ROOT = Text(
    "ファイアウォールのルールのインストールには root が必要です",
    "installing firewall rules needs root",
)
NO_NFT = Text(
    "nft が見つかりません（Debian パッケージ `nftables`）",
    "nft not found (Debian package `nftables`)",
)


# -- names --------------------------------------------------------------------------------


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def home_tag(home_root: str | Path) -> str:
    return _short_hash(str(Path(home_root)))


def table_name(config: SiteConfig) -> str:
    """`sunaba_<state dir>_<home root>`: one table per install; accounts are found by their
    home root (`register_uid`), which is all `ensure_sandbox_user` knows of its install."""
    state = _short_hash(str(Path(config.hub.state_dir).resolve()))
    return f"sunaba_{state}_{home_tag(config.sandbox.home_root)}"


def account_prefixes(config: SiteConfig) -> tuple[str, ...]:
    prefixes = [config.sandbox.user_prefix]
    if config.showcase.app_user_prefix:
        prefixes.append(config.showcase.app_user_prefix)
    return tuple(prefixes)


# -- facts --------------------------------------------------------------------------------


def sandbox_uids(config: SiteConfig) -> tuple[int, ...]:
    """Learners (`<prefix><name>`), graders (`<prefix>_<course>`) and apps of this install."""
    prefixes = account_prefixes(config)
    found = {e.pw_uid for e in pwd.getpwall() if e.pw_name.startswith(prefixes) and e.pw_uid}
    return tuple(sorted(found | {PROBE_UID}))


def resolvers(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    found = []
    with contextlib.suppress(OSError):
        for line in resolv_conf.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                with contextlib.suppress(ValueError):
                    found.append(str(ipaddress.ip_address(parts[1].split("%")[0])))
    return tuple(dict.fromkeys(found))


def allowed(config: SiteConfig) -> tuple[Allowed, ...]:
    """The allow-list with names looked up now; a name that does not resolve is an error."""
    found = []
    for entry in config.network.allow:
        ports = tuple(sorted(set(entry.ports)))
        try:
            networks = [str(ipaddress.ip_network(entry.host, strict=False))]
        except ValueError:
            try:
                infos = socket.getaddrinfo(entry.host, None, proto=socket.IPPROTO_TCP)
            except OSError as exc:
                raise FirewallError(
                    ja=f"network.allow: {entry.host} の名前を引けません",
                    en=f"network.allow: {entry.host} cannot be looked up",
                ) from exc
            networks = sorted({info[4][0] for info in infos})
        found += [Allowed(network, ports) for network in networks]
    return tuple(found)


def gather_facts(config: SiteConfig, service_ports: tuple[int, ...]) -> Facts:
    """The facts of this install's table; `service_ports` are the loopback ports of the hub and
    of the services learners' processes call."""
    return Facts(
        table=table_name(config),
        uids=sandbox_uids(config),
        service_ports=service_ports,
        resolvers=resolvers(),
        allowed=allowed(config),
        internet=config.network.internet,
        comment=f"Sunaba learners' network policy (state dir {Path(config.hub.state_dir).resolve()})",
    )


# -- the machine ----------------------------------------------------------------------------


def nft_path() -> str | None:
    """The nft program (`$SUNABA_NFT` names another one, for tests of a machine without it)."""
    wanted = os.environ.get("SUNABA_NFT", NFT)
    return shutil.which(wanted) or shutil.which(wanted, path="/usr/sbin:/sbin")


def unavailable() -> Text | None:
    """Why the rules cannot be installed here, or None."""
    if os.geteuid() != 0:
        return NEEDS_ROOT
    if nft_path() is None:
        return NO_NFT
    result = _nft("list", "tables")
    if result.returncode == 0:
        return None
    error = result.stderr.strip()
    return Text(f"ここでは nft が動きません: {error}", f"nft does not work here: {error}")


def _nft(*args: str, script: str | None = None, netns: str | None = None):
    nft = nft_path()
    if nft is None:
        raise FirewallError(ja=NO_NFT.ja, en=NO_NFT.en)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    if script is None:
        return subprocess.run([*prefix, nft, *args], capture_output=True, text=True, timeout=30)
    with tempfile.NamedTemporaryFile("w", suffix=".nft") as handle:
        handle.write(script)
        handle.flush()
        return subprocess.run(
            [*prefix, nft, *args, "-f", handle.name], capture_output=True, text=True, timeout=30
        )


def load(facts: Facts, netns: str | None = None) -> None:
    """Install the rendered table (in network namespace `netns` when given, for tests)."""
    result = _nft(script=render(facts), netns=netns)
    if result.returncode != 0:
        error = result.stderr.strip()
        raise FirewallError(
            ja=f"nft がルールを受け付けません: {error}", en=f"nft refused the rules: {error}"
        )


def prune_stale() -> list[str]:
    """Delete tables of installs whose state dir is gone (a run killed before it could remove
    them): their uids may be handed to new accounts. Tables of live installs stay."""
    removed = []
    for table in (t for t in _tables() if t.startswith("sunaba_")):
        found = _STATE_DIR.search(_nft("list", "table", "inet", table).stdout)
        gone = found and not Path(found.group(1)).exists()
        if gone and _nft("delete", "table", "inet", table).returncode == 0:
            removed.append(table)
    return removed


SYNCOOKIES = Path("/proc/sys/net/ipv4/tcp_syncookies")


def _always_syncookies(path: Path | None = None) -> bool:
    """Whether every handshake uses a SYN cookie: no socket then owns a server's SYN-ACK, and
    the rule that keeps learners' addresses their own would drop every connection."""
    with contextlib.suppress(OSError):
        return (path or SYNCOOKIES).read_text().strip() == "2"
    return False


def install(config: SiteConfig, service_ports: tuple[int, ...]) -> Facts:
    """Install (or replace) this install's table; raises FirewallError when it cannot."""
    if os.geteuid() != 0:
        raise FirewallError(ja=NEEDS_ROOT.ja, en=NEEDS_ROOT.en)
    if _always_syncookies():
        raise FirewallError(
            ja="net.ipv4.tcp_syncookies が 2（常に SYN cookie）です。受講者のサーバーに"
            "つながらなくなるため、1 にしてください（sysctl -w net.ipv4.tcp_syncookies=1）",
            en="net.ipv4.tcp_syncookies is 2 (always SYN cookies): learners' servers would be "
            "unreachable; set it to 1 (sysctl -w net.ipv4.tcp_syncookies=1)",
        )
    facts = gather_facts(config, service_ports)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
        prune_stale()
    write_kernel_config(Path(config.hub.prefix) / "venv")
    load(facts)
    return facts


def remove(config: SiteConfig) -> bool:
    """Delete this install's table; True if there was one."""
    with contextlib.suppress(FirewallError):
        return _nft("delete", "table", "inet", table_name(config)).returncode == 0
    return False


def installed(config: SiteConfig) -> bool:
    with contextlib.suppress(FirewallError, subprocess.TimeoutExpired):
        return _nft("list", "table", "inet", table_name(config)).returncode == 0
    return False


def _tables() -> list[str]:
    result = _nft("-j", "list", "tables", "inet")
    if result.returncode != 0:
        return []
    items = json.loads(result.stdout).get("nftables", [])
    return [i["table"]["name"] for i in items if "table" in i]


def _add_elements(table: str, uids) -> bool:
    """Add uids to a table's sets: the sandbox uids, and their server addresses."""
    owners = server_owners(uids)
    lines = [f"add element inet {table} sandbox_uids {{ {', '.join(map(str, uids))} }}"]
    if owners:
        addresses = ", ".join(a for a, _ in owners)
        pairs = ", ".join(f"{a} . {u}" for a, u in owners)
        lines.append(f"add element inet {table} server_addresses {{ {addresses} }}")
        lines.append(f"add element inet {table} server_owners {{ {pairs} }}")
    return _nft(script="\n".join(lines) + "\n").returncode == 0


def register_uid(uid: int, home_root: str | Path) -> int:
    """Add a sandbox account's uid (and its server address) to the table of every running
    install whose accounts live under `home_root` (idempotent); the number of tables it was
    added to. Does nothing where no rules are installed."""
    if os.geteuid() != 0 or nft_path() is None:
        return 0
    suffix = f"_{home_tag(home_root)}"
    added = 0
    with contextlib.suppress(FirewallError, subprocess.TimeoutExpired, ValueError):
        for table in _tables():
            if table.startswith("sunaba_") and table.endswith(suffix):
                added += _add_elements(table, [uid])
    return added


def sync_uids(config: SiteConfig) -> None:
    """Add every account of this install (a grader made by a course sync since the start)."""
    if not installed(config):
        return
    _add_elements(table_name(config), sandbox_uids(config))


# -- kernels over Unix sockets ------------------------------------------------------------------


def kernel_config_dir(venv: str | Path) -> Path:
    """Beside the venv's own `etc/jupyter`, but on no Jupyter path unless a sandbox's
    JUPYTER_CONFIG_PATH names it: the hub's own Jupyter processes keep their defaults."""
    return Path(venv) / "etc" / "sunaba-kernels"


def kernel_environment(config: SiteConfig, account: str) -> dict[str, str]:
    """For a Jupyter server outside a sandbox run as a sandbox uid (a course's formgrader):
    the kernel config, and a runtime dir short enough for socket paths."""
    return {
        "JUPYTER_CONFIG_PATH": str(kernel_config_dir(Path(config.hub.prefix) / "venv")),
        "JUPYTER_RUNTIME_DIR": f"/tmp/.sunaba-runtime-{account}",
    }


def write_kernel_config(venv: str | Path) -> Path:
    """A Jupyter config dir (readable by sandboxes) making kernels use Unix sockets."""
    directory = kernel_config_dir(venv)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    target = directory / "jupyter_config.json"
    text = json.dumps(KERNEL_CONFIG, indent=1) + "\n"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    target.chmod(0o644)
    return directory
