"""LOG_FORMAT=json: one JSON object a line, naming the update, user and handler; no token."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.logging_setup import REDACTED, configure_logging
from tests.chat import ALICE, Chat
from tests.conftest import TOKEN
from tests.db import failing_trigger


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging replaces the root's handlers: give pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level, bot_level = root.handlers[:], root.level, logging.getLogger("bot").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("bot").setLevel(bot_level)


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


@pytest.mark.usefixtures("restored_logging")
def test_each_line_is_an_object_with_the_basic_fields_and_no_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", [TOKEN], "json")
    logger = logging.getLogger("bot.example")
    logger.info("Calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("It broke")
    output = capsys.readouterr().err
    assert TOKEN not in output
    first, second = json_lines(output)
    assert first["level"] == "INFO"
    assert first["logger"] == "bot.example"
    assert first["message"] == f"Calling https://api.telegram.org/bot{REDACTED}/getMe"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR"
    assert f"failed at /bot{REDACTED}/sendMessage" in second["exc_info"]
    assert "update_id" not in first


@pytest.mark.usefixtures("restored_logging")
async def test_a_failed_update_is_logged_with_its_update_user_and_handler(
    chat: Chat, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", [TOKEN], "json")
    async with failing_trigger(engine, "users", "BEFORE INSERT", "disk full"):
        await chat.send(ALICE, "/start")
    [failure] = [line for line in json_lines(capsys.readouterr().err) if line["level"] == "ERROR"]
    assert failure["message"] == "Update failed"
    assert failure["logger"] == "bot.telegram.error_handler"
    assert failure["user_id"] == ALICE.id
    assert isinstance(failure["update_id"], int)
    assert failure["handler"] == "readers.start"
    assert "disk full" in failure["exc_info"]


def test_plain_text_stays_the_default(
    capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    configure_logging("INFO", [TOKEN])
    logging.getLogger("bot.example").warning("token %s", TOKEN)
    assert capsys.readouterr().err.endswith(f"WARNING bot.example: token {REDACTED}\n")
