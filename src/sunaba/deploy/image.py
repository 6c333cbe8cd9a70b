"""`sunaba deploy image-prepare`: inside an image build, the learner environment steps of
`sunaba up` (JupyterLab settings, Japanese plot fonts, the dataset catalogue) so that a learner's
pod on Kubernetes starts from what a learner's sandbox on one machine sees."""

from __future__ import annotations

from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.deploy.local_install import (
    StepResult,
    ensure_datasets_tree,
    ensure_lab_settings,
    ensure_matplotlibrc,
)


def prepare_image(config: SiteConfig, source: Path) -> list[StepResult]:
    prefix = Path(config.hub.prefix)
    return [
        ensure_lab_settings(prefix, config.site.language),
        ensure_matplotlibrc(prefix),
        ensure_datasets_tree(config, source / "datasets"),
    ]
