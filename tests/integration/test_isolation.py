"""The `db_tx` fixture really isolates: a commit inside the test stays invisible to other connections."""

from __future__ import annotations

from sqlalchemy import func, select

from app.repositories.orm import Ticker
from tests.factories import TickerFactory


def test_a_commit_inside_db_tx_is_a_savepoint_other_connections_never_see(db_tx, migrated_engines):
    TickerFactory(symbol="ISO")  # the factory commits
    with db_tx.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticker)) == 1
    _, migrated = migrated_engines[db_tx.backend]
    with migrated.connect() as other:
        assert other.scalar(select(func.count()).select_from(Ticker)) == 0
