"""A real OpenID Connect provider on loopback, for the OIDC login tests.

Built with Authlib's provider side (`authlib.integrations.flask_oauth2.AuthorizationServer`: the
authorization code grant with PKCE, the OpenID Connect `OpenIDCode` extension signing ID tokens
with RS256) on Flask, served by werkzeug in a thread. People log in on its own form, as they
would at Keycloak or Entra ID; `/userinfo` answers for the access tokens it issued, and
`/.well-known/openid-configuration` serves the discovery document naming these endpoints.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core import grants as oidc_grants
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from tests.support.hub import free_port

LOGIN_FORM = """<!doctype html><title>Test IdP</title>
<form method="post"><input name="username"><input name="password" type="password">
<button>login</button></form>"""


@dataclass
class Person:
    sub: str
    login: str
    password: str
    email: str
    groups: list[str] = field(default_factory=list)


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        allowed = {"openid", "profile", "email", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class OIDCProvider:
    def __init__(self, people: list[Person], client: Client):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.people = {p.login: p for p in people}
        self.client = client
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Person] = {}
        self.key = RSAKey.generate_key(2048, private=True)
        # Fields the discovery document leaves out, for tests of a broken provider.
        self.discovery_omits: set[str] = set()
        self.app = self._make_app()
        self._server = None
        self._thread = None

    def discovery_document(self) -> dict:
        """OpenID Connect Discovery 1.0 metadata, as served at the well-known path."""
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
        return {k: v for k, v in document.items() if k not in self.discovery_omits}

    @property
    def urls(self) -> dict[str, str]:
        return {
            "authorize_url": f"{self.issuer}/authorize",
            "token_url": f"{self.issuer}/token",
            "userdata_url": f"{self.issuer}/userinfo",
        }

    def _make_app(self) -> Flask:
        provider = self
        app = Flask("sunaba-test-idp")

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    user=req.user,
                    nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class OpenIDCode(oidc_grants.OpenIDCode):
            def exists_nonce(self, nonce, req):
                return False

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def generate_user_info(self, user, scope):
                return provider.user_info(user)

        def save_token(token, req):
            provider.tokens[token["access_token"]] = req.user

        server = AuthorizationServer(
            app, query_client=lambda cid: self.client if cid == self.client.client_id else None,
            save_token=save_token,
        )  # fmt: skip
        server.register_grant(CodeGrant, [CodeChallenge(required=False), OpenIDCode()])

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":
                return LOGIN_FORM
            person = self.people.get(request.form.get("username", ""))
            if person is None or person.password != request.form.get("password"):
                return LOGIN_FORM, 401
            return server.create_authorization_response(grant_user=person)

        @app.route("/.well-known/openid-configuration")
        def discovery():
            return jsonify(self.discovery_document())

        @app.route("/jwks")
        def jwks():
            return jsonify({"keys": [self.key.as_dict(private=False)]})

        @app.route("/token", methods=["POST"])
        def token():
            return server.create_token_response()

        @app.route("/userinfo")
        def userinfo():
            header = request.headers.get("Authorization", "")
            person = self.tokens.get(header.removeprefix("Bearer ").strip())
            if person is None:
                return jsonify(error="invalid_token"), 401
            return jsonify(dict(self.user_info(person)))

        return app

    def user_info(self, person: Person) -> UserInfo:
        return UserInfo(
            sub=person.sub,
            preferred_username=person.email,
            email=person.email,
            groups=person.groups,
        )

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
