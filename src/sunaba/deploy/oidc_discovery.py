"""OpenID Connect discovery: a provider's endpoints from its issuer URL.

oauthenticator's GenericOAuthenticator (17.x) takes the authorize, token and userinfo URLs one by
one and has no discovery, so Sunaba reads `<issuer>/.well-known/openid-configuration` (OpenID
Connect Discovery 1.0) itself, once, when the hub starts. The document must name the issuer it
was asked for: a document for another issuer means a wrong URL or a provider not to be trusted.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

DISCOVERY_PATH = "/.well-known/openid-configuration"
# GenericOAuthenticator's trait -> the discovery document's field.
ENDPOINT_FIELDS = {
    "authorize_url": "authorization_endpoint",
    "token_url": "token_endpoint",
    "userdata_url": "userinfo_endpoint",
}


class DiscoveryError(RuntimeError):
    pass


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def fetch_provider_metadata(issuer: str, verify_tls: bool = True, timeout: float = 15) -> dict:
    url = discovery_url(issuer)
    where = f"auth.oidc.issuer {issuer}: cannot read the provider's discovery document {url}"
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise DiscoveryError(f"{where}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DiscoveryError(f"{where}: {reason}") from exc
    try:
        metadata = json.loads(body)
    except ValueError as exc:
        raise DiscoveryError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise DiscoveryError(f"{where}: not a JSON object")
    return metadata


def endpoints(issuer: str, metadata: dict, needed=tuple(ENDPOINT_FIELDS)) -> dict[str, str]:
    """{trait: URL} for the `needed` endpoints, checked against the issuer asked for."""
    where = f"auth.oidc.issuer {issuer}: the discovery document {discovery_url(issuer)}"
    declared = metadata.get("issuer")
    if not isinstance(declared, str) or declared.rstrip("/") != issuer.rstrip("/"):
        raise DiscoveryError(f"{where} names the issuer {declared!r}, not {issuer!r}")
    found = {}
    for trait in needed:
        name = ENDPOINT_FIELDS[trait]
        value = metadata.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise DiscoveryError(
                f"{where} has no {name} (set auth.oidc.{trait} to give it explicitly)"
            )
        found[trait] = value
    return found


def discover_endpoints(issuer: str, needed, verify_tls: bool = True) -> dict[str, str]:
    return endpoints(issuer, fetch_provider_metadata(issuer, verify_tls), needed)
