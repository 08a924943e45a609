"""OnDemand, the task set of summaries: one per user, a bounded pool, cancelled at shutdown."""

from __future__ import annotations

import asyncio

import pytest

from handlers.reading import OnDemand

pytestmark = pytest.mark.asyncio


async def test_one_per_user_a_bounded_pool_and_a_clean_close() -> None:
    pool = OnDemand(running=2, waiting=1)
    gate = asyncio.Event()
    started: list[int] = []
    cancelled: list[int] = []

    async def work(user: int) -> None:
        started.append(user)
        try:
            await gate.wait()
        except asyncio.CancelledError:
            cancelled.append(user)
            raise

    assert pool.claim(1)
    assert not pool.claim(1) and pool.busy(1)  # one at a time per user, even before it starts
    pool.start(1, work(1))
    for user in (2, 3):
        assert pool.claim(user)
        pool.start(user, work(user))
    assert pool.full() and not pool.claim(4)  # 2 running and 1 waiting: nobody else
    await asyncio.sleep(0.05)
    assert sorted(started) == [1, 2]  # the third waits for a slot
    await pool.close()
    assert sorted(cancelled) == [1, 2] and len(pool) == 0
    assert pool.claim(4)  # the places are free again


async def test_a_claim_given_back_and_finished_work_free_the_user() -> None:
    pool = OnDemand(running=1, waiting=0)
    assert pool.claim(7)
    pool.release(7)
    assert not pool.busy(7)
    assert pool.claim(7)

    async def quick() -> None:
        return None

    task = pool.start(7, quick())
    await task
    await asyncio.sleep(0)
    assert not pool.busy(7) and not pool.full()
