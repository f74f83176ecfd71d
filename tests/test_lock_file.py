"""The lock files: made from pyproject.toml as it is now, every version exact and hashed."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import dev

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)")


def pins(locked: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in locked.read_text().splitlines():
        if match := PIN.match(line):
            found[canonicalize_name(match[1])] = match[2]
    return found


def test_the_locks_are_made_from_pyproject_as_it_is() -> None:
    """Fails when a dependency, extra or requires-python changed since the last lock."""
    for locked in dev.LOCKS.values():
        assert dev.locked_fingerprint(locked) == dev.dependencies_fingerprint(), (
            f"{locked.name} is stale: run python3 dev.py lock"
        )


def test_every_requirement_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extras, locked in dev.LOCKS.items():
        wanted = [
            *project["dependencies"],
            *(project["optional-dependencies"]["dev"] * bool(extras)),
        ]
        pinned = pins(locked)
        for requirement in map(Requirement, wanted):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{name} missing from {locked.name}"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{locked.name} pins {name} {pinned[name]}, outside {requirement.specifier}"
            )


def test_every_pin_has_hashes_and_the_runtime_lock_shares_the_development_versions() -> None:
    for locked in dev.LOCKS.values():
        entries = re.split(r"\n(?=[A-Za-z0-9])", locked.read_text())
        for entry in entries:
            if PIN.match(entry):
                assert "--hash=sha256:" in entry, entry.splitlines()[0]
    runtime, development = pins(dev.LOCKS[""]), pins(dev.LOCKS["[dev]"])
    assert runtime.items() <= development.items()
