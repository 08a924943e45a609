"""The records that storage functions take and return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

ChatType = Literal["private", "group", "supergroup", "channel"]
Language = Literal["ar", "fr", "en"]
AlertLevel = Literal["urgent", "all", "digest"]


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BROKEN = "broken"
    DROPPED = "dropped"
    EXPIRED = "expired"  # the Bot API stayed unreachable until the alert was no longer news


class Priority:
    URGENT = 0
    NORMAL = 1


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: storage keeps only timezone-aware moments")
    return int(moment.timestamp())


def from_epoch(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Subscriber:
    chat_id: int
    chat_type: ChatType
    language: Language
    active: bool
    alert_level: AlertLevel
    title: str | None = None
    quiet_start: int | None = None
    quiet_end: int | None = None
    quiet_to_digest: bool = False
    digest_at: int | None = None
    topic_id: int | None = None
    deactivated_why: str | None = None
    digest_sent_at: datetime | None = None


@dataclass(frozen=True)
class SourceState:
    id: int
    name: str
    url: str
    kind: str
    etag: str | None
    last_modified: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    failing_since: datetime | None
    next_fetch_at: datetime | None
    disabled: bool
    primed: bool
    # Why the last read gave less than it should (None: it did not), and since when.
    warning: str | None = None
    warning_since: datetime | None = None


@dataclass(frozen=True)
class NewItem:
    """An item as news processing found it, ready to be stored."""

    uid: str
    source_id: int
    url: str | None
    title: str
    normalized_title: str
    published_at: datetime | None
    fetched_at: datetime
    urgent: bool = False
    normalized_text: str = ""
    summary: str | None = None
    image_url: str | None = None
    story_id: int | None = None


@dataclass(frozen=True)
class StoredItem:
    id: int
    uid: str
    source_id: int
    source_name: str
    url: str | None
    title: str
    published_at: datetime | None
    sort_at: datetime
    urgent: bool
    summary: str | None
    image_url: str | None
    story_id: int | None


@dataclass(frozen=True)
class FanOutStep:
    """One batch of an alert's or a broadcast's fan-out: its item (the notice's id when
    `notice`), the deliveries it added, whether it was the audience's last, and whether it
    was refused (nothing written: another walker took the batch, or the walker's worker no
    longer leads)."""

    item_id: int
    added: int
    done: bool
    refused: bool = False
    notice: bool = False


@dataclass(frozen=True)
class FanOutProgress:
    """The fan-outs not finished yet: how many alerts and how many broadcasts, and how many
    chats their walks have still to reach (every chat past each one's cursor, active or not)."""

    alerts: int
    chats_left: int
    broadcasts: int = 0


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the sender learned about one delivery; written back in batches."""

    delivery_id: int
    state: DeliveryState
    attempts: int
    last_error: str | None = None
    message_id: int | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class Claim:
    """A delivery taken by the sender, with what it needs to compose and address the message."""

    delivery_id: int
    chat_id: int
    chat_type: ChatType
    language: Language
    topic_id: int | None
    priority: int
    attempts: int
    item: StoredItem | None
    notice_kind: str | None
    notice_body: str | None
    created_at: datetime | None = None  # when the delivery was queued
