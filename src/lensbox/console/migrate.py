"""Bring a database to the newest schema with Alembic (called at console start)."""

from __future__ import annotations

from pathlib import Path

from lensbox._optional import require

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> object:
    config_module = require("alembic.config", extra="console")
    config = config_module.Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    command = require("alembic.command", extra="console")
    command.upgrade(alembic_config(url), "head")
