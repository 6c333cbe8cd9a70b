"""Logging in through LDAP and OpenID Connect, with provider groups mapped to hub groups.

LDAP: Debian's slapd (with the memberOf overlay, as Active Directory has it) is started by the
test on a loopback port; for TLS with a server certificate signed by a CA the test makes
(tests/support/deploy/certs.py), listening for ldaps:// and offering StartTLS. OIDC: a real
OpenID Connect provider built with Authlib and Flask runs in the test process
(tests/support/deploy/oidc_provider.py), with its discovery document. Each test runs a real hub
whose site config selects the provider.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from pathlib import Path

import pytest
import requests
import yaml
from traitlets.config import Config

from sunaba.deploy.identity import SunabaOIDCAuthenticator
from sunaba.deploy.oidc_discovery import DiscoveryError, discover_endpoints
from tests.support.deploy import slapd as ldap
from tests.support.deploy.certs import CertificateAuthority
from tests.support.deploy.oidc_provider import Client, OIDCProvider, Person
from tests.support.hub import Learner, SunabaHub, free_port

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


PEOPLE = (
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


@contextlib.contextmanager
def running_directory(root: Path, tls: ldap.ServerTLS | None = None):
    server = ldap.Slapd(root, tls)
    try:
        server.start()
        server.add(PEOPLE)
        yield server
    finally:
        server.stop()


@pytest.fixture
def directory(tmp_path):
    with running_directory(tmp_path / "slapd") as server:
        yield server


@pytest.fixture
def tls_root():
    """Keys, certificates and slapd's files; removed even when the test fails."""
    with tempfile.TemporaryDirectory(prefix="sunaba-ldap-tls-") as root:
        yield Path(root)


def tls_directory(root: Path, signed_by: CertificateAuthority):
    certificate, key = signed_by.server_certificate("127.0.0.1")
    return running_directory(root / "slapd", ldap.ServerTLS(certificate, key, signed_by.path))


def ldap_tls_hub(server: ldap.Slapd, tls: str, ca_file: Path) -> SunabaHub:
    return SunabaHub(
        extra={
            "auth": {
                "type": "ldap",
                "ldap": {
                    "server_address": "127.0.0.1",
                    "server_port": server.tls_port if tls == "ldaps" else server.port,
                    "tls": tls,
                    "ca_file": str(ca_file),
                    "bind_dn_templates": [f"uid={{username}},ou=people,{ldap.SUFFIX}"],
                    "user_search_base": f"ou=people,{ldap.SUFFIX}",
                },
                "groups": {"courses": {f"cn=python-kiso,{G}": "python-kiso"}},
            }
        }
    )


def login_page(hub: SunabaHub, name: str, password: str) -> requests.Response:
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    return session.post(
        f"{hub.url}/hub/login",
        data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf", "")},
        allow_redirects=False,
        timeout=30,
    )


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_ldap_login_over_tls_checks_the_server_certificate(tls_root, tls):
    # slapd refuses every operation without TLS (`security tls=1`): a login here went over TLS,
    # on a connection whose certificate was checked against auth.ldap.ca_file.
    trusted = CertificateAuthority(tls_root, "trusted")
    with tls_directory(tls_root, trusted) as server:
        hub = ldap_tls_hub(server, tls, trusted.path)
        try:
            hub.start()
            assert login_page(hub, "sato", "sato-pw-1").status_code == 302, hub.log_tail(30)
            assert hub_user(hub, "sato")["groups"] == ["nbgrader-python-kiso"]
            assert login_page(hub, "sato", "wrong-password").status_code != 302
        finally:
            hub.close()


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_ldap_refuses_a_certificate_from_another_ca(tls_root, tls):
    trusted = CertificateAuthority(tls_root, "trusted")
    other = CertificateAuthority(tls_root, "other")
    with tls_directory(tls_root, other) as server:
        hub = ldap_tls_hub(server, tls, trusted.path)
        try:
            hub.start()
            refused = login_page(hub, "sato", "sato-pw-1")
            assert refused.status_code == 503, hub.log_tail(30)
            assert "ディレクトリサーバーに安全に接続できない" in refused.content.decode("utf-8")
            log = hub.log_tail(200)
            assert "its TLS certificate was refused" in log
            assert "CERTIFICATE_VERIFY_FAILED" in log and str(trusted.path) in log
            assert hub.api("GET", "/users/sato").status_code == 404
        finally:
            hub.close()


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


PEOPLE_AT_IDP = [
    Person("u-1", "tanaka", "tanaka-pw", "Tanaka.Taro@city.example.jp",
           ["sunaba-users", "python-kiso", "bousai-team"]),
    Person("u-2", "outsider", "outsider-pw", "outsider@example.com", ["guests"]),
]  # fmt: skip


def oidc_hub(endpoints) -> tuple[SunabaHub, OIDCProvider]:
    """A hub and a provider that knows it; `endpoints(provider)` gives the auth.oidc URLs."""
    client_secret = secrets.token_urlsafe(24)
    hub = SunabaHub()
    callback = f"{hub.url}/hub/oauth_callback"
    provider = OIDCProvider(PEOPLE_AT_IDP, Client("sunaba-hub", client_secret, callback))
    site = yaml.safe_load(hub.config_file.read_text(encoding="utf-8"))
    site["auth"] = {
        "type": "oidc",
        "oidc": {"client_id": "sunaba-hub", "callback_url": callback, **endpoints(provider)},
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
    return hub, provider


def test_oidc_login_maps_group_claims():
    hub, provider = oidc_hub(lambda provider: provider.urls)
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


def test_oidc_login_with_the_issuer_only():
    hub, provider = oidc_hub(lambda provider: {"issuer": provider.issuer})
    provider.start()
    try:
        hub.start()
        done = oidc_login(hub, "tanaka", "tanaka-pw")
        assert done.status_code == 200, hub.log_tail(30)
        assert done.url.startswith(hub.url)
        assert sorted(hub_user(hub, "tanaka-taro")["groups"]) == [
            "nbgrader-python-kiso",
            "team-bousai",
        ]
        assert f"OpenID Connect endpoints of {provider.issuer}" in hub.log_text()
    finally:
        hub.close()
        provider.stop()


def test_hub_does_not_start_when_discovery_lacks_an_endpoint():
    hub, provider = oidc_hub(lambda provider: {"issuer": provider.issuer})
    provider.discovery_omits = {"userinfo_endpoint"}
    provider.start()
    try:
        with pytest.raises(RuntimeError, match="sunaba up exited") as failed:
            hub.start()
        message = str(failed.value)
        assert f"{provider.issuer}/.well-known/openid-configuration" in message
        assert "has no userinfo_endpoint" in message
    finally:
        hub.close()
        provider.stop()


@pytest.fixture
def provider():
    idp = OIDCProvider(PEOPLE_AT_IDP, Client("sunaba-hub", "unused", "http://127.0.0.1:9/cb"))
    idp.start()
    try:
        yield idp
    finally:
        idp.stop()


def test_discovery_names_the_issuer_and_what_failed(provider):
    nowhere = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DiscoveryError) as failed:
        discover_endpoints(nowhere, ["token_url"])
    assert f"{nowhere}/.well-known/openid-configuration" in str(failed.value)
    assert "Connection refused" in str(failed.value)

    with pytest.raises(DiscoveryError, match="HTTP 404"):
        discover_endpoints(f"{provider.issuer}/realms/none", ["token_url"])

    provider.discovery_omits = {"token_endpoint"}
    with pytest.raises(DiscoveryError, match=r"has no token_endpoint.*auth\.oidc\.token_url"):
        discover_endpoints(provider.issuer, ["authorize_url", "token_url"])
    # What is given explicitly is not looked for.
    found = discover_endpoints(provider.issuer, ["authorize_url"])
    assert found == {"authorize_url": f"{provider.issuer}/authorize"}


def test_discovery_refuses_a_document_of_another_issuer(provider):
    asked = f"{provider.issuer}/"
    assert discover_endpoints(asked, ["token_url"])  # a trailing slash is the same issuer
    # The document is served where it was asked for, but belongs to another issuer.
    provider.issuer = "https://idp.example.jp/realms/city"
    with pytest.raises(DiscoveryError, match="names the issuer 'https://idp.example.jp"):
        discover_endpoints(asked, ["token_url"])


def test_explicit_endpoints_win_over_discovered_ones(provider):
    c = Config()
    c.SunabaOIDCAuthenticator.oidc_issuer = provider.issuer
    c.SunabaOIDCAuthenticator.token_url = "https://gateway.city.example.jp/token"
    authenticator = SunabaOIDCAuthenticator(config=c)
    assert authenticator.token_url == "https://gateway.city.example.jp/token"
    assert authenticator.authorize_url == f"{provider.issuer}/authorize"
    assert authenticator.userdata_url == f"{provider.issuer}/userinfo"
