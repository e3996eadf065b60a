"""Alembic environment: runs on the engine handed over by storage.db.open_database, which holds
its start lock (storage.db.start_lock) meanwhile, so one process at a time migrates and the next
finds the schema committed."""

from __future__ import annotations

from alembic import context

from storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
