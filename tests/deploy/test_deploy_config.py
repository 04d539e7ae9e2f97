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
import yaml

from alerts.rules import render_rules
from alerts.settings import AlertSettings
from tests.helpers import ROOT

pytestmark = pytest.mark.integration  # real servers, tools or CLI processes

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
    assert "SUCCESS: 9 rules found" in run(tool("promtool"), "check", "rules", str(RULES))


def test_promtool_checks_the_compose_prometheus_config() -> None:
    out = run(tool("promtool"), "check", "config", str(ROOT / "deploy/prometheus/prometheus.yml"))
    assert "SUCCESS" in out


def test_promtool_rule_tests_pass() -> None:
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", str(RULE_TESTS))


def test_rendered_rules_follow_changed_thresholds(tmp_path: Path) -> None:
    settings = AlertSettings(horizons="5m,2h", z_warning=3.5, min_authors=20, for_s=30)
    text = render_rules(settings)
    assert 'horizon="5m"} >= 3.5' in text and f'horizon="2h"}} >= {settings.threshold(7200):g}' in text
    assert "negative_authors >= 20" in text and "for: 30s" in text and 'horizon="1d"' not in text
    path = tmp_path / "rules.yml"
    path.write_text(text)
    run(tool("promtool"), "check", "rules", str(path))


def test_amtool_accepts_the_alertmanager_config() -> None:
    out = run(tool("amtool"), "check-config", str(ALERTMANAGER))
    assert "SUCCESS" in out and "1 inhibit rules" in out and "2 receivers" in out


COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def compose(env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` (Debian's docker-compose) on the compose file with ``env_file``."""
    args = [tool("docker-compose"), "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file",
            str(env_file), "config"]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def filled_env(path: Path, leave_empty: str = "") -> Path:
    """.env.example with every empty value filled in (but ``leave_empty``)."""
    lines = [
        f"{line}placeholder" if line.endswith("=") and line != f"{leave_empty}=" else line
        for line in ENV_EXAMPLE.read_text().splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The compose file as `docker-compose config` resolves it, with .env.example filled in."""
    done = compose(filled_env(tmp_path_factory.mktemp("compose") / ".env"))
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_docker_compose_accepts_the_file_with_every_service(compose_config: dict) -> None:
    services = set(compose_config["services"])
    assert {"kafka", "kafka-init", "worker", "model", "model-cpu", "rss-ingest", "prometheus",
            "alertmanager", "grafana", "listener"} <= services  # fmt: skip
    gpu = compose_config["services"]["model"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"] and gpu["driver"] == "nvidia"
    for name, service in compose_config["services"].items():
        if name != "kafka-init":
            assert service.get("restart") == "unless-stopped", name
        assert "container_name" not in service, f"{name}: a fixed name stops --scale"


def test_every_image_is_pinned_and_every_mounted_file_exists(compose_config: dict) -> None:
    for name, service in compose_config["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and any(c.isdigit() for c in tag), f"{name}: {image}"
        if "build" in service:
            assert (Path(service["build"]["context"]) / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("/"):
                assert Path(source).exists(), f"{name} mounts {source}, which does not exist"


def test_dockerfiles_pin_their_bases_and_run_as_a_user() -> None:
    for dockerfile in (ROOT / "deploy/docker").glob("*.Dockerfile"):
        text = dockerfile.read_text()
        bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
        assert bases and all(
            ":" in b and not b.endswith(":latest") for b in bases if b not in ("base", "build")
        )
        assert "\nUSER tapewatch" in text, f"{dockerfile.name} runs as root"
        assert "torch==2.13.0" in text


def test_every_required_variable_is_in_the_env_example() -> None:
    import re

    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    listed = {line.split("=")[0] for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line}
    assert required and required <= listed, f"missing from .env.example: {required - listed}"
    assert all(
        line.endswith("=")
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "TOKEN=" in line or "KEY=" in line
    )


def test_dockerfiles_copy_every_package_the_wheel_ships() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    for dockerfile in (ROOT / "deploy/docker").glob("*.Dockerfile"):
        copied = {
            line.split()[1]
            for line in dockerfile.read_text().splitlines()
            if line.startswith("COPY ") and "./" in line
        }
        assert packages <= copied, f"{dockerfile.name} does not copy {sorted(packages - copied)}"


def test_the_compose_init_job_creates_every_topic_the_workers_use() -> None:
    import re

    from stream.topics import TopicNames

    command = " ".join(yaml.safe_load(COMPOSE.read_text())["services"]["kafka-init"]["command"])
    created = {f"tapewatch.{name}" for name in re.search(r"for topic in ([^;]+);", command).group(1).split()}
    assert created == set(TopicNames("tapewatch").all())


TOKENS = {  # every service that takes requests from the network, and the token it requires
    "worker": "TAPEWATCH_INGEST_TOKEN",
    "model": "TAPEWATCH_MODEL_TOKEN",
    "listener": "TAPEWATCH_ALERT_LISTEN_TOKEN",
}


def test_every_service_that_takes_requests_requires_its_token(compose_config: dict, tmp_path: Path) -> None:
    """Issue 14 item 6: the listener ran on 0.0.0.0 with no token, the ingest token could be empty."""
    services = compose_config["services"]
    for name, variable in TOKENS.items():
        assert services[name]["environment"][variable] == "placeholder", name
        done = compose(filled_env(tmp_path / f"{name}.env", leave_empty=variable))
        assert done.returncode != 0 and f"set {variable} in .env" in done.stderr, name
    # Alertmanager sends the listener's token from the file its entrypoint writes
    alertmanager = services["alertmanager"]
    assert alertmanager["environment"]["TAPEWATCH_ALERT_LISTEN_TOKEN"] == "placeholder"
    credentials = "/alertmanager/secrets/listen-token"
    assert credentials in " ".join(alertmanager["command"])
    shipped = yaml.safe_load(ALERTMANAGER.read_text())
    webhooks = [hook for receiver in shipped["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert webhooks and all(
        hook["http_config"]["authorization"] == {"type": "Bearer", "credentials_file": credentials}
        for hook in webhooks
    )


def test_published_ports_bind_loopback_only(compose_config: dict) -> None:
    published = [
        (name, port)
        for name, service in compose_config["services"].items()
        for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} == {"prometheus", "alertmanager", "grafana"}
    for name, port in published:
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
        assert host_ip == "127.0.0.1", f"{name} publishes {port}"


def test_the_demo_routing_sends_the_listener_token_from_its_file(tmp_path: Path) -> None:
    from alerts.alertmanager import routed_to, shipped_config

    token = tmp_path / "listen-token"
    routed = routed_to(shipped_config(), "http://127.0.0.1:1/alertmanager", token, group_s=1)
    hooks = [hook for receiver in routed["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert all(hook["http_config"]["authorization"]["credentials_file"] == str(token) for hook in hooks)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(routed))
    assert "SUCCESS" in run(tool("amtool"), "check-config", str(path))
    unauthenticated = routed_to(shipped_config(), "http://x", None)["receivers"]
    assert all("http_config" not in hook for r in unauthenticated for hook in r.get("webhook_configs", []))
