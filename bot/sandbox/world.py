"""The emulated Telegram world: users, chats, the messages in them and the bot's update queue,
the faults switched on and the log of Bot API calls.

Pure state with Telegram-shaped dictionaries; the HTTP side lives in `emulator.py` (the Bot API)
and `control.py` (the control API), which both act on one `World`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.faults import Faults
from bot.sandbox.params import Params
from bot.sandbox.telegram_html import utf16_length


@dataclass(frozen=True)
class Call:
    """One Bot API call as the emulator answered it."""

    at: float  # time.time() when the request arrived
    method: str
    params: Params
    error: int | None = None  # error_code of the answer, if it was an error


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "ar"
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    is_forum: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.first_name is not None:
            data["first_name"] = self.first_name
        if self.username is not None:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class SentMessage:
    """A message in a chat as the emulator keeps it: Telegram's form plus what the bot sent."""

    message_id: int
    chat_id: int
    date: int
    from_user: User
    text: str
    html: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    disable_notification: bool = False
    link_preview: bool = True
    photo_url: str | None = None
    edits: list[str] = field(default_factory=list)
    deleted: bool = False
    thread_id: int | None = None
    paid: bool = False
    sent_at: float = field(default_factory=time.time)
    changed_at: float = 0.0  # last edit or deletion

    def to_api(self, chat: Chat) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": chat.to_api(),
        }
        if chat.type != "channel":
            data["from"] = self.from_user.to_api()
        if self.photo_url is not None:
            data["photo"] = [
                {
                    "file_id": f"photo-{self.message_id}",
                    "file_unique_id": f"p{self.message_id}",
                    "width": 800,
                    "height": 450,
                }
            ]
            if self.text:
                data["caption"] = self.text
        else:
            data["text"] = self.text
        if self.entities:
            data["entities"] = self.entities
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        if self.edits:
            data["edit_date"] = self.date
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
            if chat.is_forum:
                data["is_topic_message"] = True
        return data


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a message starting with '/'."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]


class World:
    """Everything the emulator knows; every change wakes long-polling getUpdates calls."""

    def __init__(self, bot_token: str, bot_username: str = "AjilBot") -> None:
        bot_id = int(bot_token.split(":", 1)[0])
        self.token = bot_token
        self.bot = User(bot_id, "Ajil", bot_username, None, is_bot=True)
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, list[SentMessage]] = {}
        self.updates: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self.changed = asyncio.Condition()
        self.faults = Faults()
        self.calls: list[Call] = []  # every Bot API call, in order of arrival
        # Set when the server stops: long polls (getUpdates, the control API's waits) end now.
        self.closing = False

    # -- people and places -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = "ar",
        username: str | None = None,
    ) -> User:
        user = User(user_id, first_name, username, language_code)
        self.users[user_id] = user
        self.chats.setdefault(
            user_id, Chat(user_id, "private", first_name=first_name, username=username)
        )
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: list[int],
        admins: list[int],
        supergroup: bool = False,
        forum: bool = False,
    ) -> Chat:
        chat = Chat(
            chat_id,
            "supergroup" if supergroup or forum else "group",
            title=title,
            members=set(members) | {self.bot.id},
            admins=set(admins),
            is_forum=forum,
        )
        self.chats[chat_id] = chat
        return chat

    def add_channel(self, chat_id: int, title: str, username: str | None = None) -> Chat:
        chat = Chat(chat_id, "channel", title=title, username=username, admins={self.bot.id})
        self.chats[chat_id] = chat
        return chat

    # -- what the bot receives ---------------------------------------------------------------

    async def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        async with self.changed:
            self.updates.append(update)
            self.changed.notify_all()
        return update

    def new_message_id(self) -> int:
        return next(self._message_ids)

    def record(self, message: SentMessage) -> None:
        self.messages.setdefault(message.chat_id, []).append(message)

    async def user_message(
        self, user_id: int, text: str, chat_id: int | None = None, thread_id: int | None = None
    ) -> dict[str, Any]:
        """A user writes in a chat (their private chat by default); the bot gets the update."""
        user = self.users[user_id]
        chat = self.chats[chat_id if chat_id is not None else user_id]
        message = SentMessage(
            self.new_message_id(),
            chat.id,
            int(time.time()),
            user,
            text,
            entities=command_entities(text),
            thread_id=thread_id,
        )
        self.record(message)
        return await self.push_update("message", message.to_api(chat))

    async def press_button(
        self, user_id: int, chat_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        """A user presses an inline button carrying callback `data` under a bot message."""
        user = self.users[user_id]
        chat = self.chats[chat_id]
        message = self.find_message(chat_id, message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query = {
            "id": str(next(self._update_ids) * 1000 + 7),
            "from": user.to_api(),
            "message": message.to_api(chat),
            "chat_instance": str(abs(chat_id) * 31 + 17),
            "data": data,
        }
        return await self.push_update("callback_query", query)

    async def inline_query(self, user_id: int, query: str) -> dict[str, Any]:
        """A user types «@bot query» in any chat."""
        payload = {
            "id": str(next(self._update_ids) * 1000 + 9),
            "from": self.users[user_id].to_api(),
            "query": query,
            "offset": "",
            "chat_type": "private",
        }
        return await self.push_update("inline_query", payload)

    def member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        """A ChatMember as getChatMember answers it."""
        user = self.bot if user_id == self.bot.id else self.users[user_id]
        if chat.type == "private" or user_id in chat.admins:
            status = (
                "creator"
                if chat.type == "private" or user_id == min(chat.admins)
                else "administrator"
            )
        else:
            status = "member" if user_id in chat.members or chat.type == "channel" else "left"
        data: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "administrator":
            data.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "creator":
            data["is_anonymous"] = False
        return data

    def migrate(self, chat_id: int, new_id: int) -> Chat:
        """The group becomes a supergroup with a new id, as Telegram does on upgrade."""
        old = self.chats[chat_id]
        new = Chat(
            new_id,
            "supergroup",
            title=old.title,
            members=set(old.members),
            admins=set(old.admins),
            is_forum=old.is_forum,
        )
        self.chats[new_id] = new
        self.messages.setdefault(new_id, [])
        return new

    def find_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self.messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages.get(chat_id, []) if m.from_user.is_bot and not m.deleted]

    async def wait_for(self, predicate: Any, timeout: float) -> None:
        """Wait until predicate() holds, re-checked whenever the world changes."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    async def touch(self) -> None:
        async with self.changed:
            self.changed.notify_all()
