"""Run the alembic migrations that ship inside the package."""

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection


def alembic_config(database_url: str | None = None) -> Config:
    """An alembic configuration that needs no alembic.ini and works from any folder."""
    config = Config()
    scripts = str(resources.files("bot.migrations"))
    config.set_main_option("script_location", scripts.replace("%", "%%"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database; call it where no event loop runs (alembic starts its own)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_on(connection: AsyncConnection, revision: str = "head") -> None:
    """Migrate through a connection the caller owns, from inside a running event loop."""

    def run(sync_connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    await connection.run_sync(run)
