"""``pip install .`` (not editable) into a fresh venv, then ``tapewatch demo`` from an empty folder.

The Docker images install tapewatch this way, so everything it reads at run time must be package
data: the model adapter, the watchlist, the example files and the Alertmanager template. The source
is copied without the tests first, so nothing can be found in the checkout by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from stream.devstack.monitoring import alertmanager_binary, prometheus_binary
from tests.helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.integration]

NOT_SHIPPED = (
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    ".tapewatch",
    ".*_cache",
    "tests",
    "docs",
)


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", COLUMNS="200")  # rich wraps at 80
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin folder, with tapewatch installed from a copy of the source."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    base = getattr(sys, "_base_executable", sys.executable)
    run(base, "-m", "venv", tmp / "venv")
    bin_dir = tmp / "venv" / "bin"
    run(bin_dir / "pip", "install", "-q", "--no-deps", source)
    # The dependencies come from this venv, added after the install so pip never sees (or touches)
    # its editable tapewatch; `make install` in CI's fresh clone is what resolves them from scratch.
    site = Path(
        run(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    )
    (site / "dependencies-of-the-test-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return bin_dir


def test_the_installed_package_runs_from_its_own_files(installed: Path, tmp_path: Path) -> None:
    reads_package_data = (
        "import alerts.alertmanager as a, stream.prepare.watchlist as w, model_service.artifact as m\n"
        "import stream\n"
        "print(stream.__file__)\n"
        "a.shipped_config(); w.read_watchlist(None).entities[0]; m.read_config(m.packaged_artifact_dir())\n"
    )
    found = run(installed / "python", "-c", reads_package_data, cwd=tmp_path)
    assert str(installed.parent) in found.stdout and str(ROOT) not in found.stdout


def test_the_demo_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    result = run(installed / "tapewatch", "demo", "--duration", "30", cwd=tmp_path, timeout=300)
    assert "demo finished; broker and worker stopped." in result.stdout
    if prometheus_binary() and alertmanager_binary():  # make test installs them: the shipped routing ran
        assert "Alertmanager http://127.0.0.1:" in result.stdout
        assert "webhook (tapewatch alerts listen) received" in result.stdout
    assert list(tmp_path.iterdir()) == []  # the demo keeps its state in a temporary folder
