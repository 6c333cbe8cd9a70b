"""Traits of the production identity providers, set from `auth.oidc`, `auth.ldap` and
`auth.groups` (called by `sunaba.hub.apply.update_auth`). Like every apply function, these only
set traits."""

from __future__ import annotations

import ssl

from sunaba.config.schema import SiteConfig


def _group_mapping(section, config: SiteConfig) -> None:
    groups = config.auth.groups
    section.sunaba_group_map = {
        "courses": groups.courses,
        "course_staff": groups.course_staff,
        "departments": groups.departments,
        "teams": groups.teams,
    }
    section.sunaba_admin_groups = list(groups.admins)
    section.sunaba_allowed_groups = list(groups.allowed)
    # The mapping decides who may log in (`auth.groups.allowed`); the default lets in everyone
    # the provider authenticates.
    section.allow_all = not groups.allowed


def _oidc_auth(c, config: SiteConfig) -> None:
    oidc = config.auth.oidc
    c.JupyterHub.authenticator_class = "sunaba.deploy.identity.SunabaOIDCAuthenticator"
    section = c.SunabaOIDCAuthenticator
    section.client_id = oidc.client_id
    section.client_secret = oidc.client_secret
    section.oidc_issuer = oidc.issuer
    # Only URLs given explicitly: the others come from the issuer's discovery document.
    for trait in ("authorize_url", "token_url", "userdata_url"):
        if getattr(oidc, trait):
            section[trait] = getattr(oidc, trait)
    section.oauth_callback_url = oidc.callback_url or (
        f"https://{config.deploy.server_name}{config.hub.base_url}hub/oauth_callback"
    )
    section.scope = list(oidc.scope)
    section.username_claim = oidc.username_claim
    section.groups_claim = oidc.groups_claim
    section.strip_email_domain = oidc.strip_email_domain
    section.login_service = oidc.login_service
    section.validate_server_cert = oidc.verify_tls
    _group_mapping(section, config)


def _ldap_auth(c, config: SiteConfig) -> None:
    ldap = config.auth.ldap
    c.JupyterHub.authenticator_class = "sunaba.deploy.identity.SunabaLDAPAuthenticator"
    section = c.SunabaLDAPAuthenticator
    section.server_address = ldap.server_address
    section.server_port = ldap.server_port or (636 if ldap.tls == "ldaps" else 389)
    section.tls_strategy = {"starttls": "before_bind", "ldaps": "on_connect", "none": "insecure"}[
        ldap.tls
    ]
    if ldap.tls != "none":
        # ldap3 checks no certificate unless told to: a man in the middle would get passwords.
        section.tls_kwargs = {
            "validate": ssl.CERT_REQUIRED,
            "ca_certs_file": ldap.ca_file or None,
        }
    section.bind_dn_template = list(ldap.bind_dn_templates)
    section.lookup_dn = ldap.lookup_dn
    if ldap.lookup_dn:
        section.lookup_dn_search_user = ldap.search_user
        section.lookup_dn_search_password = ldap.search_password
        section.lookup_dn_user_dn_attribute = ldap.user_attribute
    section.user_search_base = ldap.user_search_base
    section.user_attribute = ldap.user_attribute
    section.group_attribute = ldap.group_attribute
    section.auth_state_attributes = [ldap.group_attribute]
    _group_mapping(section, config)


def update_identity_provider(c, config: SiteConfig) -> None:
    if config.auth.type == "oidc":
        _oidc_auth(c, config)
    elif config.auth.type == "ldap":
        _ldap_auth(c, config)
