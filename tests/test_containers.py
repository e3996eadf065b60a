"""The container files agree with the code: docker-compose.yml as `docker-compose config` reads
it (Debian's docker-compose, which needs no engine; `docker compose` where that is installed),
and the Dockerfile. Every MONITOR_* variable they set is a variable the configuration reads, the
commands are valid `monitor` command lines, the health checks ask the daemon's /healthz on the
port it listens on, secrets come from files, and the configuration can be written.

No Docker engine runs where these tests run: the image is never built and no container is
started. Where no compose tool is installed either, the YAML file is read as it is written
(PyYAML) and the checks that need compose's reading (interpolation, path resolution) are made on
that text (the fixture's ``COMPOSE_TOOL`` says which, and the first test's failure shows it).
scripts/test installs Debian's docker-compose where it can, so CI uses the tool.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config as configmod
from monitor.cli.commands import cmd_run
from monitor.cli.parser import build_parser
from tests.conftest import REPO

HEALTHZ = "http://127.0.0.1:9108/healthz"
# Settings another branch of issue 15 adds ([ops] listen, the daemon's HTTP listener), set by the
# Dockerfile already; accepted here only while the configuration does not read them yet, so the
# check is strict again once that branch is merged.
PENDING = {"MONITOR_OPS_LISTEN"} - set(configmod.variables())


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if done.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """docker-compose.yml as the compose tool resolves it (variables interpolated with no
    MONITOR_EMAIL_TO set, so its default shows), else as written."""
    command = _compose_command()
    if command is None:
        text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
        # Compose's interpolation of ${NAME:-default} with NAME unset, the only form used.
        data = yaml.safe_load(re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text))
        data["COMPOSE_TOOL"] = "none: the YAML read as written"
        return data
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "COMPOSE_"))}
    done = subprocess.run(
        [*command, "--project-directory", str(REPO), "-f", "docker-compose.yml", "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    data["COMPOSE_TOOL"] = " ".join(command)
    return data


def _dockerfile() -> dict[str, Any]:
    """The Dockerfile's instructions that matter here: USER, ENV (as a dict), ENTRYPOINT,
    CMD and HEALTHCHECK's command, each exec-form JSON array read as JSON."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out: dict[str, Any] = {"ENV": {}}
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            out["ENV"].update(dict(part.split("=", 1) for part in shlex.split(rest)))
        elif word in ("USER", "ENTRYPOINT", "CMD"):
            out[word] = json.loads(rest) if rest.startswith("[") else rest.strip()
        elif word == "HEALTHCHECK":
            # HEALTHCHECK [OPTIONS] CMD ["exec", "form"]: the array after CMD
            out["HEALTHCHECK"] = json.loads(rest[rest.index("CMD") + 3 :])
    return out


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the list form, KEY=VALUE
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_runs_postgres_the_daemon_and_a_mail_sink(compose: dict[str, Any]) -> None:
    """Three services: PostgreSQL and Mailpit health-checked, the daemon started only once
    both are healthy; Mailpit's web view is published and the daemon's SMTP URL is Mailpit's
    SMTP port on the compose network."""
    services = compose["services"]
    assert set(services) == {"postgres", "monitor", "mailpit"}, compose["COMPOSE_TOOL"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert services["mailpit"]["healthcheck"]["test"]
    assert any("8025:8025" in str(p) for p in services["mailpit"]["ports"])
    depends = services["monitor"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["mailpit"]["condition"] == "service_healthy"
    assert _environment(services["monitor"])["MONITOR_EMAIL_SMTP_URL"] == "smtp://mailpit:1025"


def test_every_monitor_variable_is_a_setting_and_the_configuration_loads(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Each MONITOR_* variable of the daemon's service and of the image is one the
    configuration reads, and the shipped configuration loads with them (secret files stood in
    for by a temporary file): the storage URL is the postgres service's database, the
    password comes from the secret."""
    env = {**_dockerfile()["ENV"], **_environment(compose["services"]["monitor"])}
    names = {k for k in env if k.startswith("MONITOR_")}
    unknown = names - set(configmod.variables())
    assert unknown <= PENDING, unknown
    secret = tmp_path / "secret"
    secret.write_text("from-the-secret\n", encoding="utf-8")
    loaded = {k: str(secret) if k.endswith("_FILE") else v for k, v in env.items()}
    loaded = {k: v for k, v in loaded.items() if k not in PENDING and k != "MONITOR_CONFIG"}
    cfg = configmod.load(REPO / env["MONITOR_CONFIG"], env=loaded)
    postgres = _environment(compose["services"]["postgres"])
    assert (
        cfg.storage.url
        == f"postgresql+psycopg://{postgres['POSTGRES_USER']}@postgres/" + (postgres["POSTGRES_DB"])
    )
    assert cfg.storage.password == "from-the-secret"
    assert cfg.email.to == ["desk@example.org"]


def test_secrets_come_from_files_never_inline(compose: dict[str, Any]) -> None:
    """No service sets a password (or a URL holding one) in its environment: every *_FILE
    variable names /run/secrets/<a secret the service is given>, and each secret is a file."""
    for name, service in compose["services"].items():
        env = _environment(service)
        given = {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}
        for key, value in env.items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), (name, key)
            assert not re.search(r"://[^/@]*:[^/@]*@", value), (name, key)
            if key.endswith("_FILE"):
                assert value.startswith("/run/secrets/"), (name, key)
                assert value.removeprefix("/run/secrets/") in given, (name, key)
    for secret in compose["secrets"].values():
        assert set(secret) == {"file"}


def test_the_commands_are_valid_monitor_command_lines(compose: dict[str, Any]) -> None:
    """The image's ENTRYPOINT is ``monitor``; its CMD and the compose service's command, given
    to monitor's own parser, are ``monitor run``."""
    image = _dockerfile()
    assert image["ENTRYPOINT"] == ["monitor"]
    for command in (image["CMD"], compose["services"]["monitor"]["command"]):
        args = build_parser().parse_args(command)
        assert args.func is cmd_run, command


def test_health_checks_ask_healthz_on_the_port_the_daemon_listens_on(
    compose: dict[str, Any],
) -> None:
    """The image's HEALTHCHECK and the service's are the same Python urllib call (the slim
    image has no curl) to /healthz on 127.0.0.1 at the port MONITOR_OPS_LISTEN gives, which
    listens on every interface of the container and is published on the host's loopback."""
    image = _dockerfile()
    service = compose["services"]["monitor"]
    assert ["CMD", *image["HEALTHCHECK"]] == service["healthcheck"]["test"]
    assert image["HEALTHCHECK"][:2] == ["python", "-c"]
    assert f"urlopen('{HEALTHZ}'" in image["HEALTHCHECK"][2]
    assert image["ENV"]["MONITOR_OPS_LISTEN"] == "0.0.0.0:9108"
    assert any("127.0.0.1:9108:9108" in str(p) for p in service["ports"])


def test_the_daemon_runs_unprivileged_and_can_write_its_configuration(
    compose: dict[str, Any],
) -> None:
    """The image runs as a named non-root user; the configuration folder is mounted writable
    (``sources add`` appends to it) from a named volume, and the data folder is a volume."""
    assert _dockerfile()["USER"] not in ("", "root", "0")
    volumes = compose["services"]["monitor"]["volumes"]
    mounts = {str(v).split(":")[1]: str(v) for v in volumes}
    assert not mounts["/app/config"].endswith(":ro"), mounts["/app/config"]
    assert "/app/data" in mounts
