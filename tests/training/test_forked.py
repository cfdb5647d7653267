"""Work split with a forked child gives what one process gives, and survives the child failing.

A fork is refused while another thread runs, and the test process runs MLflow's artifact threads
once any test has logged a run; so each scenario runs in a fresh interpreter (a spawned worker,
which has no other thread) and returns what it saw.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earlywarn.training import forked

PIECES = list(range(40))
PARENT = {"pid": 0}


def square_with_pid(piece: int) -> list[tuple[int, int]]:
    return [(piece * piece, os.getpid())]


def joined(results: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    return [item for result in results for item in result]


def fails_in_the_child(piece: int) -> list[tuple[int, int]]:
    if os.getpid() != PARENT["pid"] and piece == PIECES[-1]:
        raise ValueError(f"piece {piece} is bad")
    return square_with_pid(piece)


def dies_in_the_child(piece: int) -> list[tuple[int, int]]:
    if os.getpid() != PARENT["pid"]:
        os._exit(3)
    return square_with_pid(piece)


def split_work(work: Callable[[int], list[tuple[int, int]]]) -> dict[str, Any]:
    """Run ``map_in_two`` over PIECES in this (fresh) process; what came back, or the error."""
    PARENT["pid"] = os.getpid()
    outcome: dict[str, Any] = {"pid": os.getpid(), "could_fork": forked.can_fork()}
    try:
        outcome["results"] = forked.map_in_two(work, PIECES, joined)
    except ValueError as error:
        outcome["error"] = str(error)
    return outcome


def rows_both_ways(folder: str) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """The training rows of ``folder`` built on two cores, then in this process alone."""
    from earlywarn.contract import load_tables
    from earlywarn.training.dataset import build_training_dataset

    tables = load_tables(Path(folder))
    as_of = pd.Timestamp("2025-01-01", tz="UTC")
    could_fork = forked.can_fork()
    on_two = build_training_dataset(tables, as_of)
    forked.MIN_PIECES = 10**9
    on_one = build_training_dataset(tables, as_of)
    return on_two, on_one, could_fork


@pytest.fixture(scope="module")
def fresh() -> Iterator[ProcessPoolExecutor]:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        yield pool


def in_fresh(pool: ProcessPoolExecutor, function: Callable[..., Any], *args: Any) -> Any:
    outcome = pool.submit(function, *args).result(timeout=120)
    could_fork = outcome["could_fork"] if isinstance(outcome, dict) else outcome[-1]
    if not could_fork:
        pytest.skip("a fresh interpreter cannot fork here (one core, or no fork)")
    return outcome


def test_the_later_half_is_computed_in_a_child_and_the_order_is_kept(
    fresh: ProcessPoolExecutor,
) -> None:
    outcome = in_fresh(fresh, split_work, square_with_pid)
    assert [value for value, _ in outcome["results"]] == [p * p for p in PIECES]
    pids = [pid for _, pid in outcome["results"]]
    half = len(PIECES) // 2
    assert pids[:half] == [outcome["pid"]] * half
    assert all(pid != outcome["pid"] for pid in pids[half:])


def test_an_error_in_the_child_is_raised_in_the_parent_as_itself(
    fresh: ProcessPoolExecutor,
) -> None:
    outcome = in_fresh(fresh, split_work, fails_in_the_child)
    assert outcome["error"] == f"piece {PIECES[-1]} is bad"


def test_a_child_that_dies_leaves_its_pieces_to_the_parent(fresh: ProcessPoolExecutor) -> None:
    outcome = in_fresh(fresh, split_work, dies_in_the_child)
    assert [value for value, _ in outcome["results"]] == [p * p for p in PIECES]
    assert {pid for _, pid in outcome["results"]} == {outcome["pid"]}


def test_training_rows_built_on_two_cores_are_those_built_on_one(
    fresh: ProcessPoolExecutor, tmp_path: Path
) -> None:
    from tests.factories import minimal_institution, write_institution

    folder = write_institution(tmp_path, minimal_institution(), "csv")
    on_two, on_one, _ = in_fresh(fresh, rows_both_ways, str(folder))
    snapshots = on_one[["cohort", "checkpoint_week"]].drop_duplicates()
    assert len(snapshots) >= forked.MIN_PIECES  # enough for the fork to have been used
    pd.testing.assert_frame_equal(on_two, on_one)


def test_few_pieces_or_another_thread_keep_the_work_in_this_process() -> None:
    import threading

    few = forked.map_in_two(square_with_pid, PIECES[: forked.MIN_PIECES - 1], joined)
    assert {pid for _, pid in few} == {os.getpid()}
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not forked.can_fork()
        results = forked.map_in_two(square_with_pid, PIECES, joined)
    finally:
        stop.set()
        other.join()
    assert [value for value, _ in results] == [p * p for p in PIECES]
    assert {pid for _, pid in results} == {os.getpid()}
