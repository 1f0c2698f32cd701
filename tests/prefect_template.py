"""A Prefect server database migrated once per test session, copied into each server's home.

A Prefect server starting on an empty SQLite database runs all of Prefect's Alembic
migrations and registers its block types first: ~11 of the ~18 s a test server takes to
answer on this machine alone, 35-40 s with three test processes each migrating its own at
once. So the session builds one database, with Prefect's own migrations, and every test
server starts on a copy of it: the same schema and rows a fresh server makes, and nothing
shared between servers at run time. (On a migrated database a server still checks the
migrations and registers its block types again, which finds them there.)

``python -m tests.prefect_template DIR`` builds ``DIR/prefect.db``, then writes
``DIR/ready``, or ``DIR/failed`` with the reason. ``seed_home`` waits for either and copies
the database where a server will look; when there is no template (it failed, or the
environment names none), it returns False and the server migrates its own, as before.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import time
import traceback
from contextlib import closing
from pathlib import Path

#: The environment variable naming the session's template folder (set by tests/conftest.py).
TEMPLATE_ENV = "WIRE_INGEST_TEST_PREFECT_TEMPLATE"
DATABASE = "prefect.db"


def build(folder: Path) -> None:
    """Create and fill ``folder/prefect.db`` as a Prefect server does when it starts on an
    empty database: its migrations, then its block types (the two calls of the server's
    start-up, ``prefect.server.api.server.create_app``'s ``run_migrations`` and
    ``add_block_types``), in this process: a server subprocess would import Prefect's server
    a second time (~9 s more here)."""
    building = folder / "building.db"
    os.environ["PREFECT_HOME"] = str(folder / "home")
    os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{building}"
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.server.database import provide_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration

    async def create() -> None:
        db = provide_database_interface()
        await db.create_db()
        session = await db.session()
        async with session:
            await run_block_auto_registration(session=session)

    asyncio.run(create())
    with closing(sqlite3.connect(building)) as connection:  # fold the write-ahead log into the file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(building, folder / DATABASE)
    for leftover in ("-wal", "-shm"):
        Path(f"{building}{leftover}").unlink(missing_ok=True)


def seed_home(home: Path, database: Path | None = None, timeout: float = 300.0) -> bool:
    """Copy the session's migrated database to ``database`` (default ``home/prefect.db``, where
    ``prefect server start`` and Prefect's temporary server look). Waits for the build; False
    (nothing copied) when there is no template to copy."""
    name = os.environ.get(TEMPLATE_ENV)
    if not name:
        return False
    folder = Path(name)
    deadline = time.monotonic() + timeout
    while not (folder / "ready").exists():
        if (folder / "failed").exists() or time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / DATABASE, database or home / DATABASE)
    return True


def main() -> int:
    folder = Path(sys.argv[1])
    try:
        build(folder)
    except BaseException:  # any failure: the servers migrate their own databases, as without it
        (folder / "failed").write_text(traceback.format_exc())
        return 1
    (folder / "ready").write_text("")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
