"""Production identity providers: OpenID Connect (GenericOAuthenticator) and LDAP / Active
Directory (LDAPAuthenticator), with the provider's groups mapped onto Sunaba's hub groups.

At every login the groups the provider reports are mapped through `auth.groups` (courses, course
staff, 所属, teams, admins). Only hub groups that the mapping can produce are changed: groups set
by other means (`sunaba courses sync`, the admin page) are left alone, so JupyterHub's
`manage_groups` (which would lock every group API) is not used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jupyterhub.utils import maybe_future
from ldap3.core.exceptions import LDAPException
from ldapauthenticator import LDAPAuthenticator
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from traitlets import Bool, Dict, HasTraits, List, Unicode

from sunaba.deploy.oidc_discovery import ENDPOINT_FIELDS, discover_endpoints

# Hub group names each kind of provider group maps to.
GROUP_KINDS = {
    "courses": "nbgrader-{}",
    "course_staff": "formgrade-{}",
    "departments": "dept-{}",
    "teams": "team-{}",
}


def ldap_group_name(value: str) -> str:
    """`cn=bousai,ou=groups,dc=city` -> `cn=bousai,ou=groups,dc=city` (DNs compare loosely)."""
    return ",".join(part.strip() for part in value.split(",")).lower()


class GroupMapping:
    """Provider groups -> hub groups, admin flag and login permission."""

    def __init__(self, mapping: dict, admins: Iterable[str], allowed: Iterable[str], key=str):
        self.key = key
        self.targets = {
            self.key(group): template.format(target)
            for kind, template in GROUP_KINDS.items()
            for group, target in (mapping.get(kind) or {}).items()
        }
        self.admins = {self.key(g) for g in admins}
        self.allowed = {self.key(g) for g in allowed}

    @property
    def managed(self) -> set[str]:
        return set(self.targets.values())

    def hub_groups(self, provider_groups: Iterable[str]) -> set[str]:
        keys = {self.key(g) for g in provider_groups}
        return {target for group, target in self.targets.items() if group in keys}

    def is_admin(self, provider_groups: Iterable[str]) -> bool | None:
        if not self.admins:
            return None  # the provider says nothing about admins: keep hub.admin_users
        return bool(self.admins & {self.key(g) for g in provider_groups})

    def may_log_in(self, provider_groups: Iterable[str]) -> bool:
        return not self.allowed or bool(self.allowed & {self.key(g) for g in provider_groups})


class GroupMappingMixin(HasTraits):
    """Shared by both authenticators: reads the provider's groups from the auth model."""

    sunaba_group_map = Dict(
        help="Provider group -> target per kind: courses, course_staff, departments, teams."
    ).tag(config=True)
    sunaba_admin_groups = List(Unicode(), help="Provider groups of hub admins.").tag(config=True)
    sunaba_allowed_groups = List(
        Unicode(), help="Provider groups that may log in (empty: everyone)."
    ).tag(config=True)

    group_key = staticmethod(str)

    @property
    def mapping(self) -> GroupMapping:
        return GroupMapping(
            self.sunaba_group_map,
            self.sunaba_admin_groups,
            self.sunaba_allowed_groups,
            key=self.group_key,
        )

    def provider_groups(self, auth_model: dict) -> list[str]:
        raise NotImplementedError

    async def check_allowed(self, username, auth_model):
        if username in self.admin_users:
            return True
        return self.mapping.may_log_in(self.provider_groups(auth_model))

    async def run_post_auth_hook(self, handler, auth_model):
        groups = self.provider_groups(auth_model)
        mapping = self.mapping
        admin = mapping.is_admin(groups)
        if admin is not None:
            auth_model["admin"] = admin or auth_model["name"] in self.admin_users
        if handler is not None:
            await self._sync_mapped_groups(handler, auth_model["name"], mapping, groups)
        return await super().run_post_auth_hook(handler, auth_model)

    async def _sync_mapped_groups(self, handler, name, mapping: GroupMapping, groups) -> None:
        user = handler.find_user(name)
        if user is None:
            user = handler.user_from_username(name)
            await maybe_future(self.add_user(user))
        current = {group.name for group in user.groups}
        wanted = (current - mapping.managed) | mapping.hub_groups(groups)
        if wanted != current:
            user.sync_groups(sorted(wanted))


def hub_name(login: str, strip_email_domain: bool) -> str:
    """A provider's login as a hub name: lower case, e-mail domain dropped, dots as dashes."""
    name = login.strip().lower()
    if strip_email_domain and "@" in name:
        name = name.split("@", 1)[0]
    return re.sub(r"[.\s]+", "-", name)


class SunabaOIDCAuthenticator(GroupMappingMixin, GenericOAuthenticator):
    groups_claim = Unicode("groups", help="Claim holding the person's groups.").tag(config=True)
    strip_email_domain = Bool(True, help="Drop @domain from logins.").tag(config=True)
    oidc_issuer = Unicode(
        "",
        help="Issuer URL. When set, the authorize, token and userinfo URLs not configured "
        "explicitly are read from its discovery document when the hub starts.",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        needed = [trait for trait in ENDPOINT_FIELDS if not getattr(self, trait)]
        if self.oidc_issuer and needed:
            # At start, not at the first login: a wrong issuer stops the hub with the reason
            # instead of leaving a login button that cannot work.
            found = discover_endpoints(self.oidc_issuer, needed, self.validate_server_cert)
            for trait, url in found.items():
                setattr(self, trait, url)
            self.log.info("OpenID Connect endpoints of %s: %s", self.oidc_issuer, found)

    def normalize_username(self, username):
        return hub_name(username, self.strip_email_domain)

    def provider_groups(self, auth_model: dict) -> list[str]:
        state = auth_model.get("auth_state") or {}
        user = state.get(self.user_auth_state_key) or {}
        groups = user.get(self.groups_claim) or []
        return [groups] if isinstance(groups, str) else list(groups)


# Shown on the login page when the directory cannot be reached safely.
LDAP_UNAVAILABLE = (
    "ディレクトリサーバーに安全に接続できないため、ログインできません。"
    "しばらくしてからもう一度お試しください。続くときは管理者に連絡してください。"
)


class SunabaLDAPAuthenticator(GroupMappingMixin, LDAPAuthenticator):
    group_attribute = Unicode("memberOf", help="Attribute listing group DNs.").tag(config=True)
    group_key = staticmethod(ldap_group_name)

    def get_connection(self, userdn, password):
        # A wrong password is a failed bind (None from the parent); anything else means the
        # hub cannot talk to the directory, which the person at the login page cannot fix.
        try:
            return super().get_connection(userdn, password)
        except LDAPException as exc:
            self.log.error("%s", self._connection_problem(exc))
            raise web.HTTPError(503, LDAP_UNAVAILABLE) from exc

    def _connection_problem(self, exc: Exception) -> str:
        server = f"{self.server_address}:{self.server_port} ({self.tls_strategy.name})"
        if "certificate" in str(exc).lower():
            ca_file = self.tls_kwargs.get("ca_certs_file") or "the system's CAs"
            return (
                f"LDAP server {server}: its TLS certificate was refused ({exc}). It must be "
                f"signed by a CA in auth.ldap.ca_file ({ca_file}) and issued for "
                f"{self.server_address}."
            )
        return f"LDAP server {server}: cannot connect ({exc.__class__.__name__}: {exc})"

    def normalize_username(self, username):
        return hub_name(username, strip_email_domain=True)

    def provider_groups(self, auth_model: dict) -> list[str]:
        state = auth_model.get("auth_state") or {}
        attributes = state.get("user_attributes") or {}
        groups = attributes.get(self.group_attribute) or []
        return [groups] if isinstance(groups, str) else list(groups)
