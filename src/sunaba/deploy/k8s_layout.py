"""Names and paths shared by the Kubernetes values, the extra manifests and the hub pod."""

from __future__ import annotations

from pathlib import PurePosixPath

from sunaba.config.schema import SiteConfig
from sunaba.core.state import public_datasets_dir
from sunaba.hub.areas import area_hooks

# Inside the images (deploy/k8s/images/): the checkout the hub runs from, and the learner's home.
HUB_SOURCE_DIR = "/srv/sunaba/source"
HOME_MOUNT = "/home/jovyan"
LEARNER_UID = 1000
LEARNER_GID = 100
# The hub's state volume is mounted here and the state dir is a folder inside it, created by the
# hub's own (non-root) user so that it can keep it 0700.
STATE_MOUNT = "/srv/sunaba/volume"
STATE_DIR = f"{STATE_MOUNT}/state"
SITE_CONFIG_PATH = "/etc/sunaba/sunaba.yaml"

# Objects this chart adds next to Zero to JupyterHub's.
SHARED_CLAIM = "sunaba-shared"
STATE_CLAIM = "sunaba-state"
POSTGRES_NAME = "sunaba-postgresql"
GRADER_TEMPLATE = "sunaba-grader"
# Published showcase apps: one pod per live version (`sunaba.showcase.k8s_pods`), labelled with
# this role, serving Voilà on this port to the hub pod only.
SHOWCASE_APP_ROLE = "showcase-app"
SHOWCASE_APP_PORT = 8888
# Course directories (nbgrader files, gradebooks): the hub and each course's formgrader pod
# mount this claim; learners' pods never do.
COURSES_CLAIM = "sunaba-courses"
COURSES_MOUNT = "/srv/sunaba/courses"
FORMGRADER_PORT = 8888

# Labels: Zero to JupyterHub's components, and Sunaba's roles.
COMPONENT = "component"
ROLE_LABEL = "sunaba.jp/role"
LEARNER_COMPONENT = "singleuser-server"
COURSE_LABEL = "sunaba.jp/course"
FORMGRADER_ROLE = "formgrader"
SINGLEUSER_ACCESS = "hub.jupyter.org/network-access-singleuser"
HUB_ACCESS = "hub.jupyter.org/network-access-hub"
HUB_PORT = 8081
PROXY_HTTP_PORT = 8000
LEARNER_PORT = 8888
POSTGRES_PORT = 5432
# Private and link-local ranges (the cloud metadata server lives in 169.254.0.0/16).
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")


def image_parts(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag


def shared_paths(config: SiteConfig) -> list[str]:
    """Directories learners see read-only: on one machine host paths, here folders of one shared
    volume mounted at the same paths (the runtime prefix itself comes with the image)."""
    paths = [str(public_datasets_dir(config))]
    paths += [p for hook in area_hooks("readonly_paths") for p in hook(config)]
    paths += list(config.sandbox.readonly_paths)
    prefix = PurePosixPath(config.hub.prefix)
    unique = []
    for path in paths:
        if PurePosixPath(path) == prefix or path in unique:
            continue
        unique.append(path)
    return unique


def sub_path(path: str) -> str:
    return path.strip("/")


def database_url(config: SiteConfig) -> str:
    return f"postgresql+psycopg://sunaba@{POSTGRES_NAME}:{POSTGRES_PORT}/sunaba"
