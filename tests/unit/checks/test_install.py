"""The learner-side copy under the runtime prefix: complete, readable, idempotent."""

from __future__ import annotations

import subprocess
import sys

from sunaba.checks.install import ensure_learner_client
from sunaba.config.schema import SiteConfig


def test_copy_and_path_file(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    config = SiteConfig.model_validate({"hub": {"prefix": str(tmp_path)}})
    changed = ensure_learner_client(config)
    root = tmp_path / "lib" / "sunaba-learner"
    assert (site / "sunaba-learner.pth").read_text() == f"{root}\n"
    assert str(root / "sunaba" / "checks" / "wire.py") in changed
    assert (root / "sunaba" / "datasets" / "loader.py").is_file()
    assert not (root / "sunaba" / "checks" / "service.py").exists()  # hub side only
    assert (root / "sunaba" / "checks" / "wire.py").stat().st_mode & 0o777 == 0o644
    assert ensure_learner_client(config) == []
    # The copy imports on its own, without the checkout.
    code = (
        "import sunaba.checks, sunaba.checks.wire, sunaba.checks.autograde; print(sunaba.__file__)"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(root)!r}); {code}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(root / "sunaba" / "__init__.py")
