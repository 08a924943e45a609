"""/healthz and /metrics on [http] listen:port.

/healthz answers 200 "ok" when the database takes a write, the scheduler runs, the Bot API
answers (it answered since start, and its last request did not fail: bot/ops/contact.py) and
no delivery has waited longer than STALE_PENDING_S (an outage, or a sender that stopped);
otherwise 503 with the reasons, one per line. Either way a last line gives the pending
deliveries and the oldest one's age, and one more whether this worker
is the fleet's leader ("role leader") or not ("role follower").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.contact import BotApiContact
from bot.ops.metrics import Metrics
from storage import Database, meta, outbox

log = logging.getLogger(__name__)
STALE_PENDING_S = 600


@dataclass
class HealthState:
    api: BotApiContact = field(default_factory=BotApiContact)
    scheduler_running: Callable[[], bool] = field(default=lambda: False)
    # Whether this worker leads the fleet (bot.fleet); None where there is no fleet.
    leading: Callable[[], bool] | None = None


class HealthServer:
    def __init__(self, db: Database, metrics: Metrics, state: HealthState) -> None:
        self.db = db
        self.metrics = metrics
        self.state = state
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, listen: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, listen, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("health and metrics on http://%s:%d/healthz and /metrics", listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def problems(self) -> list[str]:
        found = []
        try:
            await meta.put(self.db, "healthz", str(int(time.time())))
        except Exception as exc:
            found.append(f"database not writable: {exc}")
        if not self.state.scheduler_running():
            found.append("scheduler not running")
        api = self.state.api.problem()
        if api is not None:
            found.append(api)
        pending = await self._pending()
        if pending is not None and pending[1] > STALE_PENDING_S:
            found.append(f"{pending[0]} deliveries waiting, the oldest for {pending[1]:.0f} s")
        return found

    async def _pending(self) -> tuple[int, float] | None:
        """(deliveries not yet sent, the oldest one's age in seconds); None when unreadable."""
        try:
            count, oldest = await outbox.pending_summary(self.db)
        except Exception as exc:  # the database problem is reported on its own line
            log.debug("health: pending deliveries unavailable: %s", exc)
            return None
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return count, max(age, 0.0)

    async def _healthz(self, _: web.Request) -> web.Response:
        problems = await self.problems()
        found = await self._pending()
        pending = f"pending {found[0]}, oldest {found[1]:.0f} s\n" if found else ""
        if self.state.leading is not None:
            pending += "role leader\n" if self.state.leading() else "role follower\n"
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n" + pending)
        return web.Response(text="ok\n" + pending)

    async def _metrics(self, _: web.Request) -> web.Response:
        if self.state.leading is not None:
            self.metrics.leader.set(1 if self.state.leading() else 0)
        try:
            self.metrics.outbox_depth.set(await outbox.pending_count(self.db, datetime.now(UTC)))
            found = await self._pending()
            if found is not None:
                self.metrics.outbox_pending.set(found[0])
                self.metrics.outbox_oldest_seconds.set(found[1])
        except Exception as exc:  # a metrics scrape must not fail on a busy database
            log.warning("metrics: outbox depth unavailable: %s", exc)
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
