"""Alembic environment: runs migrations on the connection arcli hands it."""

from alembic import context

from arcli.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by the alembic command line
    raise SystemExit("run migrations through `arcli init`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
