"""`sunaba deploy render`: deterministic, secret-free, and nothing written from a broken config.

Kubernetes values are checked against the Zero to JupyterHub chart's real values schema from
`../shared/reference/z2jh/` (no cluster runs here; the schema check is what Helm would do first).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sunaba.cli import main
from sunaba.config.loader import ConfigError, validate
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_schema import find_chart_reference, validate_values
from sunaba.deploy.rendered import RenderError
from sunaba.deploy.vm import render_vm

SECRETS = {
    "client": "oidc-client-secret-Zq81",
    "ldap": "ldap-bind-pw-Xk27",
    "db": "db-password-Wm55",
}


@pytest.fixture(scope="module")
def reference():
    found = find_chart_reference()
    assert found is not None, (
        "the chart schema must be at ../shared/reference/z2jh beside the checkout "
        "(or named by $SUNABA_Z2JH_REFERENCE)"
    )
    return found


def site(tmp_path: Path, extra: dict | None = None) -> Path:
    data = {
        "hub": {"state_dir": str(tmp_path / "state"), "prefix": "/opt/sunaba"},
        "deploy": {"server_name": "sunaba.city.example.jp"},
    }
    for key, value in (extra or {}).items():
        data.setdefault(key, {}).update(value)
    path = tmp_path / "sunaba.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("target", ["vm", "k8s"])
def test_same_config_gives_same_bytes(tmp_path, target):
    config_file = site(tmp_path, {"auth": {"type": "native"}})
    for out in ("a", "b"):
        code = main(["--config", str(config_file), "deploy", "render", target, "--out",
                     str(tmp_path / out)])  # fmt: skip
        assert code == 0
    first, second = read_tree(tmp_path / "a"), read_tree(tmp_path / "b")
    assert first == second
    assert len(first) >= 5


def test_k8s_values_validate_against_the_chart_schema(reference):
    config = validate({"deploy": {"server_name": "sunaba.example.jp"}}, "test")
    values = yaml.safe_load(
        next(f for f in render_k8s(config, reference) if f.path == "values.yaml").text
    )
    merged = validate_values(values["jupyterhub"], reference)
    assert merged["singleuser"]["networkPolicy"]["enabled"] is False
    assert merged["hub"]["db"]["type"] == "postgres"


def test_the_schema_check_is_strict(reference):
    config = validate({}, "test")
    values = yaml.safe_load(
        next(f for f in render_k8s(config, reference) if f.path == "values.yaml").text
    )["jupyterhub"]
    values["singleuser"]["memroy"] = {"limit": "1G"}
    with pytest.raises(RenderError, match="singleuser"):
        validate_values(values, reference)
    values = yaml.safe_load(yaml.safe_dump(values))
    del values["singleuser"]["memroy"]
    values["singleuser"]["cloudMetadata"] = {"blockWithIptables": "no"}
    with pytest.raises(RenderError, match="cloudMetadata"):
        validate_values(values, reference)


@pytest.mark.parametrize("target", ["vm", "k8s"])
def test_no_secret_reaches_a_rendered_file(tmp_path, monkeypatch, target):
    db = f"postgresql+psycopg://sunaba:{SECRETS['db']}@127.0.0.1:5432/sunaba"
    config_file = site(
        tmp_path,
        {
            "auth": {
                "type": "oidc",
                "oidc": {
                    "client_id": "sunaba",
                    "authorize_url": "https://idp.example.jp/auth",
                    "token_url": "https://idp.example.jp/token",
                    "userdata_url": "https://idp.example.jp/userinfo",
                },
            },
            "hub": {"db_url": db},
        },
    )
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "secrets.yaml").write_text(
        yaml.safe_dump({"config": {"auth": {"oidc": {"client_secret": SECRETS["client"]}}}})
    )
    monkeypatch.setenv("SUNABA__AUTH__LDAP__SEARCH_PASSWORD", SECRETS["ldap"])
    out = tmp_path / "out"
    assert main(["--config", str(config_file), "deploy", "render", target, "--out", str(out)]) == 0
    tree = read_tree(out)
    for name, content in tree.items():
        for secret in SECRETS.values():
            assert secret.encode() not in content, f"{secret} leaked into {name}"
    if target == "k8s":
        env = yaml.safe_load(tree["values.yaml"])["jupyterhub"]["hub"]["extraEnv"]
        ref = env["SUNABA__AUTH__OIDC__CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "sunaba-auth", "key": "oidc-client-secret"}
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "sunaba-db"
    else:
        unit = tree["systemd/sunaba-hub.service"].decode()
        assert f"PGPASSFILE={state / 'pgpass'}" in unit


def test_the_chart_depends_on_one_exact_release_of_zero_to_jupyterhub():
    """4.4.0 is the release whose values schema the renders are validated against (see
    ../shared/reference/z2jh/SOURCE.md: chart appVersion 5.5.0)."""
    files = {f.path: f.text for f in render_k8s(validate({}, "test"), None)}
    chart = yaml.safe_load(files["Chart.yaml"])
    (dependency,) = chart["dependencies"]
    assert (dependency["name"], dependency["version"]) == ("jupyterhub", "4.4.0")
    with pytest.raises(ConfigError, match="範囲ではなく"):
        validate({"deploy": {"k8s": {"jupyterhub_chart_version": ">=4.4.0"}}}, "test")
    pinned = validate({"deploy": {"k8s": {"jupyterhub_chart_version": "4.4.1"}}}, "test")
    assert pinned.deploy.k8s.jupyterhub_chart_version == "4.4.1"


def test_a_secret_put_where_it_would_be_rendered_is_refused():
    # A secret in a free-form value that travels into files is caught by the last check.
    config = validate(
        {
            "auth": {"ldap": {"search_password": "hunter2-long"}},
            "learner": {"extra_env": {"X": "hunter2-long"}},
        },
        "test",
    )
    with pytest.raises(RenderError, match="secret"):
        render_vm(config) and render_k8s(config, None)
    with pytest.raises(RenderError, match="secret"):
        render_k8s(config, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"hub": {"prot": 80}}, "hub.prot: 知らない項目です"),
        ({"auth": {"type": "ldap"}}, "auth.ldap.server_address"),
        ({"deploy": {"vm": {"backup_time": "25:00"}}}, "deploy.vm.backup_time"),
        (
            {"deploy": {"k8s": {"jupyterhub_chart_version": "^4.3.0"}}},
            "deploy.k8s.jupyterhub_chart_version",
        ),
    ],
)
def test_broken_config_writes_nothing(tmp_path, capsys, extra, message):
    config_file = site(tmp_path, extra)
    for target in ("vm", "k8s"):
        out = tmp_path / f"out-{target}"
        assert main(["--config", str(config_file), "deploy", "render", target, "--out",
                     str(out)]) == 1  # fmt: skip
        assert not out.exists()
        assert message in capsys.readouterr().err


def test_k8s_refuses_sqlite_before_writing(tmp_path, capsys):
    config_file = site(tmp_path, {"hub": {"db_url": "sqlite:////var/lib/sunaba/hub.sqlite"}})
    out = tmp_path / "out"
    assert main(["--config", str(config_file), "deploy", "render", "k8s", "--out", str(out)]) == 1
    assert not out.exists()
    assert "Kubernetes ではハブのデータベースに PostgreSQL が必要です" in capsys.readouterr().err


def test_units_pass_systemd_analyze_verify(tmp_path):
    # systemd is not PID 1 here, but `systemd-analyze verify` checks unit files offline: syntax,
    # directives, and that every ExecStart binary exists (the test prefix /opt/sunaba has them).
    assert shutil.which("systemd-analyze"), "systemd-analyze (Debian package systemd) is needed"
    config = validate(
        {
            "hub": {"prefix": "/opt/sunaba"},
            "deploy": {"vm": {"source_dir": str(tmp_path)}},
        },
        "test",
    )
    out = tmp_path / "out"
    from sunaba.deploy.rendered import write_files

    write_files(render_vm(config), out)
    units = sorted((out / "systemd").iterdir())
    assert {u.name for u in units} >= {
        "sunaba-hub.service",
        "sunaba-backup.service",
        "sunaba-backup.timer",
    }
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[f"./{u.name}" for u in units]],
        cwd=out / "systemd",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hub = (out / "systemd" / "sunaba-hub.service").read_text()
    assert "Restart=on-failure" in hub
    # `systemctl reload sunaba-hub`: SIGHUP to `sunaba up`, which reloads the hub alone.
    assert "ExecReload=/bin/kill -HUP $MAINPID" in hub
    assert "ProtectSystem=true" in hub
    # /etc and the cgroup tree must stay writable for useradd and cgroup limits.
    assert "ProtectSystem=full" not in hub and "ProtectControlGroups" not in hub


def test_hub_unit_orders_after_local_postgresql():
    config = validate({"hub": {"db_url": "postgresql+psycopg://sunaba@127.0.0.1/sunaba"}}, "t")
    hub = next(f for f in render_vm(config) if f.path == "systemd/sunaba-hub.service").text
    assert "After=network-online.target postgresql.service" in hub
    remote = validate({"hub": {"db_url": "postgresql+psycopg://sunaba@db.internal/sunaba"}}, "t")
    hub = next(f for f in render_vm(remote) if f.path == "systemd/sunaba-hub.service").text
    assert "postgresql.service" not in hub


def test_nginx_upload_limit_never_below_the_exchange():
    config = validate({"deploy": {"vm": {"max_upload_size": "10M"}}}, "test")
    nginx = next(f for f in render_vm(config) if f.path == "nginx/sunaba.conf").text
    expected = config.courses.max_submission_size if hasattr(config, "courses") else "10M"
    from sunaba.config.schema import parse_size

    limit = nginx.split("client_max_body_size ")[1].split(";")[0]
    assert parse_size(limit) >= max(parse_size("10M"), parse_size(expected))
