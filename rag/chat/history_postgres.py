"""Chat history in PostgreSQL, shared by every app worker that points at the same database.

The tables are Chainlit's documented PostgreSQL schema for its SQLAlchemy data layer (UUID ids, JSONB
metadata, TEXT[] tags), with the columns Chainlit has added since (`modes`, `autoCollapse`,
`autoPlay`, `playerConfig`). Workers start at the same moment, and two concurrent `CREATE TABLE IF
NOT EXISTS` of one table can both try to create it, so the schema is created under an advisory lock.

The data layer talks to the database through psycopg's asyncio driver, the driver the index store
already uses, so one `postgresql://` URL works for both with the same libpq parameters (sslmode,
sockets). Chainlit passes most JSON values as text but a step's `modes` as a dict, which psycopg
does not adapt on its own: `connect_args()` gives the data layer's connections a JSONB dumper for it.

The session-signing secret is kept in the database too: every worker, on any machine, signs and
checks logins with the same one, and it survives restarts as the file beside SQLite history does.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.types.json import JsonbDumper

SCHEMA_LOCK = 0x7261675F68697374  # "rag_hist": held while the schema is created
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" UUID PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" JSONB NOT NULL, "createdAt" TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    "id" UUID PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" UUID, "userIdentifier" TEXT, "tags" TEXT[],
    "metadata" JSONB, FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS steps (
    "id" UUID PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" UUID NOT NULL, "parentId" UUID,
    "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" JSONB, "tags" TEXT[],
    "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT, "modes" JSONB, "start" TEXT, "end" TEXT,
    "generation" JSONB, "showInput" TEXT, "language" TEXT, "indent" INT, "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN, FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS elements (
    "id" UUID PRIMARY KEY, "threadId" UUID, "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL,
    "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT, "language" TEXT, "forId" UUID, "mime" TEXT,
    "props" JSONB, "autoPlay" BOOLEAN, "playerConfig" JSONB,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" UUID PRIMARY KEY, "forId" UUID NOT NULL, "threadId" UUID NOT NULL, "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS steps_by_thread ON steps ("threadId");
CREATE INDEX IF NOT EXISTS elements_by_thread ON elements ("threadId");
CREATE INDEX IF NOT EXISTS threads_by_user ON threads ("userId");
CREATE TABLE IF NOT EXISTS rag_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def create_schema(url: str) -> None:
    """Create the tables once (idempotent, and safe when several workers start together)."""
    with psycopg.connect(url) as connection:  # one transaction: the lock is released at its end
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        connection.execute(SCHEMA)


def stored_secret(url: str, name: str = "chainlit-auth") -> str:
    """The secret every worker signs sessions with: the first worker to ask creates it."""
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO rag_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_urlsafe(32)),
        )
        row = connection.execute("SELECT value FROM rag_secrets WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def connect_args() -> dict[str, Any]:
    """Connection options for the data layer's engine: dicts are sent as JSONB."""
    adapters = AdaptersMap(psycopg.adapters)
    adapters.register_dumper(dict, JsonbDumper)
    return {"context": adapters}
