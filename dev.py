#!/usr/bin/env python3
"""Set-up and everyday commands, needing nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install the bot, run it
    python3 dev.py test    # create .venv, install the bot and its test tools, run the tests
    python3 dev.py lint    # ruff (lint and format check) and mypy
    python3 dev.py bench   # the benchmarks in bench/

Arguments after the command go to the tool it runs (bookstore-bot, pytest).
"""

import hashlib
import os
import subprocess
import sys
import venv
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
    print(__doc__)
    return 0 if command == "help" else 2


def ensure_environment(extras: str) -> None:
    """Create .venv and (re)install the project when pyproject.toml or extras change."""
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed{extras}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    print("Installing the bot and what it needs …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    check([*pip, "--upgrade", "pip"])
    check([*pip, "--editable", f"{ROOT}{extras}"])
    stamp.write_text(fingerprint)


def call(command: list[str]) -> int:
    return subprocess.call(command, cwd=ROOT)


def check(command: list[str]) -> None:
    if call(command) != 0:
        sys.exit(f"failed: {' '.join(command)}")


if __name__ == "__main__":
    sys.exit(main())
