"""`sunaba deploy image-prepare`: inside an image build, the learner environment steps of
`sunaba up` (JupyterLab settings, Japanese plot fonts, the dataset catalogue, the assignment-list
extension) so that a learner's pod on Kubernetes starts from what a learner's sandbox on one
machine sees."""

from __future__ import annotations

from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.deploy.local_install import (
    StepResult,
    ensure_datasets_tree,
    ensure_lab_settings,
    ensure_matplotlibrc,
)
from sunaba.exchange.learner_files import LAB_EXTENSION_NAME, ensure_lab_extension
from sunaba.messages import Text

LAB_EXTENSION = Text("課題一覧の JupyterLab 拡張機能", "assignment-list JupyterLab extension")


def prepare_image(config: SiteConfig, source: Path) -> list[StepResult]:
    prefix = Path(config.hub.prefix)
    return [
        ensure_lab_settings(prefix, config.site.language),
        ensure_matplotlibrc(prefix),
        ensure_datasets_tree(config, source / "datasets"),
        StepResult(LAB_EXTENSION, bool(ensure_lab_extension(config)), LAB_EXTENSION_NAME),
    ]
