"""The VM installer into a staging root (twice: the second run changes nothing), and the
identity providers' traits and group mapping on a fresh traitlets Config."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from sunaba.cli import main
from sunaba.config.loader import ConfigError, validate
from sunaba.deploy.identity import GroupMapping, hub_name, ldap_group_name
from sunaba.hub.apply import HubFacts, update_auth

FACTS = HubFacts(sandbox_mode="full", hub_config_dir=Path("/srv/sunaba/hub_config"))


def test_installer_is_idempotent(tmp_path, capsys):
    site = tmp_path / "sunaba.yaml"
    site.write_text(
        yaml.safe_dump({"hub": {"state_dir": "/var/lib/sunaba"}, "deploy": {"server_name": "x"}})
    )
    root = tmp_path / "root"
    (root / "etc/nginx/sites-enabled").mkdir(parents=True)
    (root / "etc/nginx/sites-enabled/default").symlink_to("../sites-available/default")
    args = ["--config", str(site), "deploy", "vm", "install", "--root", str(root)]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "変更しました 書き出したファイル" in first and "変更しました サイト設定" in first
    assert (root / "etc/systemd/system/sunaba-hub.service").is_file()
    assert (root / "etc/nginx/conf.d/sunaba.conf").is_file()
    assert (root / "etc/logrotate.d/sunaba").is_file()
    assert (root / "etc/sunaba/sunaba.yaml").read_text() == site.read_text()
    assert oct((root / "var/lib/sunaba").stat().st_mode & 0o777) == "0o700"
    assert not (root / "etc/nginx/sites-enabled/default").is_symlink()
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "変更しました" not in second


def oidc_config(**groups):
    return validate(
        {
            "deploy": {"server_name": "sunaba.city.example.jp"},
            "auth": {
                "type": "oidc",
                "oidc": {
                    "client_id": "hub",
                    "client_secret": "s3cret-value",
                    "authorize_url": "https://idp/auth",
                    "token_url": "https://idp/token",
                    "userdata_url": "https://idp/userinfo",
                },
                "groups": groups,
            },
        },
        "test",
    )


def test_oidc_traits():
    c = Config()
    update_auth(c, oidc_config(courses={"python-kiso": "python-kiso"}), FACTS)
    assert c.JupyterHub.authenticator_class == "sunaba.deploy.identity.SunabaOIDCAuthenticator"
    section = c.SunabaOIDCAuthenticator
    assert section.oauth_callback_url == "https://sunaba.city.example.jp/hub/oauth_callback"
    assert section.client_secret == "s3cret-value"
    assert section.allow_all is True
    assert section.sunaba_group_map["courses"] == {"python-kiso": "python-kiso"}


def test_allowed_groups_close_the_door():
    c = Config()
    update_auth(c, oidc_config(allowed=["sunaba-users"]), FACTS)
    assert c.SunabaOIDCAuthenticator.allow_all is False
    assert c.SunabaOIDCAuthenticator.sunaba_allowed_groups == ["sunaba-users"]


def test_ldap_traits():
    config = validate(
        {
            "auth": {
                "type": "ldap",
                "ldap": {
                    "server_address": "ad.city.example",
                    "tls": "ldaps",
                    "bind_dn_templates": ["{username}@city.example"],
                    "user_attribute": "sAMAccountName",
                },
            }
        },
        "test",
    )
    c = Config()
    update_auth(c, config, FACTS)
    section = c.SunabaLDAPAuthenticator
    assert section.server_port == 636
    assert section.tls_strategy == "on_connect"
    assert section.auth_state_attributes == ["memberOf"]
    # ldap3 checks no certificate unless told to.
    assert section.tls_kwargs == {"validate": ssl.CERT_REQUIRED, "ca_certs_file": None}


def test_ldap_ca_file_reaches_the_tls_settings():
    def ldap_section(**ldap):
        settings = {"server_address": "ldap.city.example", "lookup_dn": True, **ldap}
        c = Config()
        update_auth(c, validate({"auth": {"type": "ldap", "ldap": settings}}, "test"), FACTS)
        return c.SunabaLDAPAuthenticator

    section = ldap_section(tls="starttls", ca_file="/etc/sunaba/city-ca.pem")
    assert section.tls_strategy == "before_bind" and section.server_port == 389
    assert section.tls_kwargs == {
        "validate": ssl.CERT_REQUIRED,
        "ca_certs_file": "/etc/sunaba/city-ca.pem",
    }
    assert "tls_kwargs" not in ldap_section(tls="none")


def test_oidc_issuer_stands_for_the_endpoints():
    def oidc_section(**oidc):
        site = {"auth": {"type": "oidc", "oidc": {"client_id": "hub", **oidc}}}
        c = Config()
        update_auth(c, validate(site, "test"), FACTS)
        return c.SunabaOIDCAuthenticator

    section = oidc_section(issuer="https://sso.city.example.jp/realms/city")
    assert section.oidc_issuer == "https://sso.city.example.jp/realms/city"
    # Left unset, so that the discovered endpoints are used.
    assert "authorize_url" not in section and "token_url" not in section
    section = oidc_section(
        issuer="https://sso.city.example.jp", token_url="https://gw.city.example.jp/token"
    )
    assert section.token_url == "https://gw.city.example.jp/token"
    with pytest.raises(ConfigError, match=r"auth\.oidc\.token_url（または auth\.oidc\.issuer）"):
        validate(
            {"auth": {"type": "oidc", "oidc": {"client_id": "hub", "authorize_url": "https://a"}}},
            "test",
        )


def test_group_mapping():
    mapping = GroupMapping(
        {
            "courses": {"CN=Python, OU=G": "python"},
            "course_staff": {"cn=teachers,ou=g": "python"},
            "departments": {"cn=somu,ou=g": "somu"},
            "teams": {"cn=bousai,ou=g": "bousai"},
        },
        admins=["cn=admins,ou=g"],
        allowed=["cn=python,ou=g"],
        key=ldap_group_name,
    )
    groups = ["cn=python,ou=g", "CN=Somu,OU=G", "cn=unknown,ou=g"]
    assert mapping.hub_groups(groups) == {"nbgrader-python", "dept-somu"}
    assert mapping.managed == {"nbgrader-python", "formgrade-python", "dept-somu", "team-bousai"}
    assert mapping.is_admin(groups) is False
    assert mapping.is_admin(["cn=admins, ou=g"]) is True
    assert mapping.may_log_in(groups) and not mapping.may_log_in(["cn=teachers,ou=g"])
    assert GroupMapping({}, [], []).is_admin(["x"]) is None


def test_hub_names_from_provider_logins():
    assert hub_name("Tanaka.Taro@city.example.jp", True) == "tanaka-taro"
    assert hub_name("SATO", True) == "sato"


def test_mapping_targets_must_be_hub_group_names():
    import pytest

    from sunaba.config.loader import ConfigError

    with pytest.raises(ConfigError, match="auth.groups.teams"):
        validate({"auth": {"groups": {"teams": {"x": "防災 班"}}}}, "test")


def test_learner_image_gets_the_learner_environment_of_make_up(tmp_path):
    import json

    from sunaba.deploy.image import prepare_image

    source = tmp_path / "source"
    (source / "datasets" / "kouen").mkdir(parents=True)
    (source / "datasets" / "kouen" / "datapackage.yaml").write_text("name: kouen\n")
    prefix = tmp_path / "prefix"
    config = validate({"hub": {"prefix": str(prefix)}}, "test")
    prepare_image(config, source)
    overrides = prefix / "venv/share/jupyter/lab/settings/overrides.json"
    settings = json.loads(overrides.read_text())
    assert settings["@jupyterlab/translation-extension:plugin"]["locale"] == "ja_JP"
    assert "IPAexGothic" in (prefix / "etc/matplotlibrc").read_text()
    assert (prefix / "share/datasets/kouen/datapackage.yaml").is_file()
    assert not any(result.changed for result in prepare_image(config, source))


def test_learner_image_never_copies_graders_or_solutions():
    root = Path(__file__).resolve().parents[3]
    dockerfile = (root / "deploy/k8s/images/singleuser.Dockerfile").read_text()
    copies = [line for line in dockerfile.splitlines() if line.startswith("COPY")]
    assert copies, "the learner image copies what it needs explicitly"
    for line in copies:
        assert not line.startswith("COPY . ")
        for private in ("graders", "exercises", "courses"):
            assert private not in line
    assert "deploy image-prepare" in dockerfile and "USER 1000" in dockerfile
