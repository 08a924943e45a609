"""The one paced sender that drains the outbox.

It claims a window of due deliveries at a time (urgent first, oldest first), sends them at
`[alerts] messages_per_second` overall and within each chat's own limit, and writes the
outcomes back in batches. At most `window` deliveries are ever claimed but unrecorded, so a
crash (even kill -9) can resend at most that many; none is lost, since a claimed row stays in
the database as 'sending' and is put back at the next start.

Telegram's answers: 429 pauses every send for retry_after and the message is retried; blocked,
deactivated, kicked or unknown chats are switched off and never retried; a group that became a
supergroup is followed to its new id; a refusal of the message's content (entities that do not
parse, too long, empty, a button's URL or data refused: `botapi.is_content_refusal`, in every
wording Telegram uses) stops that alert for everyone and tells the admins once; timeouts,
network errors and 5xx answers are retried with capped backoff for as long as the alert is
still news ([news] freshness_hours), then recorded as expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.alerts.botapi import ApiError, BotApiClient, TransportError, is_content_refusal
from bot.alerts.pacing import ChatPacer, Pacer
from bot.compose import keyboards
from bot.compose.alerts import admin_broken_notice, alert_message, broadcast_message, digest_message
from bot.compose.outgoing import Outgoing
from bot.i18n import translator
from bot.ops.metrics import Metrics
from storage import Database, outbox, subscribers
from storage.models import Claim, DeliveryOutcome, DeliveryState, Priority

log = logging.getLogger(__name__)
_GONE_ERRORS = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "have no rights",
    "not enough rights",
    "need administrator rights",
)


@dataclass(frozen=True)
class SenderSettings:
    rate: int
    paid: bool
    zone: tzinfo
    # How long a delivery is worth retrying through timeouts, network errors and 5xx
    # answers: [news] freshness_hours, after which the alert is no longer news.
    expire_after: timedelta
    admins: tuple[int, ...] = ()
    source_titles: Mapping[str, str] | None = None

    @property
    def window(self) -> int:
        """Deliveries claimed but not yet recorded, at most: half a second of sending."""
        return max(8, self.rate // 2)

    @property
    def concurrency(self) -> int:
        """Requests in flight at once."""
        return max(4, min(self.window, 64))


def _content_key(claim: Claim) -> tuple[str, object]:
    """What a content refusal stops: the alert's item, the broadcast's text, or (for digests,
    which differ per chat) nothing beyond that delivery."""
    if claim.item is not None:
        return ("item", claim.item.id)
    if claim.notice_kind == "broadcast":
        return ("broadcast", claim.notice_body or "")
    return ("digest", "")


RETRY_CAP_S = 60


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8 ... seconds, capped at a minute: an outage costs an alert a minute at most once
    the Bot API is back."""
    return timedelta(seconds=min(2**attempts, RETRY_CAP_S))


class Sender:
    def __init__(
        self,
        db: Database,
        client: BotApiClient,
        settings: SenderSettings,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        worker: str = "",
        fence: Callable[[], bool] | None = None,
    ) -> None:
        self.metrics = metrics
        # The worker this sender claims deliveries for; with a `fence` (the fleet's leader
        # lease, bot.fleet) it claims only while that worker holds the lease, and sends only
        # while the fence says the lease is still valid.
        self.worker = worker or f"sender/{secrets.token_hex(4)}"
        self._fence = fence
        self.db = db
        self.client = client
        self.settings = settings
        self.pacer = Pacer(settings.rate, clock)
        self.chats = ChatPacer(clock)
        self._clock = clock
        self._wake = asyncio.Event()
        self._ready: deque[Claim] = deque()
        self._later: list[tuple[float, int, Claim]] = []  # chat not ready yet
        self._order = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[DeliveryOutcome] = []
        self._gone: list[tuple[int, str]] = []
        # Messages Telegram refused for their content: ("item", id) or ("broadcast", body) stop
        # for everyone; ("digest", "") only marks that the admins were told.
        self._broken: set[tuple[str, object]] = set()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._last_flush = clock()
        self._composed: dict[tuple[object, ...], Outgoing] = {}
        self._failing_since: datetime | None = None  # the current outage's start
        self.sent = 0

    def fence_with(self, fence: Callable[[], bool]) -> None:
        """From now on claim and send only while `fence()` is true (the worker leads)."""
        self._fence = fence

    def wake(self) -> None:
        """New deliveries are due: look now rather than at the next tick."""
        self._wake.set()

    @property
    def _held(self) -> int:
        return len(self._ready) + len(self._later) + len(self._tasks) + len(self._outcomes)

    async def run(self, stop: asyncio.Event, gone: Sequence[str] = ()) -> None:
        """Send until `stop` is set. First put back the deliveries that senders now gone left
        claimed: those of the workers named in `gone` and every expired claim."""
        requeued = await outbox.requeue_claims(self.db, datetime.now(UTC), gone)
        if requeued:
            log.info(
                "sender: %d deliveries left in flight by a sender now gone are queued again",
                requeued,
            )

        async def stop_wakes_us() -> None:
            await stop.wait()
            self._wake.set()

        watcher = asyncio.create_task(stop_wakes_us())
        try:
            while not stop.is_set():
                await self._step()
        finally:
            watcher.cancel()
            await self._shutdown()

    async def _step(self) -> None:
        if len(self._ready) + len(self._later) <= self.settings.window // 4:
            # Running low: record what is done and claim more now, so that the pacer never
            # waits on the database and sends stay evenly spread.
            await self._flush(force=bool(self._outcomes))
            room = self.settings.window - self._held
            if room > 0:
                claims = await outbox.claim_due(
                    self.db,
                    room,
                    datetime.now(UTC),
                    worker=self.worker,
                    leader_only=self._fence is not None,
                )
                for claim in claims:
                    self._queue(claim)
        else:
            await self._flush(force=False)
        now = self._clock()
        while self._later and self._later[0][0] <= now:
            self._ready.append(heapq.heappop(self._later)[2])
        if not self._ready:
            if self._later:
                timeout = min(self._later[0][0] - now, 0.25)
            else:
                timeout = 0.05 if self._tasks or self._outcomes else 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(timeout, 0.001))
            return
        claim = self._ready.popleft()
        if _content_key(claim)[0] != "digest" and _content_key(claim) in self._broken:
            self._outcomes.append(
                DeliveryOutcome(
                    claim.delivery_id,
                    DeliveryState.BROKEN,
                    claim.attempts,
                    "the alert's content was refused",
                )
            )
            return
        if self.chats.ready_at(claim.chat_id, claim.chat_type) > self._clock():
            self._queue(claim)  # another message to this chat went out meanwhile
            return
        await self.pacer.acquire()
        await self._slots.acquire()
        if self._fence is not None and not self._fence():
            # The lease may be passing to another worker (this one was paused or cut off):
            # not one more send until it is renewed, or until the leadership stops us.
            self._slots.release()
            self.pacer.sent()  # the slot was not used
            self._ready.appendleft(claim)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.25)
            return
        self.chats.sent(claim.chat_id)
        task = asyncio.create_task(self._send(claim))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _queue(self, claim: Claim) -> None:
        """Ready now, or later when its chat's own limit allows."""
        at = self.chats.ready_at(claim.chat_id, claim.chat_type)
        if at > self._clock():
            heapq.heappush(self._later, (at, next(self._order), claim))
        else:
            self._ready.append(claim)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("sender: a send task failed", exc_info=task.exception())

    async def _send(self, claim: Claim) -> None:
        try:
            message = self._compose(claim)
        except Exception as exc:
            log.exception("sender: cannot compose delivery %d", claim.delivery_id)
            self._outcomes.append(
                DeliveryOutcome(
                    claim.delivery_id, DeliveryState.BROKEN, claim.attempts, f"compose: {exc}"[:300]
                )
            )
            self.pacer.sent()  # its slot is free again
            return
        params: dict[str, Any] = {
            "chat_id": claim.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "disable_notification": message.silent,
            "link_preview_options": keyboards.preview_json(message),
        }
        keyboard = keyboards.markup_json(message)
        if keyboard is not None:
            params["reply_markup"] = keyboard
        if claim.topic_id is not None:
            params["message_thread_id"] = claim.topic_id
        if self.settings.paid:
            params["allow_paid_broadcast"] = True
        if self._fence is not None and not self._fence():
            # Checked again at the last moment: this task may have been made just before the
            # process was paused, and run only after the lease passed to another worker.
            self.pacer.sent()  # the slot was not used
            self._ready.appendleft(claim)
            return
        wired = False

        def on_wire() -> None:
            nonlocal wired
            if not wired:
                wired = True
                self.pacer.sent()

        try:
            message_id = await self.client.send_message(params, on_wire)
        except ApiError as exc:
            await self._refused(claim, exc)
        except TransportError as exc:
            self._retry_later(claim, str(exc))
        except Exception as exc:
            log.exception("sender: unexpected error for delivery %d", claim.delivery_id)
            self._outcomes.append(
                DeliveryOutcome(
                    claim.delivery_id, DeliveryState.FAILED, claim.attempts + 1, repr(exc)[:300]
                )
            )
        else:
            self.sent += 1
            if self._failing_since is not None:
                seconds = (datetime.now(UTC) - self._failing_since).total_seconds()
                log.info("sender: the Bot API answers again after %.0f s", seconds)
                self._failing_since = None
            self._outcomes.append(
                DeliveryOutcome(
                    claim.delivery_id, DeliveryState.SENT, claim.attempts + 1, None, message_id
                )
            )
        finally:
            on_wire()  # failed before the wire, or the hook did not fire: free the pacer

    async def _refused(self, claim: Claim, exc: ApiError) -> None:
        """Telegram said no: wait, follow, drop, stop the alert, or record the failure."""
        reason = exc.description
        lowered = reason.lower()
        if exc.code == 429:
            seconds = float(exc.retry_after or 1)
            log.warning("sender: Telegram asks to wait %s s (429); every send pauses", seconds)
            self.pacer.pause(seconds)
            self._ready.appendleft(claim)
        elif exc.migrate_to is not None:
            new_id = exc.migrate_to
            log.info("sender: chat %d became supergroup %d; following it", claim.chat_id, new_id)
            await subscribers.migrate(self.db, claim.chat_id, new_id)
            self._ready.appendleft(replace(claim, chat_id=new_id, chat_type="supergroup"))
        elif exc.code == 403 or any(marker in lowered for marker in _GONE_ERRORS):
            self._drop(claim, reason)
        elif is_content_refusal(exc.code, reason):
            await self._broken_content(claim, reason)
        elif exc.code >= 500:
            self._retry_later(claim, reason)  # Telegram's side is down: it will come back
        else:
            self._outcomes.append(
                DeliveryOutcome(
                    claim.delivery_id, DeliveryState.FAILED, claim.attempts + 1, reason[:300]
                )
            )

    def _compose(self, claim: Claim) -> Outgoing:
        # A broadcast sends the same text to everyone who reads that language: compose it once.
        key = (
            claim.item.id if claim.item else None,
            claim.notice_body if claim.item is None else None,
            claim.language,
            claim.priority,
            claim.notice_kind,
        )
        cached = self._composed.get(key)
        if cached is None:
            cached = self._compose_new(claim)
            if len(self._composed) > 256:
                self._composed.clear()
            self._composed[key] = cached
        return cached

    def _compose_new(self, claim: Claim) -> Outgoing:
        zone = self.settings.zone
        if claim.item is not None:
            titles = self.settings.source_titles or {}
            source = titles.get(claim.item.source_name, claim.item.source_name)
            return alert_message(
                claim.item, claim.language, zone, source, urgent=claim.priority == Priority.URGENT
            )
        if claim.notice_kind == "digest":
            return digest_message(
                claim.notice_body or "[]", claim.language, zone, datetime.now(UTC)
            )
        return broadcast_message(claim.notice_body or "", claim.language)

    def _drop(self, claim: Claim, reason: str) -> None:
        log.info("sender: chat %d is gone (%s); alerts to it stop", claim.chat_id, reason)
        self._gone.append((claim.chat_id, reason[:200]))
        self._outcomes.append(
            DeliveryOutcome(
                claim.delivery_id, DeliveryState.DROPPED, claim.attempts + 1, reason[:300]
            )
        )

    def _retry_later(self, claim: Claim, reason: str) -> None:
        """A transient failure (timeout, network, 5xx): try again with capped backoff for as
        long as the delivery is still news, then record it as expired, never as a silent
        failure after a fixed number of tries."""
        attempts = claim.attempts + 1
        now = datetime.now(UTC)
        retry_at = now + retry_delay(attempts)
        queued = claim.created_at or now
        if retry_at > queued + self.settings.expire_after:
            log.warning(
                "sender: delivery %d expired after %d attempts over %.0f s: %s",
                claim.delivery_id,
                attempts,
                (now - queued).total_seconds(),
                reason,
            )
            self._outcomes.append(
                DeliveryOutcome(claim.delivery_id, DeliveryState.EXPIRED, attempts, reason[:300])
            )
            return
        if self._failing_since is None:
            # Once per outage, not once per delivery: a broadcast would write thousands.
            self._failing_since = now
            log.warning("sender: the Bot API fails (%s); deliveries are retried", reason)
        self._outcomes.append(
            DeliveryOutcome(
                claim.delivery_id,
                DeliveryState.PENDING,
                attempts,
                reason[:300],
                not_before=retry_at,
            )
        )

    async def _broken_content(self, claim: Claim, reason: str) -> None:
        """Telegram refused the message itself: stop it for everyone (an alert, a broadcast; a
        digest is one chat's own) and tell the admins once."""
        outcome = DeliveryOutcome(
            claim.delivery_id, DeliveryState.BROKEN, claim.attempts + 1, reason[:300]
        )
        key = _content_key(claim)
        if key in self._broken:
            self._outcomes.append(outcome)
            return
        self._broken.add(key)  # before any await: concurrent refusals of it stop here
        # The refused delivery's own outcome is written with the stop, in one transaction:
        # written later, with the other outcomes, the row would read "broken, never tried"
        # until then (and for good after a crash in between).
        if claim.item is not None:
            stopped = await outbox.break_item(self.db, claim.item.id, reason, outcome, self.worker)
            self._count([outcome])
            title = claim.item.title
        elif claim.notice_kind == "broadcast":
            body = claim.notice_body or ""
            stopped = await outbox.break_notice(
                self.db, "broadcast", body, reason, outcome, self.worker
            )
            self._count([outcome])
            title = body
        else:
            self._outcomes.append(outcome)
            stopped, title = 0, translator("ar")("digest-title")
        log.error(
            "sender: Telegram refuses %s %r (%s); %d more deliveries stopped",
            key[0],
            title[:80],
            reason,
            stopped,
        )
        notice = admin_broken_notice(reason, title)
        for admin in self.settings.admins:
            try:
                await self.client.send_message(
                    {
                        "chat_id": admin,
                        "text": notice.text,
                        "parse_mode": "HTML",
                        "link_preview_options": {"is_disabled": True},
                    }
                )
            except Exception as exc:  # the admin may have blocked the bot: never stop sending
                log.warning("sender: cannot tell admin %d about a refused message: %s", admin, exc)

    async def _flush(self, force: bool) -> None:
        due = (
            force
            or len(self._outcomes) >= max(1, self.settings.window // 2)
            or (self._outcomes and self._clock() - self._last_flush >= 0.25)
        )
        if not due:
            return
        outcomes, self._outcomes = self._outcomes, []
        gone, self._gone = self._gone, []
        # One transaction: the outcomes and the chats they switched off.
        async with self.db.transaction():
            await outbox.record_outcomes(self.db, outcomes, self.worker)
            for chat_id, why in gone:
                await subscribers.deactivate(self.db, [chat_id], why)
        self._count(outcomes)
        self._last_flush = self._clock()
        self.chats.forget_idle()

    def _count(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Outcomes written, by state, for /metrics."""
        if self.metrics is not None:
            for outcome in outcomes:
                self.metrics.deliveries.labels(outcome.state.value).inc()

    async def _shutdown(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        # What was claimed but not sent goes back to the queue as it was.
        unsent = list(self._ready) + [entry[2] for entry in self._later]
        self._ready.clear()
        self._later.clear()
        self._outcomes.extend(
            DeliveryOutcome(c.delivery_id, DeliveryState.PENDING, c.attempts) for c in unsent
        )
        await self._flush(force=True)
