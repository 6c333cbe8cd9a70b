"""Who may log in: the site config's `auth` section (NativeAuthenticator, OIDC, LDAP, group mapping)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sunaba.config.section import Section


class NativeAuthSection(Section):
    open_signup: bool = Field(
        False,
        description="Let people who sign up log in without an admin's approval. Keep off on a "
        "shared hub.",
    )
    minimum_password_length: int = Field(
        10, ge=8, le=128, description="Shortest password accepted at sign-up."
    )
    check_common_password: bool = Field(
        True, description="Refuse passwords from the list of most common passwords."
    )
    allowed_failed_logins: int = Field(
        5, ge=0, description="Failed logins before the account is locked for a while (0: never)."
    )
    seconds_before_next_try: int = Field(
        600, ge=0, description="How long an account stays locked after too many failed logins."
    )


class OidcAuthSection(Section):
    """OpenID Connect through oauthenticator's GenericOAuthenticator (Entra ID, Keycloak...)."""

    client_id: str = Field("", description="Client ID registered for this hub at the provider.")
    client_secret: str = Field(
        "",
        description="Client secret. Keep it out of the site file: put it in `secrets.yaml` in "
        "the state dir (VM) or the `SUNABA__AUTH__OIDC__CLIENT_SECRET` variable (Kubernetes "
        "Secret).",
    )
    issuer: str = Field(
        "",
        description="The provider's issuer URL, such as "
        "`https://login.microsoftonline.com/<tenant>/v2.0` or "
        "`https://sso.example.jp/realms/<realm>`. When set, the authorization, token and "
        "userinfo endpoints are read from `<issuer>/.well-known/openid-configuration` when the "
        "hub starts (the hub does not start if that fails); an endpoint set below wins over "
        "the discovered one.",
    )
    authorize_url: str = Field(
        "", description="The provider's authorization endpoint (empty: from `issuer`)."
    )
    token_url: str = Field("", description="The provider's token endpoint (empty: from `issuer`).")
    userdata_url: str = Field(
        "", description="The provider's userinfo endpoint (empty: from `issuer`)."
    )
    callback_url: str = Field(
        "",
        description="Where the provider sends people back. Empty: "
        "`https://<deploy.server_name><hub.base_url>hub/oauth_callback`.",
    )
    scope: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes requested; add the one that releases the groups claim if needed.",
    )
    username_claim: str = Field(
        "preferred_username", description="Claim that holds the login name."
    )
    groups_claim: str = Field(
        "groups", description="Claim that holds the person's groups (mapped by `auth.groups`)."
    )
    strip_email_domain: bool = Field(
        True,
        description="Turn `tanaka.taro@city.example.jp` into `tanaka-taro`: hub names must be "
        "short lower-case ASCII.",
    )
    login_service: str = Field(
        "職員アカウント", description="Name of the provider on the login button."
    )
    verify_tls: bool = Field(
        True, description="Check the provider's TLS certificate. Only a test provider may skip it."
    )


class LdapAuthSection(Section):
    """LDAP or Active Directory through jupyterhub-ldapauthenticator."""

    server_address: str = Field("", description="Host name of the LDAP or AD server.")
    server_port: int = Field(
        0, ge=0, le=65535, description="Port of the server (0: 389, or 636 with `tls: ldaps`)."
    )
    tls: Literal["starttls", "ldaps", "none"] = Field(
        "starttls",
        description="`starttls` or `ldaps` encrypt the password on the wire; `none` only for a "
        "server on the same machine.",
    )
    ca_file: str = Field(
        "",
        description="CA certificates (PEM) the LDAP server's certificate must be signed by, "
        "such as the organisation's own CA. Empty: the system's CAs. With `starttls` and "
        "`ldaps` the server's certificate is always verified, and its name must match "
        "`server_address`.",
    )
    bind_dn_templates: list[str] = Field(
        default_factory=list,
        description="DNs to bind as, with `{username}`, such as "
        "`uid={username},ou=people,dc=city,dc=example` (AD: `{username}@city.example`).",
    )
    lookup_dn: bool = Field(
        False, description="Search the person's DN with a service account instead of templates."
    )
    search_user: str = Field("", description="DN of the service account used by `lookup_dn`.")
    search_password: str = Field(
        "",
        description="Password of the service account. Keep it in `secrets.yaml` or "
        "`SUNABA__AUTH__LDAP__SEARCH_PASSWORD`, never in the site file.",
    )
    user_search_base: str = Field("", description="Where people are searched for.")
    user_attribute: str = Field(
        "uid", description="Attribute holding the login name (AD: `sAMAccountName`)."
    )
    group_attribute: str = Field(
        "memberOf", description="Attribute listing the DNs of the person's groups."
    )


class GroupMappingSection(Section):
    """Groups known to the identity provider, mapped onto Sunaba's hub groups at every login."""

    courses: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → course id; members are enrolled as learners "
        "(hub group `nbgrader-<id>`).",
    )
    course_staff: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → course id; members grade the course "
        "(hub group `formgrade-<id>`).",
    )
    departments: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → 所属 code (hub group `dept-<code>`).",
    )
    teams: dict[str, str] = Field(
        default_factory=dict,
        description="Provider group → team name (hub group `team-<name>`).",
    )
    admins: list[str] = Field(
        default_factory=list, description="Provider groups whose members are hub admins."
    )
    allowed: list[str] = Field(
        default_factory=list,
        description="Provider groups allowed to log in; empty lets in everyone the provider "
        "authenticates.",
    )

    @field_validator("courses", "course_staff", "departments", "teams")
    @classmethod
    def _hub_group_names(cls, value: dict[str, str]) -> dict[str, str]:
        for group, target in value.items():
            if not re.match(r"^[a-z0-9][a-z0-9_-]{0,39}$", target):
                raise ValueError(
                    f"{group!r} の行き先 {target!r} には半角英小文字・数字・-・_ だけを使ってください"
                )
        return value


class AuthSection(Section):
    type: Literal["native", "oidc", "ldap"] = Field(
        "native",
        description="How people log in. `native`: accounts with passwords kept by the hub, "
        "sign-up with admin approval and roster import. `oidc`: an OpenID Connect provider "
        "(Entra ID, Keycloak). `ldap`: LDAP or Active Directory.",
    )
    native: NativeAuthSection = Field(
        default_factory=NativeAuthSection, description="Settings of the `native` login."
    )
    oidc: OidcAuthSection = Field(
        default_factory=OidcAuthSection, description="Settings of the `oidc` login."
    )
    ldap: LdapAuthSection = Field(
        default_factory=LdapAuthSection, description="Settings of the `ldap` login."
    )
    groups: GroupMappingSection = Field(
        default_factory=GroupMappingSection,
        description="Provider groups mapped to courses, 所属 and teams (`oidc` and `ldap`).",
    )

    @model_validator(mode="after")
    def _provider_settings(self) -> AuthSection:
        missing = []
        if self.type == "oidc":
            if not self.oidc.client_id:
                missing.append("auth.oidc.client_id")
            if not self.oidc.issuer:
                for key in ("authorize_url", "token_url", "userdata_url"):
                    if not getattr(self.oidc, key):
                        missing.append(f"auth.oidc.{key}（または auth.oidc.issuer）")
        if self.type == "ldap":
            if not self.ldap.server_address:
                missing.append("auth.ldap.server_address")
            if not self.ldap.bind_dn_templates and not self.ldap.lookup_dn:
                missing.append("auth.ldap.bind_dn_templates（または auth.ldap.lookup_dn）")
        if missing:
            raise ValueError(
                f"auth.type が {self.type!r} ですが、次の項目が空です: " + "、".join(missing)
            )
        return self
