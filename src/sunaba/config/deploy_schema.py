"""Where Sunaba runs beyond one machine: the site config's `deploy` section (VM, Kubernetes)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sunaba.config.section import Section


class VmDeploySection(Section):
    """A server run by systemd, with nginx terminating TLS in front of the hub."""

    config_file: str = Field(
        "/etc/sunaba/sunaba.yaml", description="Where the site config lives on the server."
    )
    source_dir: str = Field(
        "/usr/local/lib/sunaba",
        description="Checkout the server runs from (root only: it holds graders and solutions).",
    )
    listen_address: str = Field(
        "", description="Address nginx listens on; empty means every address of the server."
    )
    http_port: int = Field(80, ge=1, le=65535, description="Port that redirects to HTTPS.")
    https_port: int = Field(443, ge=1, le=65535, description="Port that serves the hub over TLS.")
    tls_certificate: str = Field(
        "/etc/sunaba/tls/fullchain.pem",
        description="Certificate chain (PEM) nginx presents, such as Let's Encrypt's "
        "`fullchain.pem`.",
    )
    tls_certificate_key: str = Field(
        "/etc/sunaba/tls/privkey.pem", description="Private key of that certificate (PEM)."
    )
    max_upload_size: str = Field(
        "100M",
        description="Largest request body nginx lets through: notebook uploads and exchange "
        "submissions.",
    )
    backup_dir: str = Field(
        "/var/backups/sunaba", description="Where the nightly `sunaba backup` writes archives."
    )
    backup_keep: int = Field(14, ge=1, description="Backup archives kept; older ones are removed.")
    backup_time: str = Field(
        "02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Time of the nightly backup."
    )
    log_keep_days: int = Field(30, ge=1, description="Days of hub logs kept by logrotate.")

    @field_validator("max_upload_size")
    @classmethod
    def _upload_size(cls, value: str) -> str:
        if not re.match(r"^\d+[kKmMgG]?$", value):
            raise ValueError("100M や 1G のような nginx の大きさで書いてください")
        return value


class K8sDeploySection(Section):
    """Kubernetes through the Zero to JupyterHub chart, on which Sunaba's chart depends."""

    release: str = Field(
        "sunaba", pattern=r"^[a-z][a-z0-9-]{0,30}$", description="Helm release name."
    )
    namespace: str = Field("sunaba", description="Namespace the release is installed in.")
    jupyterhub_chart_version: str = Field(
        "4.4.0",
        description="Exact version of the Zero to JupyterHub chart Sunaba's chart depends on. "
        "4.4.0 (made for JupyterHub 5.5.0) is the release whose values schema renders are "
        "validated against; a range is refused, as helm would take whatever is newest.",
    )

    @field_validator("jupyterhub_chart_version")
    @classmethod
    def _exact_chart_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", value):
            raise ValueError("4.4.0 のように、範囲ではなく版をひとつ書いてください")
        return value

    hub_image: str = Field(
        "sunaba/hub:0.1.0",
        description="Hub image built from `deploy/k8s/images/hub.Dockerfile` (name:tag).",
    )
    singleuser_image: str = Field(
        "sunaba/singleuser:0.1.0",
        description="Learner image built from `deploy/k8s/images/singleuser.Dockerfile`.",
    )
    storage_class: str = Field(
        "", description="StorageClass of learners' home volumes (empty: the cluster default)."
    )
    home_size: str = Field("10Gi", description="Size of each learner's home volume.")
    shared_storage_class: str = Field(
        "",
        description="StorageClass of the shared volume (datasets, released course files); it "
        "must offer ReadWriteMany.",
    )
    shared_size: str = Field("20Gi", description="Size of the shared read-only volume.")
    state_size: str = Field(
        "10Gi", description="Size of the hub's state volume (course dirs, gradebooks, showcase)."
    )
    memory_guarantee: str = Field(
        "512M",
        description="Memory reserved for each learner's pod (the limit is `sandbox.memory_limit`).",
    )
    cpu_guarantee: float = Field(
        0.2,
        gt=0,
        le=64,
        description="CPU reserved for each learner's pod (limit: `sandbox.cpu_limit`).",
    )
    learner_internet: bool = Field(
        False,
        description="Let learners' pods reach public internet addresses. Off: they reach only "
        "the proxy, the hub and Sunaba's services.",
    )
    postgresql: bool = Field(
        True,
        description="Run a PostgreSQL StatefulSet in the release for the hub and records "
        "databases (off: `hub.db_url` and `records.db_url` point elsewhere).",
    )
    postgresql_image: str = Field("postgres:15-bookworm", description="PostgreSQL image.")
    postgresql_size: str = Field("10Gi", description="Size of PostgreSQL's volume.")
    db_secret: str = Field(
        "sunaba-db",
        description="Secret holding the database password under the key `password`.",
    )
    auth_secret: str = Field(
        "sunaba-auth",
        description="Secret holding `oidc-client-secret` and/or `ldap-search-password`.",
    )
    tls_secret: str = Field(
        "sunaba-tls", description="Secret of type kubernetes.io/tls for the ingress."
    )
    formgrader_ports: int = Field(
        10,
        ge=0,
        le=100,
        description="Courses that can have a formgrader on Kubernetes. Every Sunaba service "
        "has a fixed port there, listed on the hub Service (`hub`): the check service 8090, "
        "the showcase 8091, the exchange 8100 (or `checks.port`, `showcase.port`, "
        "`courses.service_port` when set), and this many ports after the exchange's for "
        "formgraders. The hub refuses to start with more synced courses.",
    )
    grader_memory: str = Field("512M", description="Memory limit of one grading pod.")
    grader_cpu: float = Field(1.0, gt=0, le=16, description="CPU limit of one grading pod.")


class DeploySection(Section):
    server_name: str = Field(
        "", description="Public DNS name of the hub on a VM or Kubernetes (empty on one machine)."
    )
    vm: VmDeploySection = Field(
        default_factory=VmDeploySection, description="A server with systemd and nginx."
    )
    k8s: K8sDeploySection = Field(
        default_factory=K8sDeploySection, description="Kubernetes with Zero to JupyterHub."
    )
