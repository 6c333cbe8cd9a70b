"""Run JupyterHub in the foreground and make sure stopping it leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import admin_client
from sunaba.core.hubreload import (
    remove_supervisor_pid,
    shut_down_keeping_servers,
    write_supervisor_pid,
)
from sunaba.core.state import PROXY_TOKEN_KEY, StatePaths, read_secrets
from sunaba.messages import say
from sunaba.runtime.proxyprocess import Proxy, start_proxy, watch_proxy
from sunaba.runtime.rungroup import AlreadyRunning, RunGroup
from sunaba.sandbox.limits import (
    LEARNERS_PARENT,
    CgroupGroup,
    cgroup_version,
    learner_cgroup_parent,
)

STOP_BUDGET = 15.0
HUB_GRACE = 11.0
# What the hub has not stopped by then (services, formgraders, the proxy) gets this long.
REST_GRACE = 5.0


def hub_command(config: SiteConfig, source: Path) -> list[str]:
    venv = Path(config.hub.prefix) / "venv" / "bin"
    jupyterhub = venv / "jupyterhub"
    if not jupyterhub.exists():
        jupyterhub = Path(sys.executable).parent / "jupyterhub"
    return [str(jupyterhub), "-f", str(source / "hub_config" / "jupyterhub_config.py")]


def public_url(config: SiteConfig) -> str:
    return f"http://{config.hub.ip}:{config.hub.port}{config.hub.base_url}"


def wait_until_up(config: SiteConfig, proc: subprocess.Popen, timeout: float = 120) -> bool:
    url = f"{public_url(config)}hub/api/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                json.load(response)
                return True
        except (OSError, ValueError):
            time.sleep(0.5)
    return False


def kill_leftovers(config: SiteConfig, hub_pgid: int | None) -> None:
    """Whatever the hub failed to stop: its process group, and the cgroups of this site's
    learners (recognised by the account prefix; another site's learners are left alone)."""
    if hub_pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(hub_pgid, signal.SIGKILL)
    version = cgroup_version()
    if version is None:
        return
    parent = learner_cgroup_parent(config.hub.state_dir)
    root = Path("/sys/fs/cgroup") / ("pids" if version == "v1" else "") / parent
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith(config.sandbox.user_prefix):
            group = CgroupGroup(parent, child.name, version)
            group.kill_all()
            group.remove()
    if parent != LEARNERS_PARENT:  # an install's own parent group goes with its last learner
        for controller in ("memory", "cpu", "pids") if version == "v1" else ("",):
            with contextlib.suppress(OSError):
                (Path("/sys/fs/cgroup") / controller / parent).rmdir()


def announce(config: SiteConfig) -> None:
    url = public_url(config)
    admin = config.hub.admin_users[0] if config.hub.admin_users else "admin"
    running = say(
        config,
        ja=f"\nSunaba を起動しました: {url}\n"
        f"'{admin}' でログインしてください。パスワードはアカウントを作成したときに表示したもの"
        "です（状態ディレクトリの admin-password.txt にも保存しています）。スタッフは "
        f"{url}hub/signup で登録し、管理者が {url}hub/authorize で承認します。名簿を "
        "`sunaba users import FILE` で取り込むこともできます。\nCtrl-C で停止します。\n",
        en=f"\nSunaba is running: {url}\n"
        f"Log in as '{admin}' with the password printed when the account was created "
        "(saved in admin-password.txt in the state dir). Staff sign up at "
        f"{url}hub/signup and the admin approves them at {url}hub/authorize, or import a "
        "roster with `sunaba users import FILE`.\nStop with Ctrl-C.\n",
    )
    print(running, flush=True)


def start_zygote(config: SiteConfig, paths: StatePaths, log_path: Path) -> subprocess.Popen:
    """The fast-start server, importing JupyterLab once for every learner's server."""
    python = Path(config.hub.prefix) / "venv" / "bin" / "python"
    socket_path = paths.zygote_socket
    with contextlib.suppress(FileNotFoundError):
        socket_path.unlink()
    proc = subprocess.Popen(
        [
            str(python if python.exists() else sys.executable),
            "-m",
            "sunaba.sandbox.zygote",
            "--socket",
            str(socket_path),
            "--log",
            str(log_path),
            # The zygote runs only under full isolation.
            *(["--preload-kernels"] if config.sandbox.preloads_kernels("full") else []),
        ],
        cwd=paths.root,
        # Every learner's server is forked from this process: give it nothing worth reading.
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
        stdin=subprocess.DEVNULL,
        stdout=open(log_path, "ab"),  # noqa: SIM115 (the child keeps it)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not socket_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the fast-start server did not start; see {log_path}")
        time.sleep(0.1)
    return proc


def claim_run(config: SiteConfig, group: RunGroup) -> bool:
    """End what an earlier run of this state dir left (refuse while that run lives), then put
    this process, and so everything it starts, in the run's group."""
    try:
        left = group.end_leftovers()
    except AlreadyRunning as exc:
        print(str(exc), file=sys.stderr)
        return False
    if left:
        print(
            say(
                config,
                ja=f"前回の実行で残っていたプロセスを {left} 個終了しました",
                en=f"ended {left} processes an earlier run left",
            ),
            flush=True,
        )
        kill_leftovers(config, None)
    group.join()
    return True


class StopRequest:
    """Ctrl-C (SIGINT) or SIGTERM: the first asks the hub to stop; the hub gets HUB_GRACE."""

    def __init__(self, config: SiteConfig):
        self.config = config
        self.since: float | None = None
        self.hub: subprocess.Popen | None = None
        signal.signal(signal.SIGINT, self.receive)
        signal.signal(signal.SIGTERM, self.receive)

    def receive(self, _signum, _frame) -> None:
        if self.since is not None:
            return
        self.since = time.monotonic()
        print(
            say(self.config, ja="\nSunaba を停止しています…", en="\nstopping Sunaba…"), flush=True
        )
        self.forward()

    def forward(self) -> None:
        if self.hub is not None:
            with contextlib.suppress(ProcessLookupError):
                self.hub.send_signal(signal.SIGTERM)

    def overdue(self) -> bool:
        return self.since is not None and time.monotonic() - self.since > HUB_GRACE


def start_hub(config: SiteConfig, source: Path, paths: StatePaths) -> subprocess.Popen:
    log_path = paths.log_dir / "jupyterhub.log"
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            hub_command(config, source),
            cwd=paths.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class ReloadRequest:
    """SIGHUP (`sunaba courses sync` after a course's formgrader came or went, or `systemctl
    reload`): the hub is started again on the same database, learners' servers kept running
    (`sunaba.core.hubreload`)."""

    def __init__(self):
        self.pending = False
        signal.signal(signal.SIGHUP, self.receive)

    def receive(self, _signum, _frame) -> None:
        self.pending = True


def shut_down_for_reload(config: SiteConfig) -> bool:
    client = admin_client(config, timeout=10)
    if client is not None and shut_down_keeping_servers(client):
        print(
            say(
                config,
                ja="\n設定の変更を反映するため、ハブを再起動します（学習者のサーバーは止めません）",
                en="\nreloading the hub to apply the change (learners' servers keep running)",
            ),
            flush=True,
        )
        return True
    print(
        say(
            config,
            ja="ハブを再起動できませんでした（ハブが API での停止を受け付けませんでした）。"
            "反映するには Sunaba を停止してから起動し直してください",
            en="could not reload the hub (it refused the shutdown request); restart Sunaba",
        ),
        file=sys.stderr,
        flush=True,
    )
    return False


def watch_hub(
    config: SiteConfig,
    proc: subprocess.Popen,
    stop: StopRequest,
    reload: ReloadRequest,
    proxy: Proxy,
    first: bool = True,
) -> tuple[int, bool]:
    """Until the hub exits: announce it once it answers; kill it when it overstays a stop;
    have it shut down, keeping learners' servers, when a reload is asked for. Returns its exit
    code and whether it stopped for a reload."""
    stop.hub = proc
    reloading = False
    if stop.since is not None:  # asked to stop while the hub was being started
        stop.forward()
    elif wait_until_up(config, proc):
        if first:
            announce(config)
        else:
            print(say(config, ja="ハブを再起動しました", en="the hub is running again"), flush=True)
    while True:
        try:
            return proc.wait(timeout=0.5), reloading
        except subprocess.TimeoutExpired:
            if stop.overdue():
                proc.kill()
            if stop.since is None:
                watch_proxy(config, proxy)
            if reload.pending and stop.since is None and not reloading:
                reload.pending = False
                reloading = shut_down_for_reload(config)


def end_own(processes: list[subprocess.Popen | None]) -> None:
    """What `sunaba up` runs beside the hub (the fast-start server, the proxy), once the hub
    has stopped: these are not leftovers."""
    running = [proc for proc in processes if proc is not None and proc.poll() is None]
    for proc in running:
        proc.terminate()
    deadline = time.monotonic() + REST_GRACE
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def end_run(
    config: SiteConfig, group: RunGroup, hub_pid: int | None, own: list[subprocess.Popen | None]
) -> None:
    """Everything the run started: learners' cgroups the hub did not end, what runs beside the
    hub, then whatever else is left in the group (services, formgraders), however long they
    take."""
    kill_leftovers(config, hub_pid)
    end_own(own)
    ended = group.end(grace=REST_GRACE)
    if ended:
        print(
            say(
                config,
                ja=f"ハブが止めなかったプロセスを {ended} 個終了しました",
                en=f"ended {ended} processes the hub had not stopped",
            ),
            flush=True,
        )


def report_exit(config: SiteConfig, code: int, stop: StopRequest, log_path: Path) -> int:
    if stop.since is not None:
        took = time.monotonic() - stop.since
        print(
            say(config, ja=f"停止しました（{took:.1f} 秒）", en=f"stopped in {took:.1f} s"),
            flush=True,
        )
        return 0
    exited = say(
        config,
        ja=f"ハブが終了コード {code} で終了しました。{log_path} を確認してください",
        en=f"the hub exited with code {code}; see {log_path}",
    )
    print(exited, file=sys.stderr)
    return code or 1


def run_hub(
    config: SiteConfig,
    source: Path,
    paths: StatePaths,
    *,
    fast_start: bool,
    before_start: Callable[[], bool] | None = None,
    after_stop: Callable[[], None] | None = None,
) -> int:
    """`before_start` (the network policy) runs once no other run of this state dir is left and
    may refuse the start; `after_stop` once everything the run started has ended."""
    log_path = paths.log_dir / "jupyterhub.log"
    group = RunGroup(config.hub.state_dir)
    if not claim_run(config, group):
        return 1
    stop = StopRequest(config)
    code, hub_pid, policy = 1, None, False
    zygote = proxy = None
    try:
        if before_start is not None and not before_start():
            return 1
        policy = True
        print(say(config, ja=f"ハブのログ: {log_path}", en=f"hub log: {log_path}"))
        if fast_start:
            zygote = start_zygote(config, paths, log_path)
        proxy = Proxy(config, read_secrets(paths).get(PROXY_TOKEN_KEY, ""), log_path)
        if not start_proxy(config, proxy):
            return 1
        write_supervisor_pid(paths.supervisor_pid_file)
        reload, first = ReloadRequest(), True
        while stop.since is None:
            proc = start_hub(config, source, paths)
            hub_pid = proc.pid
            code, reloaded = watch_hub(config, proc, stop, reload, proxy, first)
            if not reloaded:
                break
            first = False
    finally:
        remove_supervisor_pid(paths.supervisor_pid_file)
        end_run(config, group, hub_pid, [proxy and proxy.proc, zygote])
        if after_stop is not None and policy:
            after_stop()
    return report_exit(config, code, stop, log_path)
