"""The load generator of bench/bench_updates.py, run in a process of its own: it POSTs the planned
Telegram updates to a webhook URL at their planned times (open loop: an update is sent on time
whether or not the earlier ones were answered), with Telegram's secret header, and writes when
each was sent and what the webhook answered. Also the load balancer's process (`balance`).

Run by bench_updates, not by hand:
    python -m bench.webhook_load send PLAN.json RESULT.json
    python -m bench.webhook_load balance PORT [PORT ...]   (prints the balancer's URL)

PLAN.json: {"url", "secret", "limit_s", "updates": [[offset_s, update], ...]}; the updates are
sent from one second after the plan is read, and none is started after `limit_s`.
RESULT.json: [[update_id, sent_at (epoch s), status (0: no answer), answered_in_s], ...].
Loopback only: the URL must be http://127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.balancer import Balancer

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What Telegram gives a webhook to answer before it counts the delivery as failed.
POST_TIMEOUT_S = 60


async def send(plan: dict[str, Any]) -> list[list[Any]]:
    url = str(plan["url"])
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"loopback only, not {url}")
    headers = {SECRET_HEADER: str(plan["secret"]), "Content-Type": "application/json"}
    planned: list[tuple[float, bytes, int]] = [
        (float(offset), json.dumps(update).encode(), int(update["update_id"]))
        for offset, update in plan["updates"]
    ]
    results: list[list[Any]] = []
    # No connection limit: an open loop must not wait for earlier answers to send the next.
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post(body: bytes, update_id: int) -> None:
            sent_at = time.time()
            status = 0
            try:
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            results.append([update_id, sent_at, status, time.time() - sent_at])

        start = time.monotonic() + 1.0
        limit = float(plan["limit_s"])
        tasks = []
        for offset, body, update_id in planned:
            if offset > limit:
                break
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(body, update_id)))
        await asyncio.gather(*tasks)
    return results


async def balance(ports: list[int]) -> None:
    balancer = Balancer(ports)
    await balancer.start()
    print(balancer.url, flush=True)
    try:
        await asyncio.Event().wait()  # until the parent ends this process
    finally:
        await balancer.stop()


def main(argv: list[str]) -> None:
    if argv[:1] == ["send"] and len(argv) == 3:
        plan = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        results = asyncio.run(send(plan))
        Path(argv[2]).write_text(json.dumps(results), encoding="utf-8")
    elif argv[:1] == ["balance"] and len(argv) > 1:
        asyncio.run(balance([int(p) for p in argv[1:]]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
