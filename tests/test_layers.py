"""Dependencies between domains run one way: the stock (books/) knows nothing of the
line of readers, and the restock use case (restocks/) sits above both."""

import ast
from pathlib import Path

import bot

BOT = Path(bot.__file__).parent


def imported_domains(package: str) -> set[str]:
    """The bot packages that package's modules import, by their first name under bot."""
    found = set()
    for module in (BOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found |= {name.split(".")[1] for name in names if name.startswith("bot.")}
    return found - {package}


def test_books_know_nothing_of_the_line() -> None:
    assert imported_domains("books").isdisjoint(
        {"reservations", "holds", "restocks", "notifications"}
    )


def test_only_entry_points_use_the_restock() -> None:
    domains = [path.name for path in BOT.iterdir() if (path / "__init__.py").exists()]
    assert domains, "no domain packages found"
    users = {domain for domain in domains if "restocks" in imported_domains(domain)}
    assert users <= {"telegram", "web", "playground"}
