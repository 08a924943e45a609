"""/latest, /urgent, /summary and their buttons: reading what is stored.

A summary that needs its article fetched runs outside PTB's update slots (`OnDemand`): the
handler answers at once with "working on it", returns, and the summary replaces that message
when ready. Slow pages (a site answering after 19 s, or pages made slow on purpose) then hold
none of the slots that every other command needs (issue 13).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import reading
from bot.compose import callbacks, keyboards
from bot.compose.lines import escaped, lines
from bot.compose.outgoing import Outgoing
from bot.i18n import Language, translator
from bot.news.text import western_digits
from bot.services import Services
from handlers.replies import language_for, reply
from storage import sessions

log = logging.getLogger(__name__)
# As many summaries run at once as the fetcher has on-demand slots (bot.news.fetch ON_DEMAND);
# a few dozen more may wait their turn, one per user, and beyond that users are asked to retry.
RUNNING = 4
WAITING = 60


class OnDemand:
    """The owned set of tasks doing work for users outside the update slots: at most one per
    user, `running` at once, `running + waiting` in all; `close()` cancels them (shutdown)."""

    def __init__(self, running: int = RUNNING, waiting: int = WAITING) -> None:
        self._slots = asyncio.Semaphore(running)
        self._capacity = running + waiting
        # A user's entry exists from the claim (before the "working" reply) until the work ends.
        self._by_user: dict[int, asyncio.Task[None] | None] = {}

    def __len__(self) -> int:
        return len(self._by_user)

    def busy(self, user: int) -> bool:
        """Whether this user's previous request is still in progress."""
        return user in self._by_user

    def full(self) -> bool:
        return len(self._by_user) >= self._capacity

    def claim(self, user: int) -> bool:
        """Reserve the user's place (synchronously, so that no second request slips in while
        the first one's reply is on its way); False when busy or full."""
        if self.busy(user) or self.full():
            return False
        self._by_user[user] = None
        return True

    def release(self, user: int) -> None:
        """Give back a claim that was never started."""
        if self._by_user.get(user, False) is None:
            del self._by_user[user]

    def start(self, user: int, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` (which must handle its own errors) in one of the slots."""
        task = asyncio.create_task(self._run(work), name=f"on-demand-{user}")
        self._by_user[user] = task

        def done(finished: asyncio.Task[None]) -> None:
            work.close()  # cancelled before it began: no "never awaited" warning
            if self._by_user.get(user) is finished:
                del self._by_user[user]
            if not finished.cancelled() and finished.exception() is not None:
                log.error("on-demand work failed", exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    async def _run(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._slots:
            await work

    async def close(self) -> None:
        """Cancel everything in progress and wait for it to end."""
        tasks = [t for t in self._by_user.values() if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ReadingHandlers:
    def __init__(self, services: Services, on_demand: OnDemand | None = None) -> None:
        self._services = services
        self.on_demand = on_demand if on_demand is not None else OnDemand()

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The newest headlines across sources, with a summary button each."""
        await self._list(update, context, urgent=False)

    async def urgent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The newest urgent headlines."""
        await self._list(update, context, urgent=True)

    async def _list(self, update: Update, context: ContextTypes.DEFAULT_TYPE, urgent: bool) -> None:
        language = await language_for(update, self._services.db)
        count = reading.parse_count(context.args or [])
        if count is None:
            await _usage(update, language, "usage-urgent" if urgent else "usage-latest")
            return
        found = await reading.listing(
            self._services.db, self._services.config, language, count, urgent_only=urgent
        )
        await self._keep_list(update, found.item_ids)
        await reply(update, found.message)

    async def more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "more" button: the next page of the same list."""
        query = update.callback_query
        if query is None:
            return
        page = callbacks.More.parse(query.data or "")
        await query.answer()
        if page is None:
            return
        urgent, offset, count = page.urgent, page.offset, page.count
        language = await language_for(update, self._services.db)
        found = await reading.listing(
            self._services.db, self._services.config, language, count, offset, urgent
        )
        if found.item_ids:
            await self._keep_list(update, found.item_ids)
        await reply(update, found.message)

    async def _keep_list(self, update: Update, item_ids: list[int]) -> None:
        """What `/summary N` will refer to in this chat, kept where any worker finds it."""
        if update.effective_chat is not None:
            await sessions.save_list(
                self._services.db, update.effective_chat.id, item_ids, int(time.time())
            )

    async def summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/summary N (item N of the last list) or /summary URL (an article of our sources)."""
        language = await language_for(update, self._services.db)
        args = context.args or []
        if len(args) != 1 or len(args[0]) > 2000:
            await _usage(update, language, "usage-summary")
            return
        arg = western_digits(args[0])  # «/summary ٢» is /summary 2
        if arg.isascii() and arg.isdigit() and len(arg) <= 3:
            chat = update.effective_chat
            listed = await sessions.last_list(self._services.db, chat.id) if chat else []
            if not listed:
                await _usage(update, language, "summary-no-list")
                return
            number = int(arg)
            if not 1 <= number <= len(listed):
                t = translator(language)
                await _say(
                    update,
                    language,
                    t("summary-out-of-range", headlines=t.n("n-headlines", len(listed))),
                )
                return
            await self._summary(update, context, item_id=listed[number - 1])
        elif arg.startswith(("http://", "https://")):
            await self._summary(update, context, url=arg)
        else:
            await _usage(update, language, "usage-summary")

    async def summary_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "summary" button under an alert or a list."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        pressed = callbacks.Summary.parse(query.data or "")
        if pressed is not None:
            await self._summary(update, context, item_id=pressed.item_id)

    async def _summary(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        item_id: int | None = None,
        url: str | None = None,
    ) -> None:
        """A kept summary at once; otherwise "working on it" now and the summary in its place
        when fetched (OnDemand), one at a time per user."""
        services = self._services
        language = await language_for(update, services.db)
        t = translator(language)
        try:
            found = await reading.prepare_summary(
                services.db, services.config, language, item_id, url
            )
        except reading.SummaryRefused as exc:
            await _say(update, language, t(exc.key, **exc.values))
            return
        if isinstance(found, Outgoing):
            await reply(update, found)
            return
        user = update.effective_user
        if user is None:
            return
        if not self.on_demand.claim(user.id):
            busy = "summary-still-working" if self.on_demand.busy(user.id) else "summary-busy"
            await _say(update, language, t(busy))
            return
        try:
            working = await reply(update, _plain(language, t("summary-working")))
        except BaseException:
            self.on_demand.release(user.id)
            raise
        if working is None:
            self.on_demand.release(user.id)
            return
        self.on_demand.start(user.id, self._finish(working, language, found))

    async def _finish(
        self, working: Message, language: Language, pending: reading.PendingSummary
    ) -> None:
        """Fetch and summarise (outside the update slots), then put the answer in place of
        the "working on it" message."""
        services = self._services
        t = translator(language)
        try:
            message = await reading.fetch_summary(
                services.db, services.config, services.fetcher, language, pending
            )
        except reading.SummaryRefused as exc:
            message = _plain(language, t(exc.key, **exc.values))
        except Exception:
            log.exception("summary of %s failed", pending.target)
            message = _plain(language, t("error-generic"))
        await _replace(working, message)


async def _replace(working: Message, message: Outgoing) -> None:
    """Edit the "working on it" message into `message`; if it is gone (deleted by the user),
    send `message` anew in the same chat and topic."""
    looks = {
        "parse_mode": "HTML",
        "reply_markup": keyboards.markup(message),
        "link_preview_options": keyboards.preview(message),
    }
    try:
        await working.edit_text(message.text, **looks)  # type: ignore[arg-type]
        return
    except BadRequest as exc:
        log.info("could not edit the summary placeholder (%s); sending it anew", exc)
    try:
        await working.reply_text(message.text, do_quote=False, **looks)  # type: ignore[arg-type]
    except TelegramError as exc:
        log.warning("could not send a summary to chat %s: %s", working.chat_id, exc)


def _plain(language: Language, text: str) -> Outgoing:
    return Outgoing(lines(language, escaped(text)), silent=True)


async def _usage(update: Update, language: Language, key: str) -> None:
    await _say(update, language, translator(language)(key))


async def _say(update: Update, language: Language, text: str) -> None:
    await reply(update, _plain(language, text))
