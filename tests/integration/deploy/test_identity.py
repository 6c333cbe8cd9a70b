"""Logging in through LDAP and OpenID Connect, with provider groups mapped to hub groups.

LDAP: Debian's slapd (with the memberOf overlay, as Active Directory has it) is started by the
test on a loopback port. OIDC: a real OpenID Connect provider built with Authlib and Flask runs
in the test process (tests/support/deploy/oidc_provider.py). Each test runs a real hub whose
site config selects the provider.
"""

from __future__ import annotations

import secrets

import pytest
import requests
import yaml

from tests.support.deploy import slapd as ldap
from tests.support.deploy.oidc_provider import Client, OIDCProvider, Person
from tests.support.hub import Learner, SunabaHub

pytestmark = pytest.mark.integration

G = f"ou=groups,{ldap.SUFFIX}"


def post_login(hub: SunabaHub, name: str, password: str) -> int:
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    response = session.post(
        f"{hub.url}/hub/login",
        data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def hub_user(hub: SunabaHub, name: str) -> dict:
    response = hub.api("GET", f"/users/{name}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def directory(tmp_path):
    server = ldap.Slapd(tmp_path / "slapd")
    server.start()
    try:
        server.add(
            ldap.BASE
            + ldap.person("sato", "sato-pw-1", "佐藤")
            + ldap.person("kanri", "kanri-pw-1", "管理")
            + ldap.person("suzuki", "suzuki-pw-1", "鈴木")
            + ldap.group("sunaba-users", ["sato", "kanri"])
            + ldap.group("python-kiso", ["sato", "kanri"])
            + ldap.group("somu", ["sato"])
            + ldap.group("bousai", ["sato"])
            + ldap.group("sunaba-admins", ["kanri"])
        )
        yield server
    finally:
        server.stop()


def test_ldap_login_maps_directory_groups(directory):
    hub = SunabaHub(
        extra={
            "auth": {
                "type": "ldap",
                "ldap": {
                    "server_address": "127.0.0.1",
                    "server_port": directory.port,
                    "tls": "none",  # loopback only; production uses starttls or ldaps
                    "bind_dn_templates": [f"uid={{username}},ou=people,{ldap.SUFFIX}"],
                    "user_search_base": f"ou=people,{ldap.SUFFIX}",
                },
                "groups": {
                    # Directories write DNs in any case and spacing; the mapping does not care.
                    "courses": {f"CN=python-kiso, {G}": "python-kiso"},
                    "departments": {f"cn=somu,{G}": "somu"},
                    "teams": {f"cn=bousai,{G}": "bousai"},
                    "admins": [f"cn=sunaba-admins,{G}"],
                    "allowed": [f"cn=sunaba-users,{G}"],
                },
            }
        }
    )
    try:
        hub.start()
        sato = Learner(name="sato", password="sato-pw-1")
        hub.login(sato)
        user = hub_user(hub, "sato")
        assert sorted(user["groups"]) == ["dept-somu", "nbgrader-python-kiso", "team-bousai"]
        assert user["admin"] is False
        # A hub group the mapping does not produce survives the next login.
        assert hub.api("POST", "/groups/kensyu-2026").status_code == 201
        hub.api("POST", "/groups/kensyu-2026/users", json={"users": ["sato"]}).raise_for_status()
        subprocess_modify(directory, f"cn=python-kiso,{G}", "sato")
        hub.login(sato)
        assert sorted(hub_user(hub, "sato")["groups"]) == [
            "dept-somu",
            "kensyu-2026",
            "team-bousai",
        ]

        assert post_login(hub, "kanri", "kanri-pw-1") == 302
        assert hub_user(hub, "kanri")["admin"] is True
        assert post_login(hub, "sato", "wrong-password") != 302
        assert post_login(hub, "suzuki", "suzuki-pw-1") != 302  # not in sunaba-users
        assert post_login(hub, "sato)(uid=*", "sato-pw-1") != 302
        assert hub.api("GET", "/users/suzuki").status_code == 404
    finally:
        hub.close()


def subprocess_modify(directory, group_dn: str, uid: str) -> None:
    import subprocess

    ldif = (
        f"dn: {group_dn}\nchangetype: modify\ndelete: member\n"
        f"member: uid={uid},ou=people,{ldap.SUFFIX}\n"
    )
    subprocess.run(
        ["ldapmodify", "-x", "-H", directory.url, "-D", ldap.ROOT_DN, "-w",
         directory.root_password],
        input=ldif.encode(),
        check=True,
        capture_output=True,
    )  # fmt: skip


def oidc_login(hub: SunabaHub, login: str, password: str) -> requests.Response:
    """Click the login button, log in at the provider, come back: as a person would."""
    session = requests.Session()
    form = session.get(f"{hub.url}/hub/oauth_login?next=%2Fhub%2Fhome", timeout=30)
    assert form.status_code == 200 and "<form" in form.text, form.text[:300]
    return session.post(form.url, data={"username": login, "password": password}, timeout=60)


def test_oidc_login_maps_group_claims(tmp_path):
    client_secret = secrets.token_urlsafe(24)
    hub = SunabaHub()
    callback = f"{hub.url}/hub/oauth_callback"
    provider = OIDCProvider(
        [
            Person("u-1", "tanaka", "tanaka-pw", "Tanaka.Taro@city.example.jp",
                   ["sunaba-users", "python-kiso", "bousai-team"]),
            Person("u-2", "outsider", "outsider-pw", "outsider@example.com", ["guests"]),
        ],
        Client("sunaba-hub", client_secret, callback),
    )  # fmt: skip
    site = yaml.safe_load(hub.config_file.read_text(encoding="utf-8"))
    site["auth"] = {
        "type": "oidc",
        "oidc": {"client_id": "sunaba-hub", "callback_url": callback, **provider.urls},
        "groups": {
            "courses": {"python-kiso": "python-kiso"},
            "teams": {"bousai-team": "bousai"},
            "allowed": ["sunaba-users"],
        },
    }
    hub.config_file.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    # The client secret lives where production keeps it: secrets.yaml in the 0700 state dir.
    hub.state_dir.mkdir(mode=0o700)
    (hub.state_dir / "secrets.yaml").write_text(
        yaml.safe_dump({"config": {"auth": {"oidc": {"client_secret": client_secret}}}})
    )
    provider.start()
    try:
        hub.start()
        page = requests.get(f"{hub.url}/hub/login", timeout=30).content.decode("utf-8")
        assert "職員アカウント でログイン" in page

        done = oidc_login(hub, "tanaka", "tanaka-pw")
        assert done.status_code == 200, hub.log_tail(30)
        assert done.url.startswith(hub.url)
        user = hub_user(hub, "tanaka-taro")  # e-mail domain dropped, dot made a dash
        assert sorted(user["groups"]) == ["nbgrader-python-kiso", "team-bousai"]

        refused = oidc_login(hub, "outsider", "outsider-pw")
        assert refused.status_code == 403
        assert hub.api("GET", "/users/outsider").status_code == 404
    finally:
        hub.close()
        provider.stop()
