#!/usr/bin/env python3
"""Set-up and everyday commands, needing nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install the bot, run it
    python3 dev.py test    # create .venv, install the bot and its test tools, run the tests
    python3 dev.py lint    # ruff (lint and format check) and mypy
    python3 dev.py bench   # the benchmarks in bench/ (figures in docs/benchmarks.md)
    python3 dev.py translations  # extract texts, update each language's .po, compile them

Arguments after the command go to the tool it runs (bookstore-bot, pytest).
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "run":
        ensure_environment(extras="")
        return call([str(BIN / "bookstore-bot"), *(rest or ["run"])])
    if command == "test":
        ensure_environment(extras="[dev]")
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


def ensure_environment(extras: str) -> None:
    """Create .venv and (re)install the project when pyproject.toml or extras change."""
    if not has_pip():
        create_environment()
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed{extras}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        compile_changed_translations()
        return
    print("Installing the bot and what it needs …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    check([*pip, "--upgrade", "pip"])
    check([*pip, "--editable", f"{ROOT}{extras}"])
    stamp.write_text(fingerprint)


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
