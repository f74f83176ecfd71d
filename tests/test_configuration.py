"""Settings, database URLs as hosts hand them out, and a token that never leaks."""

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.database import async_database_url
from bot.logging_setup import configure_logging
from bot.services import Shop

SECRET_TOKEN = "987654321:SECRET-abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db.example:5432/shop", "postgresql+asyncpg://u:p@db.example:5432/shop"),
        ("postgres://u:p@db.example/shop", "postgresql+asyncpg://u:p@db.example/shop"),
        (
            "postgresql://u:p@db.example/shop?sslmode=require&channel_binding=require",
            "postgresql+asyncpg://u:p@db.example/shop?ssl=require",
        ),
        (
            "postgresql+asyncpg://u@/shop?host=/run/pg",
            "postgresql+asyncpg://u@/shop?host=%2Frun%2Fpg",
        ),
    ],
)
def test_host_urls_become_asyncpg_urls(given: str, expected: str) -> None:
    assert async_database_url(given).render_as_string(hide_password=False) == expected


def test_admin_ids_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", " 12, 34,,56 ")
    assert load_settings().admin_ids == frozenset({12, 34, 56})


def test_hold_ratio_target_is_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().hold_ratio_target == 3  # Koha's default
    monkeypatch.setenv("HOLD_RATIO_TARGET", "2.5")
    assert load_settings().hold_ratio_target == 2.5
    assert Shop.from_settings(load_settings()).hold_ratio_target == 2.5  # to /demand


def test_metrics_allow_is_a_comma_separated_list_of_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("METRICS_ALLOW", " 192.0.2.7, 10.1.0.0/16,,2001:db8::/32 ")
    assert [str(network) for network in load_settings().metrics_allow] == [
        "192.0.2.7/32",
        "10.1.0.0/16",
        "2001:db8::/32",
    ]
    monkeypatch.setenv("METRICS_ALLOW", "")
    assert load_settings().metrics_allow == ()  # nobody


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS: 'abc' is not a Telegram user id"),
        ("BOT_TOKEN", "not-a-token-SECRET", "BOT_TOKEN: does not look like a token"),
        ("DATABASE_URL", "mysql://root:SECRET@db/shop", "DATABASE_URL: must be a postgresql://"),
        ("DATABASE_URL", "::SECRET::", "DATABASE_URL: is not a database URL"),
        (
            "DATABASE_URL",
            "postgresql://shop:SEC@RET@db/shop",
            "DATABASE_URL: has an '@' that is not percent-encoded",
        ),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR"),
        (
            "METRICS_ALLOW",
            "10.0.0.0/8,10.0.0.0/33",
            "METRICS_ALLOW: '10.0.0.0/33' is not a network",
        ),
        ("METRICS_ALLOW", "localhost", "METRICS_ALLOW: 'localhost' is not a network"),
        (
            "OPENING_HOURS",
            "Mo-Fr 10:00-19:00; Sa 25:00",
            "OPENING_HOURS: is not in OpenStreetMap's opening_hours syntax (at character 23)",
        ),
        ("CLOSED_DATES", "2026-12-25,25.12.2026", "CLOSED_DATES: '25.12.2026' is not a date"),
        ("HOLD_RATIO_TARGET", "0", "HOLD_RATIO_TARGET: Input should be greater than 0"),
        ("HOLD_RATIO_TARGET", "-3", "HOLD_RATIO_TARGET: Input should be greater than 0"),
        ("HOLD_RATIO_TARGET", "inf", "HOLD_RATIO_TARGET: Input should be a finite number"),
    ],
)
def test_bad_settings_are_one_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert message in str(error.value)
    assert "SECRET" not in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("environment", "production"),
    [
        ({}, []),
        ({"ADMIN_IDS": "12", "TIMEZONE": "Europe/Berlin"}, []),  # the playground reads them
        ({"DATABASE_URL": "", "TELEGRAM_BASE_URL": "", "WEBHOOK_URL": ""}, []),  # blank: unset
        ({"DATABASE_URL": "postgresql://shop@db/shop"}, ["DATABASE_URL"]),
        ({"METRICS_ALLOW": "10.0.0.0/8"}, ["METRICS_ALLOW"]),
        ({"DATABASE_WAIT_SECONDS": "5"}, ["DATABASE_WAIT_SECONDS"]),
        ({"NOTIFICATION_MAX_AGE": "3600"}, ["NOTIFICATION_MAX_AGE"]),
    ],
)
def test_the_settings_only_the_real_bot_reads(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], production: list[str]
) -> None:
    """Beside these a missing BOT_TOKEN is a token forgotten; without them, `run` starts
    the playground, which reads the shop's own settings too."""
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert load_settings().production_settings() == production


def test_settings_read_a_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    (tmp_path / ".env").write_text(  # type: ignore[operator]
        f"BOT_TOKEN={SECRET_TOKEN}\nADMIN_IDS=7\nTELEGRAM_BASE_URL=http://127.0.0.1:8081/bot\n"
    )
    settings = Settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == SECRET_TOKEN
    assert SECRET_TOKEN not in repr(settings)
    assert settings.admin_ids == frozenset({7})
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level, bot_level = logging.getLogger("httpx").level, logging.getLogger("bot").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)
    logging.getLogger("bot").setLevel(bot_level)


@pytest.mark.usefixtures("restored_logging")
def test_libraries_speak_from_warning_unless_log_level_is_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for level in ("INFO", "DEBUG"):
        configure_logging(level)
        logging.getLogger("bot.postgres").info("the bot's own line")
        logging.getLogger("fontTools.subset").info("a library's chatter")
        logging.getLogger("alembic").warning("a library's warning")
        output = capsys.readouterr().err
        assert "the bot's own line" in output
        assert "a library's warning" in output
        assert ("a library's chatter" in output) == (level == "DEBUG")


@pytest.mark.usefixtures("restored_logging")
def test_logs_never_show_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", [SECRET_TOKEN])
    url = f"https://api.telegram.org/bot{SECRET_TOKEN}/getMe"
    logging.getLogger("httpx").info("HTTP Request: POST %s", url)
    logging.getLogger("telegram.ext.Updater").warning("Network error at %s", url)
    try:
        raise RuntimeError(f"failed: {url}")
    except RuntimeError:
        logging.getLogger("bot").exception("Update failed")
    output = capsys.readouterr().err
    assert SECRET_TOKEN not in output
    assert "Network error at https://api.telegram.org/bot[redacted]/getMe" in output
    assert "RuntimeError: failed: https://api.telegram.org/bot[redacted]/getMe" in output
    # httpx's per-request INFO lines are silenced altogether.
    assert "HTTP Request" not in output


@pytest.mark.parametrize("variable", ["NOTIFICATION_MAX_AGE", "PICKUP_WINDOW", "PICKUP_REMINDER"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5400", timedelta(minutes=90)),
        (" 5400 ", timedelta(minutes=90)),
        ("PT90M", timedelta(minutes=90)),
        ("P2DT3H", timedelta(days=2, hours=3)),
    ],
)
def test_every_duration_takes_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: timedelta
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), variable.lower()) == expected


@pytest.mark.parametrize("variable", ["NOTIFICATION_MAX_AGE", "PICKUP_WINDOW", "PICKUP_REMINDER"])
@pytest.mark.parametrize("value", ["-5", "soon", "P-1D"])
def test_a_bad_duration_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()
