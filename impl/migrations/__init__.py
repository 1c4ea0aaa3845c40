"""Alembic migrations: the only way the schema changes. `make migration MSG=...` writes a new one."""
