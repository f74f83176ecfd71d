"""The README and docs/ keep up with the code: every setting and every `bookstore-bot`
command is documented, every relative link leads somewhere, and the README's test command
is the one CI runs."""

import argparse
import re
from pathlib import Path

from bot.cli import argument_parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCED_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and <img src="target">: the two ways the docs link.
LINK = re.compile(r"\]\(([^)\s]+)\)|<img[^>]*\ssrc=\"([^\"]+)\"")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def all_docs() -> str:
    return "\n".join(page.read_text() for page in PAGES)


def subcommands() -> list[str]:
    parser = argument_parser()
    (commands,) = (
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    return list(commands.choices)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda code: code.group()[1:-1], heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCED_BLOCK.sub("", page.read_text())
    return {anchor(heading) for heading in HEADING.findall(text)}


def test_every_setting_is_documented() -> None:
    """A setting added to bot/config.py fails this until a page explains it."""
    docs = all_docs()
    undocumented = [
        name.upper()
        for name in Settings.model_fields
        if not re.search(rf"\b{name.upper()}\b", docs)
    ]
    assert not undocumented, f"settings missing from README.md and docs/*.md: {undocumented}"


def test_every_command_is_documented() -> None:
    docs = all_docs()
    names = subcommands()
    assert "run" in names  # the parser was read, not an empty list
    undocumented = [name for name in names if not re.search(rf"bookstore-bot {name}\b", docs)]
    assert not undocumented, f"bookstore-bot commands missing from the docs: {undocumented}"


def test_every_relative_link_leads_somewhere() -> None:
    broken = []
    for page in PAGES:
        text = INLINE_CODE.sub("", FENCED_BLOCK.sub("", page.read_text()))
        for match in LINK.finditer(text):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_the_readmes_test_command_is_the_one_ci_runs() -> None:
    command = "python3 dev.py test"
    assert f"```sh\n{command}\n```" in (ROOT / "README.md").read_text()
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
