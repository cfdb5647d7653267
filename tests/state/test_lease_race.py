"""Holders racing for one lease at the same instant, on SQLite and on PostgreSQL.

Each round, four threads (each with its own engine and connections) ask for the lease at once,
first for a lease no one ever took (an insert race), then for one that has expired (a
compare-and-set race). Exactly one may win, and every loser is told who did.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from earlywarn.state import open_state
from earlywarn.state.lease import Holder, LeaseRow, acquire, current_lease

START = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
RACERS = 4
ROUNDS = 4


def _race(
    engines: list[Engine], holders: list[Holder], now: datetime
) -> dict[int, LeaseRow | BaseException | None]:
    """Every holder asks for the lease at once (a barrier); what each was answered."""
    barrier = threading.Barrier(len(holders))
    answers: dict[int, LeaseRow | BaseException | None] = {}

    def ask(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = acquire(engines[i], "scheduler", holders[i], now, LEASE)
        except BaseException as exc:  # reported by the test, with the round
            answers[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(holders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_racing_holders_never_both_get_the_lease(state_url: str) -> None:
    engines = [open_state(state_url) for _ in range(RACERS)]
    try:
        for round_ in range(ROUNDS):
            now = START + round_ * 2 * LEASE  # the previous round's lease has run out
            holders = [
                Holder(f"host-{i}:{100 + i}:r{round_}", f"host-{i}", 100 + i, f"/srv/ew-{i}")
                for i in range(RACERS)
            ]
            answers = _race(engines, holders, now)
            errors = {i: a for i, a in answers.items() if isinstance(a, BaseException)}
            assert errors == {}, f"round {round_}: {errors!r}"
            winners = [i for i in range(RACERS) if answers[i] is None]
            assert len(winners) == 1, f"round {round_}: {answers!r}"
            token = holders[winners[0]].token
            told = {a.holder.token for a in answers.values() if isinstance(a, LeaseRow)}
            assert told == {token}
            stored = current_lease(engines[0], "scheduler")
            assert stored is not None
            assert stored.holder.token == token
            assert stored.expires_at == now + LEASE
    finally:
        for engine in engines:
            engine.dispose()
