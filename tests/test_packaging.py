"""The bot as a bookstore installs it: a wheel, run from any folder."""

import asyncio
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import temporary_database
from tests.test_command_line import SETTINGS, plain_url

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_for_the_wheel() -> None:
    """pyproject lists packages by hand (bot.migrations lives outside bot/)."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "bot").rglob("__init__.py")
    } | {
        "bot." + ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "migrations").rglob("__init__.py")
    }
    assert listed == on_disk


async def test_installed_wheel_migrates_from_another_folder(
    server_url: str, tmp_path: Path
) -> None:
    def run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
        environment.update(env)
        return subprocess.run(
            command, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
        )

    # A copy of the sources, so no build/ left in the checkout can leak stale modules.
    source = tmp_path / "source"
    for part in ("bot", "migrations"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md", "setup.py"):
        shutil.copy(ROOT / part, source / part)
    built = await asyncio.to_thread(
        run,
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(tmp_path / "dist"),
        str(source),
    )
    assert built.returncode == 0, built.stderr
    # setuptools' warnings are ~35 lines each, and a newcomer's first `dev.py run` shows them
    assert [line for line in built.stderr.splitlines() if "Warning" in line] == []
    [wheel] = (tmp_path / "dist").glob("*.whl")
    installed = await asyncio.to_thread(
        run,
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(tmp_path / "site"),
        str(wheel),
    )
    assert installed.returncode == 0, installed.stderr

    site = {"PYTHONPATH": str(tmp_path / "site")}
    located = await asyncio.to_thread(
        run, sys.executable, "-c", "import bot.migrations; print(bot.migrations.__file__)", **site
    )
    assert located.stdout.startswith(str(tmp_path / "site" / "bot" / "migrations")), located
    # The translations were compiled while the wheel was built: the bot speaks Russian.
    spoken = await asyncio.to_thread(
        run,
        sys.executable,
        "-c",
        "from bot.i18n.languages import speaking; from bot.telegram.texts import commands\n"
        "with speaking('ru'): print(commands.unknown_command())",
        **site,
    )
    assert spoken.stdout.startswith("Я не знаю такой команды"), spoken.stderr
    async with temporary_database(server_url) as url:
        migrated = await asyncio.to_thread(
            run, sys.executable, "-m", "bot", "migrate", DATABASE_URL=plain_url(url), **site
        )
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout == "Database is up to date.\n"
