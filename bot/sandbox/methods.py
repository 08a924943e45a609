"""The Bot API methods the emulator answers, over the emulated `World`.

Each method takes the request's parameters and returns Telegram's `result`, or raises a
`Refusal` worded as Telegram's. Sending methods pass through the switched-on faults first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.sandbox.faults import Refusal
from bot.sandbox.params import (
    Params,
    bad,
    boolean,
    integer,
    json_dict,
    json_list,
    scope_key,
)
from bot.sandbox.telegram_html import (
    EntityParseError,
    check_button_url,
    parse_html,
    utf16_length,
)
from bot.sandbox.world import Chat, SentMessage, World

MAX_TEXT = 4096
MAX_CAPTION = 1024
Method = Callable[[Params], Awaitable[Any]]


class BotApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.faults = world.faults
        self.answered_callbacks: list[Params] = []
        self.inline_answers: list[Params] = []
        self.methods: dict[str, Method] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
        }

    def find(self, name: str) -> Method | None:
        found = self.methods.get(name)
        if found is None:  # Telegram's method names are case-insensitive
            lowered = name.lower()
            found = next((m for n, m in self.methods.items() if n.lower() == lowered), None)
        return found

    # -- bot and updates -----------------------------------------------------------------

    async def get_me(self, _: Params) -> Any:
        me = self.world.bot.to_api()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=True,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    async def get_updates(self, params: Params) -> Any:
        world = self.world
        if world.webhook["url"]:
            raise Refusal(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = integer(params, "offset", 0)
        limit = min(max(integer(params, "limit", 100), 1), 100)
        timeout = max(integer(params, "timeout", 0), 0)
        allowed = json_list(params.get("allowed_updates"))
        if offset:
            # Confirming an offset forgets every update before it, as Telegram does.
            world.updates = [u for u in world.updates if u["update_id"] >= offset]

        def pending() -> list[dict[str, Any]]:
            chosen = [u for u in world.updates if not allowed or any(k in u for k in allowed)]
            return chosen[:limit]

        found = pending()
        if not found and timeout:
            with contextlib.suppress(TimeoutError):
                await world.wait_for(lambda: bool(pending()) or world.closing, timeout)
            found = pending()
        return found

    async def set_webhook(self, params: Params) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(params.get("secret_token") or "")
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if secret and (len(secret) > 256 or not set(secret) <= allowed):
            raise bad("secret token contains unallowed characters")
        self.world.webhook = {"url": url, "secret_token": secret}
        if boolean(params, "drop_pending_updates"):
            self.world.updates.clear()
        await self.world.touch()
        return True

    async def delete_webhook(self, params: Params) -> Any:
        self.world.webhook = {"url": ""}
        if boolean(params, "drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def get_webhook_info(self, _: Params) -> Any:
        return {
            "url": self.world.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }

    # -- sending -------------------------------------------------------------------------

    def _sendable_chat(self, params: Params) -> Chat:
        chat = self._chat(params)
        self.faults.check_send(chat.id, chat.type)
        return chat

    async def send_message(self, params: Params) -> Any:
        chat = self._sendable_chat(params)
        source = str(params.get("text", ""))
        text = _render(source, params.get("parse_mode"), MAX_TEXT, "message")
        self.faults.check_text(source)
        markup = _markup(params)
        self.faults.check_buttons(markup)
        preview = json_dict(params.get("link_preview_options")) or {}
        message = self._message(chat, params, text, source)
        message.link_preview = not preview.get("is_disabled", False)
        return await self._store(chat, message)

    async def send_photo(self, params: Params) -> Any:
        chat = self._sendable_chat(params)
        photo = str(params.get("photo") or "")
        if not photo.startswith(("http://", "https://")):
            raise bad("wrong remote file identifier specified: can't unserialize it")
        source = str(params.get("caption", ""))
        caption = _render(source, params.get("parse_mode"), MAX_CAPTION, "caption", empty_ok=True)
        message = self._message(chat, params, caption, source)
        message.photo_url = photo
        return await self._store(chat, message)

    def _message(self, chat: Chat, params: Params, text: str, source: str) -> SentMessage:
        return SentMessage(
            self.world.new_message_id(),
            chat.id,
            int(time.time()),
            self.world.bot,
            text,
            html=source if params.get("parse_mode") == "HTML" else None,
            reply_markup=_markup(params),
            disable_notification=boolean(params, "disable_notification"),
            thread_id=integer(params, "message_thread_id", 0) or None,
            paid=boolean(params, "allow_paid_broadcast"),
        )

    async def _store(self, chat: Chat, message: SentMessage) -> Any:
        self.world.record(message)
        await self.world.touch()
        return message.to_api(chat)

    async def edit_message_text(self, params: Params) -> Any:
        chat, message = self._own_message(params, "message to edit not found")
        source = str(params.get("text", ""))
        text = _render(source, params.get("parse_mode"), MAX_TEXT, "message")
        markup = _markup(params)
        if text == message.text and markup == message.reply_markup:
            raise bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.edits.append(message.html or message.text)
        message.text, message.reply_markup = text, markup
        message.html = source if params.get("parse_mode") == "HTML" else None
        # As Telegram does, an edit sets the link preview anew (shown unless disabled).
        preview = json_dict(params.get("link_preview_options")) or {}
        message.link_preview = not preview.get("is_disabled", False)
        message.changed_at = time.time()
        await self.world.touch()
        return message.to_api(chat)

    async def edit_message_reply_markup(self, params: Params) -> Any:
        chat, message = self._own_message(params, "message to edit not found")
        markup = _markup(params)
        if markup == message.reply_markup:
            raise bad("message is not modified")
        message.reply_markup = markup
        message.changed_at = time.time()
        await self.world.touch()
        return message.to_api(chat)

    async def delete_message(self, params: Params) -> Any:
        _, message = self._own_message(params, "message to delete not found", any_author=True)
        message.deleted = True
        message.changed_at = time.time()
        await self.world.touch()
        return True

    def _own_message(
        self, params: Params, missing: str, any_author: bool = False
    ) -> tuple[Chat, SentMessage]:
        chat = self._chat(params)
        message = self.world.find_message(chat.id, integer(params, "message_id", 0))
        if message is None or message.deleted or not (any_author or message.from_user.is_bot):
            raise bad(missing)
        return chat, message

    async def send_chat_action(self, params: Params) -> Any:
        self._chat(params)
        return True

    async def answer_callback_query(self, params: Params) -> Any:
        if not params.get("callback_query_id"):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        self.answered_callbacks.append(params)
        await self.world.touch()
        return True

    async def answer_inline_query(self, params: Params) -> Any:
        if not params.get("inline_query_id"):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        results = json_list(params.get("results"))
        if len(results) > 50:
            raise bad("RESULTS_TOO_MUCH")
        self.inline_answers.append({**params, "results": results})
        await self.world.touch()
        return True

    # -- commands and chats --------------------------------------------------------------

    async def set_my_commands(self, params: Params) -> Any:
        self.world.commands[scope_key(params)] = json_list(params.get("commands"))
        return True

    async def get_my_commands(self, params: Params) -> Any:
        return self.world.commands.get(scope_key(params), [])

    async def delete_my_commands(self, params: Params) -> Any:
        self.world.commands.pop(scope_key(params), None)
        return True

    async def get_chat(self, params: Params) -> Any:
        data = self._chat(params).to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    async def get_chat_member(self, params: Params) -> Any:
        chat = self._chat(params)
        user_id = integer(params, "user_id", 0)
        user = self.world.users.get(user_id)
        if user is None and user_id != self.world.bot.id:
            raise bad("user not found")
        return self.world.member(chat, user_id)

    async def get_chat_administrators(self, params: Params) -> Any:
        chat = self._chat(params)
        if chat.type == "private":
            raise bad("there are no administrators in the private chat")
        return [self.world.member(chat, admin) for admin in sorted(chat.admins)]

    def _chat(self, params: Params) -> Chat:
        raw = params.get("chat_id")
        try:
            chat_id = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            chat_id = None
        chat = self.world.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad("chat not found")
        return chat


def validate_message(params: Params, limit: int = MAX_TEXT) -> str:
    """The visible text of a sendMessage's `text`, `parse_mode` and `reply_markup`, or the
    Refusal Telegram would answer about its content (length, entities, empty text, buttons)."""
    text = _render(str(params.get("text", "")), params.get("parse_mode"), limit, "message")
    _markup(params)
    return text


def _render(source: str, parse_mode: Any, limit: int, what: str, empty_ok: bool = False) -> str:
    if any(0xD800 <= ord(char) <= 0xDFFF for char in source):  # a lone surrogate from JSON
        raise bad("strings must be encoded in UTF-8")
    if parse_mode in (None, ""):
        text = source
    elif parse_mode != "HTML":
        raise bad(f"unsupported parse_mode {parse_mode!s}")
    else:
        try:
            text = parse_html(source).text
        except EntityParseError as exc:
            raise bad(str(exc)) from None
    if not text.strip() and not empty_ok:
        raise bad("message text is empty")
    if utf16_length(text) > limit:
        raise bad(f"{what} is too long")
    return text


def _markup(params: Params) -> dict[str, Any] | None:
    markup = json_dict(params.get("reply_markup"))
    if markup is None:
        return None
    for row in markup.get("inline_keyboard", []) or []:
        for button in row:
            if not str(button.get("text") or "").strip():
                raise bad("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8", "replace")) <= 64:
                raise bad("BUTTON_DATA_INVALID")
            if "url" in button:
                problem = check_button_url(str(button["url"]))
                if problem is not None:
                    raise bad(f"inline keyboard button URL '{button['url']}' is invalid: {problem}")
    return markup
