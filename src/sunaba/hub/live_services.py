"""Bring the running hub's services and roles in line with the site, without a restart.

JupyterHub reads `JupyterHub.services` and `load_roles` once, at start, and its REST API only
creates services it does not run. A course synced while the hub runs needs a formgrader that
the hub starts as the course's grader account, and roles that open it; a retired course's
formgrader should stop. `POST /hub/api/sunaba/services` (admin:services) recomputes what
`update_services` would give at a start and applies the difference: new services are created
and started exactly as at start-up (marked as coming from the config, so the next start keeps
them), missing roles and role grants are added, and services the config no longer has are
stopped and removed. Services that exist on both sides are left as they are: changing a running
one is what a restart is for. On Kubernetes a formgrader is an external service (a pod the sync
made, `sunaba.deploy.k8s_formgraders`): it is registered and routed even while its pod is still
starting.

`sunaba.hub.apply` puts the handler in the hub and hands it the function that gives the services
and roles, so this module needs nothing of the hub config's composition.

This runs inside the hub process and uses the same hub methods as JupyterHub's own service API
(`service_from_spec`, `start_service`); the tests pin that behaviour against the real hub.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from jupyterhub import orm, roles
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope

from sunaba.config.schema import SiteConfig

ROUTE = r"/api/sunaba/services"
MEMBER_KINDS = {"users": orm.User, "groups": orm.Group, "services": orm.Service}


# (config, facts) -> (entries of `c.JupyterHub.services`, of `c.JupyterHub.load_roles`).
ServicesAndRoles = Callable[[SiteConfig, object], tuple[list[dict], list[dict]]]


def wanted_services(
    config: SiteConfig, facts, services_and_roles: ServicesAndRoles
) -> tuple[dict[str, dict], list[dict]]:
    """({name: spec}, role specs) as a hub started now would have them."""
    services, role_specs = services_and_roles(config, facts)
    return {spec["name"]: spec for spec in services}, role_specs


class LiveServicesHandler(APIHandler):
    def initialize(
        self, site_config: SiteConfig, facts, services_and_roles: ServicesAndRoles
    ) -> None:
        self.site_config = site_config
        self.facts = facts
        self.services_and_roles = services_and_roles

    @needs_scope("admin:services")
    async def post(self):
        specs, role_specs = wanted_services(self.site_config, self.facts, self.services_and_roles)
        added = [spec for name, spec in specs.items() if name not in self.services]
        gone = [
            service
            for name, service in self.services.items()
            if name not in specs and service.orm.from_config
        ]
        created = [self.app.service_from_spec(spec, from_config=True) for spec in added]
        self.db.commit()
        granted = self._apply_roles(role_specs)
        started, failed = [], []
        for service in created:
            if service is None:
                continue
            if await self._start(service):
                started.append(service.name)
            else:
                failed.append(service.name)
        stopped = []
        for service in gone:
            await self._remove(service)
            stopped.append(service.name)
        self.write(
            json.dumps(
                {"started": started, "failed": failed, "stopped": stopped, "granted": granted}
            )
        )

    def _apply_roles(self, role_specs: list[dict]) -> list[str]:
        """Create missing roles and add missing grants; nothing is taken away while running."""
        granted = []
        for spec in role_specs:
            role = orm.Role.find(self.db, spec["name"])
            if role is None:
                role = roles.create_role(self.db, spec)
            for kind, model in MEMBER_KINDS.items():
                for name in spec.get(kind, []):
                    entity = model.find(self.db, name=name)
                    if entity is not None and role not in entity.roles:
                        roles.grant_role(self.db, entity, role)
                        granted.append(f"{spec['name']}:{name}")
        self.db.commit()
        return granted

    async def _start(self, service) -> bool:
        if service.oauth_no_confirm:
            self.settings["oauth_no_confirm_list"].add(service.oauth_client_id)
        up = await self.app.start_service(service.name, service)
        if not up and service.managed:
            return False
        # An external service (a formgrader pod on Kubernetes) may still be starting when it is
        # registered: route it now, as the hub does at start, so it works once it is up.
        if service.url:
            await self.proxy.add_service(service)
        return True

    async def _remove(self, service) -> None:
        self.log.info("Removing service %s: the site no longer has it", service.name)
        if service.proxy_spec:  # while it still has its server (stopping drops it)
            await self.proxy.delete_service(service)
        if service.managed:
            await service.stop()
        if service.oauth_client:
            self.oauth_provider.remove_client(service.oauth_client_id)
        self.settings["oauth_no_confirm_list"].discard(service.oauth_client_id)
        orm_service = service.orm
        if orm_service.server is not None:
            self.db.delete(orm_service.server)
        self.db.delete(orm_service)
        self.db.commit()
        self.services.pop(service.name, None)
