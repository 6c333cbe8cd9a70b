"""The Helm chart for Kubernetes: Sunaba's chart, which depends on Zero to JupyterHub, with its
values and extra manifests rendered from the site config. The extra objects are rendered as
plain manifests (no Helm templating), so tests read exactly what the cluster gets."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from sunaba.config.loader import validate
from sunaba.config.schema import SiteConfig
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_manifests import grader_template
from sunaba.deploy.k8s_policies import (
    formgrader_policy,
    grader_policy,
    learner_policy,
    showcase_app_policy,
)
from sunaba.deploy.k8s_rbac import formgrader_rbac, grading_rbac, showcase_rbac
from sunaba.deploy.k8s_schema import ChartReference, validate_values
from sunaba.deploy.k8s_services import (
    ServicePort,
    ServicePortError,
    exposed_ports,
    services_in_cluster,
)
from sunaba.deploy.k8s_storage import courses_volume, postgres, volumes
from sunaba.deploy.k8s_values import jupyterhub_values, k8s_site_config
from sunaba.deploy.rendered import (
    RenderedFile,
    RenderError,
    check_no_secrets,
    comment_header,
    dump_yaml,
    secret_values,
)
from sunaba.deploy.services import HubService, hub_services, target_facts

JUPYTERHUB_REPOSITORY = "https://hub.jupyter.org/helm-chart/"


def pod_site_config(config: SiteConfig) -> SiteConfig:
    return validate(k8s_site_config(config), "the hub pod's site config")


def k8s_services(pod_config: SiteConfig) -> list[HubService]:
    """The services as the hub pod will compute them: from the config it will load, with the
    facts of a pod (no course synced yet) and the addresses the cluster reaches them at."""
    python = str(Path(pod_config.hub.prefix) / "venv" / "bin" / "python")
    facts = target_facts(python, Path(L.HUB_SOURCE_DIR) / "hub_config", "kubernetes")
    try:
        services = hub_services(
            pod_config, facts, adapt=lambda specs: services_in_cluster(specs, pod_config)
        )
    except ServicePortError as exc:
        raise RenderError(ja=exc.text.ja, en=exc.text.en) from exc
    unfixed = [s.name for s in services if not s.port_fixed]
    if unfixed:
        raise RenderError(
            ja=f"ポートが固定されていないハブのサービスには Kubernetes 上で届きません: {unfixed}",
            en=f"hub services without a fixed port cannot be reached on Kubernetes: {unfixed}",
        )
    return services


def chart_metadata(config: SiteConfig) -> dict:
    sunaba_version = version("sunaba")
    return {
        "apiVersion": "v2",
        "name": "sunaba",
        "description": "Sunaba learning hub: Zero to JupyterHub with Sunaba's services",
        "type": "application",
        "version": sunaba_version,
        "appVersion": sunaba_version,
        "dependencies": [
            {
                "name": "jupyterhub",
                "version": config.deploy.k8s.jupyterhub_chart_version,
                "repository": JUPYTERHUB_REPOSITORY,
            }
        ],
    }


def showcase_manifests(config: SiteConfig) -> dict[str, list[dict]]:
    if not config.showcase.enabled:
        return {}
    return {"templates/sunaba-showcase.yaml": [showcase_app_policy(), *showcase_rbac()]}


def manifests(config: SiteConfig, ports: list[ServicePort]) -> dict[str, list[dict]]:
    """Template file name -> the objects it holds; `ports` are the hub Service's extra ports."""
    files = {
        "templates/sunaba-networkpolicies.yaml": [
            learner_policy(config, ports),
            grader_policy(),
            formgrader_policy(config),
        ],
        "templates/sunaba-volumes.yaml": [*volumes(config), courses_volume(config)],
        "templates/sunaba-grader.yaml": [grader_template(config)],
        "templates/sunaba-grading-rbac.yaml": grading_rbac(),
        "templates/sunaba-formgrader-rbac.yaml": formgrader_rbac(),
    }
    if config.deploy.k8s.postgresql:
        files["templates/sunaba-postgresql.yaml"] = postgres(config)
    files.update(showcase_manifests(config))
    return files


def _multi_doc(objects: list[dict]) -> str:
    return comment_header() + "".join("---\n" + dump_yaml(obj) for obj in objects)


def render_k8s(config: SiteConfig, reference: ChartReference | None) -> list[RenderedFile]:
    """Every file of the chart. With a chart reference the values are validated against the
    chart's schema first; rendering fails rather than produce values the chart would refuse."""
    pod_config = pod_site_config(config)
    services = k8s_services(pod_config)
    ports = exposed_ports(pod_config, services)
    values = jupyterhub_values(config, services, ports)
    if reference is not None:
        validate_values(values, reference)
    files = [
        RenderedFile("Chart.yaml", comment_header() + dump_yaml(chart_metadata(config))),
        RenderedFile("values.yaml", comment_header() + dump_yaml({"jupyterhub": values})),
    ]
    for path, objects in manifests(config, ports).items():
        files.append(RenderedFile(path, _multi_doc(objects)))
    check_no_secrets(files, secret_values(config))
    return sorted(files, key=lambda f: f.path)
