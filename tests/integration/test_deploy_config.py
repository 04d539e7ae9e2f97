"""The shipped Prometheus rules and Alertmanager config, checked by the real tools.

promtool and amtool come with Debian's prometheus and prometheus-alertmanager packages, which
`make test` installs when it runs as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from alerts.rules import render_rules
from alerts.settings import AlertSettings

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules/tapewatch.rules.yml"
RULE_TESTS = ROOT / "deploy/prometheus/tests/tapewatch.test.yml"
ALERTMANAGER = ROOT / "deploy/alertmanager/alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: install Debian's prometheus and prometheus-alertmanager (make test does)"
    return path


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_committed_rules_are_the_rendered_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TAPEWATCH_ALERT_")]:
        monkeypatch.delenv(name)
    assert RULES.read_text() == render_rules(AlertSettings()), "run `tapewatch rules render`"


def test_promtool_checks_the_rules() -> None:
    assert "SUCCESS: 5 rules found" in run(tool("promtool"), "check", "rules", str(RULES))


def test_promtool_rule_tests_pass() -> None:
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", str(RULE_TESTS))


def test_rendered_rules_follow_changed_thresholds(tmp_path: Path) -> None:
    text = render_rules(AlertSettings(z_warning=2.5, min_count=20, for_s=30))
    assert ">= 2.5" in text and ">= 20" in text and "for: 30s" in text
    path = tmp_path / "rules.yml"
    path.write_text(text)
    run(tool("promtool"), "check", "rules", str(path))


def test_amtool_accepts_the_alertmanager_config() -> None:
    out = run(tool("amtool"), "check-config", str(ALERTMANAGER))
    assert "SUCCESS" in out and "1 inhibit rules" in out and "2 receivers" in out
