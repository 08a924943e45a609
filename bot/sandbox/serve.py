"""Run the Bot API emulator on its own: `python -m bot.sandbox.serve --port 8081`.

For benchmarks and manual testing from another process; it prints its api_url and serves
until interrupted. The control API (bot/sandbox/control.py) plays the users.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal

from bot.sandbox.emulator import Emulator

DEFAULT_TOKEN = "123456789:AAH-sandbox-token-not-a-secret-000000"


async def serve(port: int, token: str, users: int) -> None:
    emulator = Emulator(token)
    for user_id in range(1, users + 1):
        emulator.world.add_user(user_id, f"user{user_id}")
    await emulator.start(port)
    # As a measuring instrument the emulator must not pause: a full garbage collection over
    # 100,000 users stalled it for ~80 ms, which bunched the arrivals it timestamps.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    print(f"api_url = {emulator.api_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--users", type=int, default=0, help="create private chats 1..N")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.token, args.users))


if __name__ == "__main__":
    main()
