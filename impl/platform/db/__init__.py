"""Database plumbing shared by every domain: the declarative base, the engine, sessions and migrations."""
