"""What a chat or an admin can change, each change one transaction: the use cases behind the
commands and buttons.

A handler parses the update, calls one function here and replies with what it returns. Each
function makes its writes inside one `Database.transaction()` (the storage calls inside it join
that transaction), so a failure part-way (a full disk, a lock held too long) leaves nothing
half-written: no subscriber without the sources they named, no broadcast notice with half of
its deliveries queued, no chat record created for a keyword that was not stored. Nothing here
knows about Telegram: the chat comes in as a `ChatRef`, results go out as storage's
dataclasses or the small results below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Config
from bot.preferences import MAX_FILTERS
from storage import Database, fanout, notices, outbox, sources, subscribers
from storage.models import AlertLevel, ChatType, Language, Priority, SourceState, Subscriber
from storage.subscribers import Keyword

if TYPE_CHECKING:
    from bot.alerts.sender import Sender

# The longest broadcast text (characters): leaves room for the header within Telegram's 4,096
# (https://core.telegram.org/bots/api#sendmessage).
MAX_BROADCAST = 3500


@dataclass(frozen=True)
class ChatRef:
    """The chat an update came from, as the use cases need it.

    `language` is the user's Telegram language (bot.i18n.pick_language): the language given to
    a chat recorded for the first time; a recorded chat keeps the one it chose."""

    id: int
    type: ChatType
    title: str | None
    language: Language


class UnknownSource(ValueError):
    """A source name that is not in the configuration; `known` lists the configured names."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"no source named {name!r}")
        self.name = name
        self.known = tuple(known)


class BroadcastTooLong(ValueError):
    """A broadcast text over MAX_BROADCAST characters (`length` and `limit` in characters)."""

    def __init__(self, length: int, limit: int = MAX_BROADCAST) -> None:
        super().__init__(f"a broadcast of {length} characters (at most {limit})")
        self.length = length
        self.limit = limit


@dataclass(frozen=True)
class Subscription:
    """A chat just subscribed: its record, and the titles of the sources it named (empty when
    it takes every source)."""

    subscriber: Subscriber
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SourceChoices:
    """The configured sources' stored states, and the ids of those a chat switched off."""

    states: list[SourceState]
    off: set[int]


async def configured_sources(db: Database, config: Config) -> list[SourceState]:
    """The stored state of each source still in the configuration, in storage order (a source
    removed from the file keeps its row and items, but is shown nowhere)."""
    names = {s.name for s in config.sources}
    return [s for s in await sources.all_sources(db) if s.name in names]


async def chat_record(db: Database, chat: ChatRef) -> Subscriber:
    """The chat's record, created switched off (not subscribed) if it has none, so that its
    preferences can be kept before it subscribes."""
    return await subscribers.ensure(db, chat.id, chat.type, chat.language, chat.title)


async def subscribe(
    db: Database, config: Config, chat: ChatRef, names: Sequence[str] = ()
) -> Subscription:
    """Subscribe the chat to breaking alerts: from every source, or from only the sources
    `names` (configured names, any case), every other configured source switched off for it.

    An existing chat is switched back on with its preferences. Raises UnknownSource, before
    anything is written, for the first name that is not configured. One transaction.
    """
    by_name = {s.name.lower(): s.name for s in config.sources}
    wanted = [n.lower() for n in names]
    for name in wanted:
        if name not in by_name:
            raise UnknownSource(name, [s.name for s in config.sources])
    states = await sources.all_sources(db) if wanted else []
    async with db.transaction():
        record = await subscribers.subscribe(
            db, chat.id, chat.type, language=chat.language, title=chat.title
        )
        for state in states:
            if state.name.lower() in by_name:
                enabled = state.name.lower() in wanted
                await subscribers.set_source_enabled(db, chat.id, state.id, enabled)
    return Subscription(record, tuple(config.source_title(by_name[n]) for n in wanted))


async def unsubscribe(db: Database, chat_id: int) -> bool:
    """Stop alerts to the chat, keeping its preferences for a later subscribe; False when it
    was not subscribed."""
    return await subscribers.deactivate(db, [chat_id], "unsubscribed") > 0


async def queue_broadcast(
    db: Database, text: str, sender: Sender | None = None, batch: int | None = None
) -> int:
    """Queue `text` for every active subscriber through the alerts outbox, urgent; returns how
    many chats it is queued for (the active subscribers when the fan-out goes on past its
    first batch), and wakes `sender` so that it goes out at once.

    A fan-out in batches (storage.fanout): the notice, its first `batch` chats (the backend's
    batch when None) and the cursor of the rest are one transaction, so a failure queues it
    for nobody and a crash after it loses nobody; the leader's fan-out walker writes the rest
    in short transactions, looking for it within a second (bot.alerts.fanout), so that no
    /subscribe or settings change waits behind a whole audience. Raises BroadcastTooLong for
    a text over MAX_BROADCAST characters, before any write.
    """
    if len(text) > MAX_BROADCAST:
        raise BroadcastTooLong(len(text))
    rate = float(sender.settings.rate) if sender is not None else outbox.BROADCAST_RATE
    async with db.transaction():
        notice = await notices.create(db, "broadcast", text)
        count = await outbox.enqueue_notice(
            db, notice, None, Priority.URGENT, rate=rate, batch=batch
        )
    if sender is not None:
        sender.wake()
    if await fanout.unfinished_notice(db, notice):
        return (await subscribers.count(db))[1]
    return count


async def add_keyword(db: Database, chat: ChatRef, word: str, written: str) -> bool:
    """Add the keyword filter `word` (normalized, bot.preferences.clean_keyword), shown as
    `written`; False, with no keyword added, when the chat has MAX_FILTERS already.

    The chat is recorded (switched off) if it was not: one transaction with the keyword.
    """
    async with db.transaction():
        await chat_record(db, chat)
        if len(await subscribers.filters(db, chat.id)) >= MAX_FILTERS:
            return False
        await subscribers.set_filters(db, chat.id, add=[word], shown={word: written})
    return True


async def remove_keyword(db: Database, chat: ChatRef, word: str) -> str | None:
    """Remove the keyword filter `word` (normalized); the label it was shown with, or None
    when the chat has no such keyword. One transaction with the chat's record."""
    async with db.transaction():
        await chat_record(db, chat)
        present = {k.word: k.label for k in await subscribers.keywords(db, chat.id)}
        if word not in present:
            return None
        await subscribers.set_filters(db, chat.id, remove=[word])
    return present[word]


async def remove_keyword_by_id(db: Database, chat_id: int, keyword_id: str) -> list[Keyword]:
    """Remove the keyword whose id (storage.subscribers.keyword_id) a button carries; an id the
    chat does not have removes nothing. Returns the keywords left. One write (the button's
    chat is recorded already: the keyboard came from /settings)."""
    await subscribers.remove_keyword(db, chat_id, keyword_id)
    return await subscribers.keywords(db, chat_id)


async def change_settings(
    db: Database,
    chat: ChatRef,
    *,
    language: Language | None = None,
    alert_level: AlertLevel | None = None,
    quiet: tuple[int, int] | bool | None = False,
    digest_at: int | bool | None = False,
    topic_id: int | bool | None = False,
) -> Subscriber:
    """Change the chat's preferences (arguments as storage.subscribers.set_preferences: None
    clears quiet hours, digest or topic, False leaves them); the chat's record after.

    The chat is recorded if it was not; choosing an alert level also subscribes a chat that is
    not subscribed (a level for a chat that gets nothing would mean nothing). One transaction.
    """
    async with db.transaction():
        record = await chat_record(db, chat)
        if alert_level is not None and not record.active:
            await subscribers.subscribe(db, chat.id, chat.type, record.language, chat.title)
        changed = await subscribers.set_preferences(
            db,
            chat.id,
            language=language,
            alert_level=alert_level,
            quiet=quiet,
            digest_at=digest_at,
            topic_id=topic_id,
        )
    assert changed is not None  # recorded just above, in the same transaction
    return changed


async def toggle_source(
    db: Database, config: Config, chat: ChatRef, source_id: int
) -> SourceChoices | None:
    """Switch one configured source off for the chat, or back on; then the chat's choices, for
    the view. None, with nothing written, when
    `source_id` is not a configured source's (a forged or stale button). One transaction."""
    states = await configured_sources(db, config)
    if source_id not in {s.id for s in states}:
        return None
    async with db.transaction():
        await chat_record(db, chat)
        off = await subscribers.disabled_sources(db, chat.id)
        await subscribers.set_source_enabled(db, chat.id, source_id, source_id in off)
    return SourceChoices(states, await subscribers.disabled_sources(db, chat.id))


async def switch_source(db: Database, config: Config, name: str, off: bool) -> str | None:
    """Switch the configured source `name` (any case) off, or on, for everyone; its configured
    name, or None when no source has that name."""
    names = {s.name.lower(): s.name for s in config.sources}
    found = names.get(name.lower())
    if found is None:
        return None
    await sources.set_disabled(db, found, off)
    return found
