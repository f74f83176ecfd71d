"""The house's rule, run: each part of bot/ imports only the parts the table below allows,
and the table runs one way, so no arrow points back up and no two parts need each other.
An import that is not in the table fails here, wherever it is written (inside a function
too): the rule that needs it belongs in a higher part, or the table changes in review."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import bot

BOT = Path(bot.__file__).parent

# What every domain may use: errors, paging, the database's types, the words.
BASE = {"errors", "pagination", "database", "i18n"}
DOMAINS = {"users", "books", "reservations", "notifications", "holds", "special_orders"}
USE_CASES = {"line", "restocks", "cards", "demand"}

# Each part of bot/ (a package, or a module at the root) and the parts it may import.
ALLOWED: dict[str, set[str]] = {
    # The foundation.
    "errors": set(),
    "pagination": set(),
    "i18n": set(),
    "log_context": set(),
    "metrics": set(),
    "database_url": set(),
    "database": {"database_url"},
    "logging_setup": {"log_context"},
    # When the shop is open (OPENING_HOURS, CLOSED_DATES).
    "opening_hours": set(),
    # The web server's own paths and addresses, and the check of an address setting.
    "addresses": set(),
    "config": {"addresses", "database", "opening_hours"},
    # Running and operating PostgreSQL.
    "postgres": {"database", "database_url"},
    # The domains, bottom to top: a reader, the catalog, the records of the line, the
    # outbox (and the seam through which use cases hand it messages), copies set aside.
    "users": BASE,
    "books": BASE | {"users"},
    "reservations": BASE | {"users", "books"},
    "notifications": BASE | {"users", "books", "reservations"},
    "holds": BASE | {"users", "books", "reservations", "notifications", "opening_hours"},
    # Readers' special orders: asked for, then ordered into the catalog and the line, or
    # declined, each told through the outbox.
    "special_orders": BASE | {"users", "books", "reservations", "notifications"},
    # Use cases above the domains they join: the reader's line, the restock, book cards,
    # the demand report.
    "line": BASE | DOMAINS,
    "restocks": BASE | DOMAINS,
    "cards": BASE | DOMAINS,
    "demand": BASE | DOMAINS,
    # The staff's weekly digest: above the demand report, whose suggested orders it sends.
    "digest": BASE | DOMAINS | {"demand", "opening_hours"},
    # The one wiring of the services.
    "services": BASE | DOMAINS | USE_CASES | {"digest", "config", "opening_hours"},
    # Sending the outbox within Telegram's limits.
    "delivery": {"database", "database_url", "metrics", "notifications"},
    # The Telegram layer: handlers, texts, the messages' words, the lifecycle.
    "telegram": BASE
    | DOMAINS
    | USE_CASES
    | {"digest", "services", "delivery", "metrics", "log_context"},
    # Entry points.
    "shelf_tags": {"database", "i18n", "services", "telegram"},
    # The Mini App: Telegram's signed launch data checked, the page, and its API over
    # the services the chat calls, worded by the Telegram layer's texts.
    "mini_app": BASE | DOMAINS | USE_CASES | {"services", "telegram"},
    "web": {"addresses", "config", "database", "delivery", "metrics", "telegram", "mini_app"},
    # The playground runs the bot as it runs, its web server with the Mini App too.
    "playground": BASE
    | DOMAINS
    | {"config", "postgres", "services", "telegram", "web", "mini_app"},
    "cli_texts": {"books", "i18n", "telegram"},
    "cli": BASE
    | {
        "books",
        "config",
        "database_url",
        "delivery",
        "logging_setup",
        "postgres",
        "services",
        "shelf_tags",
        "telegram",
        "web",
        "mini_app",
        "playground",
        "cli_texts",
    },
    "__main__": {"cli"},
    # Every table, for alembic and the check of the migrations against the models.
    "models": {
        "database",
        "users",
        "books",
        "reservations",
        "notifications",
        "special_orders",
        "digest",
        "delivery",
        "web",
    },
}


def parts() -> set[str]:
    """bot/'s packages and root modules (but its own __init__)."""
    found = {path.name for path in BOT.iterdir() if (path / "__init__.py").exists()}
    found |= {path.stem for path in BOT.glob("*.py") if path.stem != "__init__"}
    return found


def bot_modules_named(node: ast.AST) -> list[str]:
    """The bot's modules an import statement names ("from bot import x" names bot.x)."""
    names = []
    if isinstance(node, ast.ImportFrom) and node.module == "bot":
        names = [f"bot.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module]
    elif isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    return [name for name in names if name.startswith("bot.")]


def imports_of(part: str) -> dict[str, list[str]]:
    """The other parts this part's modules import, each with where."""
    root = BOT / part
    modules = sorted(root.rglob("*.py")) if root.is_dir() else [BOT / f"{part}.py"]
    found: dict[str, list[str]] = {}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            for name in bot_modules_named(node):
                other = name.split(".")[1]
                if other != part:
                    where = f"{module.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}"
                    found.setdefault(other, []).append(where)
    return found


def test_every_part_is_in_the_table() -> None:
    assert parts() == set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_only_what_the_table_allows(part: str) -> None:
    not_allowed = {
        other: where for other, where in imports_of(part).items() if other not in ALLOWED[part]
    }
    assert not_allowed == {}, f"{part} may not import these (imported where shown)"


def test_books_know_nothing_of_the_line() -> None:
    assert set(imports_of("books")).isdisjoint(
        {"reservations", "holds", "line", "restocks", "notifications"}
    )


def test_only_the_wiring_and_the_telegram_layer_use_the_restock() -> None:
    users = {part for part in ALLOWED if "restocks" in imports_of(part)}
    assert users <= {"services", "telegram"}


def test_the_table_runs_one_way() -> None:
    try:
        order = list(TopologicalSorter(ALLOWED).static_order())
    except CycleError as error:
        pytest.fail(f"the table has a circle: {error.args[1]}")
    assert set(order) == set(ALLOWED)


def test_no_import_of_the_bot_inside_a_function() -> None:
    """An import inside a function is how a circle hides; every one of ours is at the top."""
    hidden = []
    for module in BOT.rglob("*.py"):
        for function in ast.walk(ast.parse(module.read_text(), str(module))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if bot_modules_named(node):
                    hidden.append(f"{module.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}")
    assert hidden == []
