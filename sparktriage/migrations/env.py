"""Alembic environment: migrations run on the connection ``sparktriage.store.migrate`` hands over."""

from alembic import context

from sparktriage.store.schema import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
