#!/usr/bin/env python3
"""Set-up and everyday commands, needing nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install the bot, run it
    python3 dev.py test    # create .venv, install the bot and its test tools, run the tests
    python3 dev.py lint    # ruff (lint and format check) and mypy
    python3 dev.py bench   # the benchmarks in bench/ (figures in docs/benchmarks.md)
    python3 dev.py lock    # refresh requirements*.txt after a change to pyproject.toml's
                           # dependencies (--upgrade: newest versions the ranges allow)

Every command installs exactly the versions in requirements.txt (run) or
requirements-dev.txt (test, lint, bench), checked against their hashes.
    python3 dev.py translations  # extract texts, update each language's .po, compile them

Arguments after the command go to the tool it runs (bookstore-bot, pytest).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# The lock files, per set of extras: exact versions with their hashes, for every Python
# and platform the bot supports (uv's universal resolution), installable by plain pip.
LOCKS = {"": ROOT / "requirements.txt", "[dev]": ROOT / "requirements-dev.txt"}
FINGERPRINT = "# pyproject.toml's dependencies: sha256 "


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "run":
        ensure_environment(extras="")
        return call([str(BIN / "bookstore-bot"), *(rest or ["run"])])
    if command == "test":
        ensure_environment(extras="[dev]")
        ensure_browser()
        ensure_pgbouncer()
        return call([str(PYTHON), "-m", "pytest", *rest])
    if command == "lint":
        ensure_environment(extras="[dev]")
        checks = [
            [str(PYTHON), "-m", "ruff", "check", "."],
            [str(PYTHON), "-m", "ruff", "format", "--check", "."],
            [str(PYTHON), "-m", "mypy"],
        ]
        return max(call(check) for check in checks)
    if command == "bench":
        ensure_environment(extras="[dev]")
        return call([str(PYTHON), "-m", "bench", *rest])
    if command == "lock":
        ensure_environment(extras="[dev]", lock_must_be_fresh=False)
        return lock(rest)
    if command == "translations":
        ensure_environment(extras="[dev]")
        return update_translations()
    print(__doc__)
    return 0 if command == "help" else 2


LOCALES = ROOT / "bot" / "i18n" / "locales"
# English is the source language: its catalog stays empty unless a text needs rewording.
LANGUAGES = ("en", "ru", "es")


def update_translations() -> int:
    """Texts marked in bot/ into the template, new ones into every language's catalog
    (for translators to fill in), and each catalog compiled for this checkout."""
    pybabel = str(BIN / "pybabel")
    template = str(LOCALES / "bot.pot")
    extract = [pybabel, "extract", "--mapping-file", "babel.cfg", "--keywords", "N_"]
    extract += ["--add-comments", "TRANSLATORS:"]
    steps = [[*extract, "--no-location", "--sort-output", "--output-file", template, "bot"]]
    for language in LANGUAGES:
        catalog = [template, "--output-dir", str(LOCALES), "--domain", "bot", "--locale"]
        if (LOCALES / language / "LC_MESSAGES" / "bot.po").exists():
            steps.append(
                [
                    pybabel,
                    "update",
                    "--input-file",
                    *catalog,
                    language,
                    "--no-fuzzy-matching",
                    "--ignore-obsolete",
                ]
            )
        else:
            steps.append([pybabel, "init", "--input-file", *catalog, language])
    steps.append(
        [pybabel, "compile", "--directory", str(LOCALES), "--domain", "bot", "--statistics"]
    )
    for step in steps:
        if call(step) != 0:
            return 1
    return 0


def ensure_environment(extras: str, lock_must_be_fresh: bool = True) -> None:
    """Create .venv and (re)install the locked versions when the lock or extras change."""
    locked = LOCKS[extras]
    if lock_must_be_fresh and locked_fingerprint(locked) != dependencies_fingerprint():
        sys.exit(
            f"{locked.name} does not match pyproject.toml's dependencies: "
            "refresh it with: python3 dev.py lock"
        )
    if not has_pip():
        create_environment()
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + locked.read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed{extras}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        compile_changed_translations()
        return
    print("Installing the bot and what it needs …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    check([*pip, "--upgrade", "pip"])
    check([*pip, "--require-hashes", "--no-deps", "--requirement", str(locked)])
    # -qq: setuptools' notice that an install is editable (10 lines) is not for a newcomer;
    # a failing build is still shown.
    check([*pip, "--quiet", "--no-deps", "--editable", str(ROOT)])
    stamp.write_text(fingerprint)


def dependencies_fingerprint() -> str:
    """What the lock files are made from: pyproject.toml's dependencies, extras, Pythons."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    relevant = {
        key: project.get(key)
        for key in ("requires-python", "dependencies", "optional-dependencies")
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def locked_fingerprint(locked: Path) -> str | None:
    if not locked.exists():
        return None
    for line in locked.read_text().splitlines():
        if line.startswith(FINGERPRINT):
            return line.removeprefix(FINGERPRINT)
    return None


def lock(options: list[str]) -> int:
    """Resolve pyproject.toml's ranges into both lock files with uv (kept versions stay
    unless --upgrade); the runtime lock takes the development lock's versions."""
    compile_command = [
        str(BIN / "uv"),
        "pip",
        "compile",
        "pyproject.toml",
        "--universal",
        "--generate-hashes",
        "--quiet",
        "--custom-compile-command",
        "python3 dev.py lock",
        *options,
    ]
    development, runtime = LOCKS["[dev]"], LOCKS[""]
    check([*compile_command, "--extra", "dev", "--output-file", development.name])
    check([*compile_command, "--constraint", development.name, "--output-file", runtime.name])
    for locked in (development, runtime):
        kept = [
            line
            for line in locked.read_text().splitlines(keepends=True)
            if not line.startswith(FINGERPRINT)
        ]
        locked.write_text(f"{FINGERPRINT}{dependencies_fingerprint()}\n{''.join(kept)}")
    print(f"Wrote {development.name} and {runtime.name}.")
    return 0


def ensure_browser() -> None:
    """Debian's chromium for the playground's browser tests, installed when we may (root).

    Without it those tests fail, saying what is missing; they never skip."""
    if any(shutil.which(name) for name in ("chromium", "chromium-browser")):
        return
    apt_get = shutil.which("apt-get")
    if not (apt_get and hasattr(os, "geteuid") and os.geteuid() == 0):
        print("chromium is missing and can't be installed here: the browser tests will fail")
        return
    print("Installing chromium for the browser tests (apt-get) …", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get_says(*arguments: str) -> int:
        return subprocess.call([apt_get, *arguments], stdout=subprocess.DEVNULL, env=environment)

    # The emoji font: the bot's messages use emoji, and screenshots should show them.
    packages = ("chromium", "fonts-noto-color-emoji")
    if apt_get_says("install", "-y", "-q", *packages) != 0:
        apt_get_says("update", "-q")
        apt_get_says("install", "-y", "-q", *packages)


def ensure_pgbouncer() -> None:
    """Debian's pgbouncer for the tests that run the bot behind it, installed when we may
    (root). Without it those tests fail, saying what is missing; they never skip."""
    if shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists():
        return
    apt_get = shutil.which("apt-get")
    if not (apt_get and hasattr(os, "geteuid") and os.geteuid() == 0):
        print("pgbouncer is missing and can't be installed here: the PgBouncer tests will fail")
        return
    print("Installing pgbouncer for the PgBouncer tests (apt-get) …", flush=True)
    install = [apt_get, "install", "-y", "-q", "pgbouncer"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.call(install, stdout=subprocess.DEVNULL, env=environment) != 0:
        subprocess.call([apt_get, "update", "-q"], stdout=subprocess.DEVNULL, env=environment)
        subprocess.call(install, stdout=subprocess.DEVNULL, env=environment)


def compile_changed_translations() -> None:
    """The editable install compiled the catalogs once; a .po changed since (a pull, a
    merge) is compiled again, so the bot never runs with words older than its sources."""
    changed = [
        po
        for po in LOCALES.glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if changed:
        check([str(BIN / "pybabel"), "compile", "--directory", str(LOCALES), "--domain", "bot"])


def has_pip() -> bool:
    return (
        PYTHON.exists()
        and subprocess.call([str(PYTHON), "-m", "pip", "--version"], stdout=subprocess.DEVNULL)
        == 0
    )


def create_environment() -> None:
    print(f"Creating .venv with {sys.executable} …", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    if call([sys.executable, "-m", "venv", str(VENV)]) != 0 or not has_pip():
        shutil.rmtree(VENV, ignore_errors=True)
        sys.exit(
            "could not create a virtual environment with pip; on Debian or Ubuntu, "
            "install it with: sudo apt install python3-venv"
        )


def call(command: list[str]) -> int:
    process = subprocess.Popen(command, cwd=ROOT)
    if os.name != "nt":
        # A supervisor's SIGTERM reaches only us: pass it on, so the bot stops cleanly too.
        signal.signal(signal.SIGTERM, lambda number, _: process.send_signal(number))
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl+C reached the child too; let it stop in its own time.
            continue


def check(command: list[str]) -> None:
    if call(command) != 0:
        sys.exit(f"failed: {' '.join(command)}")


if __name__ == "__main__":
    sys.exit(main())
