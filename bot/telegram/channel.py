"""Telegram: the same conversations as the web chat, buttons as inline keyboards."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import httpx
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.conversations.models import Channel, Delivery, User
from bot.i18n import format_number, gettext, normalise_locale
from bot.messages import (
    MAX_TEXT,
    Button,
    DeliveryRefusedError,
    DeliveryUnconfirmedError,
    InboundMessage,
    OutboundMessage,
    RouteResult,
)

if TYPE_CHECKING:
    from bot.gateway import Gateway

logger = logging.getLogger(__name__)

CALLBACK_LIMIT = 64  # bytes: Telegram's limit on callback_data
CALLBACK_HASH_PREFIX = "h:"
START_PAYLOAD = "/greet"

# Sending again when the Bot API did not take a message: 429 (flood control, it says how
# long to wait), 5xx, no connection (NetworkError). Bounded: updates are handled one at a
# time, so a long wait for one person would hold everyone's answers.
SEND_ATTEMPTS = 4
SEND_BACKOFF_SECONDS = 0.5  # then 1 s, 2 s
MAX_RETRY_AFTER_SECONDS = 20.0  # a longer flood wait is not waited for: the send fails

T = TypeVar("T")


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 gives an int or a timedelta and
    warns when the int form is read; either form is fine here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def was_not_sent(error: TimedOut) -> bool:
    """A time-out before the request left (connecting, waiting for a pooled connection):
    safe to send again. A read time-out may come after Telegram took the message: sending
    it again could show it twice, so it is not retried."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, again after a failure the Bot API says was not taken (bounded, with a
    back-off that honours Telegram's ``retry_after``); the last failure is raised."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except BadRequest:  # a NetworkError in PTB, but Telegram refused this message
            raise
        except RetryAfter as error:
            delay = retry_after_seconds(error)
            if attempt == SEND_ATTEMPTS or delay > MAX_RETRY_AFTER_SECONDS:
                raise
        except TimedOut as error:
            if attempt == SEND_ATTEMPTS or not was_not_sent(error):
                raise
            delay = SEND_BACKOFF_SECONDS * 2 ** (attempt - 1)
        except NetworkError:  # 5xx, or no connection: Telegram did not take it
            if attempt == SEND_ATTEMPTS:
                raise
            delay = SEND_BACKOFF_SECONDS * 2 ** (attempt - 1)
        logger.warning(
            "telegram send failed (attempt %d of %d): again in %.1f s",
            attempt,
            SEND_ATTEMPTS,
            delay,
        )
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def callback_data_for(payload: str, long_payloads: dict[str, str]) -> str:
    """The payload itself when it fits Telegram's 64 bytes, else a short key to it."""
    if len(payload.encode()) <= CALLBACK_LIMIT:
        return payload
    key = CALLBACK_HASH_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:32]
    long_payloads[key] = payload
    return key


def keyboard_for(
    buttons: tuple[Button, ...], long_payloads: dict[str, str]
) -> InlineKeyboardMarkup | None:
    rows = []
    for button in buttons:
        if button.url:
            rows.append([InlineKeyboardButton(button.title, url=button.url)])
        elif button.payload:
            data = callback_data_for(button.payload, long_payloads)
            rows.append([InlineKeyboardButton(button.title, callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramChannel:
    """Handlers of the Telegram channel, bound to the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.long_payloads: dict[str, str] = {}

    async def start_conversation(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet a person who pressed Start."""
        message = update.effective_message
        client_id = f"tg:{message.message_id}" if message is not None else None
        await self._route(
            update, context, InboundMessage(payload=START_PAYLOAD, client_message_id=client_id)
        )

    async def relay_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Route a text message to the bot or to the référent."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        text = message.text.strip()
        locale = self._locale(update)
        if len(text) > MAX_TEXT:
            await message.reply_text(
                gettext(locale, "error-message-too-long", limit=format_number(MAX_TEXT, locale))
            )
            return
        await self._route(
            update, context, InboundMessage(text=text, client_message_id=f"tg:{message.message_id}")
        )

    async def refuse_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say plainly that only text is understood (stickers, photos, voice...)."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                gettext(self._locale(update), "telegram-text-only")
            )

    async def press_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send a pressed inline button's payload, once, whatever the number of presses."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        await query.answer()
        payload = self.long_payloads.get(query.data, query.data)
        if not payload.startswith("/"):
            return
        origin = query.message.message_id if query.message else 0
        result = await self._route(
            update,
            context,
            InboundMessage(payload=payload, client_message_id=f"tgcb:{origin}"),
            reply=False,
        )
        if result is None:
            return
        if not result.duplicate and update.effective_chat is not None:
            await self._close_keyboard(query)
            await self._send_all(
                update.effective_chat.id, result, context, f"tgcb:{origin}", self._locale(update)
            )

    async def _close_keyboard(self, query: CallbackQuery) -> None:
        """Remove the buttons once used, so an old keyboard cannot be pressed again."""
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            # Already closed, or too old to edit: the answer still goes out.
            logger.debug("keyboard not closed")

    async def _route(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        inbound: InboundMessage,
        reply: bool = True,
    ) -> RouteResult | None:
        chat = update.effective_chat
        if chat is None:
            return None
        locale = self._locale(update)
        await self._show_typing(context, chat.id)
        result = await self.gateway.router.handle(Channel.TELEGRAM, str(chat.id), inbound, locale)
        if reply and not result.duplicate:
            await self._send_all(chat.id, result, context, inbound.client_message_id, locale)
        return result

    @staticmethod
    async def _show_typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """Best effort: a failed typing indicator must never cost the person an answer."""
        try:
            await context.bot.send_chat_action(chat_id, "typing")
        except TelegramError:
            logger.debug("typing indicator not shown")

    async def _send_all(
        self,
        chat_id: int,
        result: RouteResult,
        context: ContextTypes.DEFAULT_TYPE,
        client_message_id: str | None,
        locale: str,
    ) -> None:
        """Send the answers in order (they are recorded ``DONE`` already; what Telegram
        does not take is marked otherwise). When the person has messages waiting to be sent
        again, the answers go behind them (never ahead), sent at once in the background."""
        redelivery = self.gateway.router.redelivery
        person = (Channel.TELEGRAM, str(chat_id))
        answers = len(result.messages)

        async def mark(positions: slice, delivery: Delivery) -> int:
            if client_message_id is None:  # no record to find: said in the log only
                logger.warning("telegram answers %s, not recorded as such", delivery.value)
                return 0
            # Database work in a worker thread, off the event loop everyone shares.
            return await asyncio.to_thread(
                self.gateway.router.mark_answers,
                *person,
                client_message_id,
                answers,
                positions,
                delivery,
            )

        queued = False
        handled = 0  # the answers whose outcome is settled (sent, or marked)
        try:
            async with redelivery.turn_of(*person):
                # Queued behind the person's waiting messages; if they cannot be found to be
                # queued, they are sent now rather than never.
                backlog = await asyncio.to_thread(redelivery.has_backlog, *person)
                if backlog and await mark(slice(None), Delivery.FAILED):
                    queued = True
                    return
                for index, message in enumerate(result.messages):
                    try:
                        await self.send(context.application, chat_id, message)
                    except DeliveryRefusedError as refused:
                        if refused.whole_chat:  # blocked: nothing more can reach them
                            await mark(slice(index, None), Delivery.REFUSED)
                            handled = answers
                            return
                        # Telegram refuses this message only: say so, go on with the rest.
                        await mark(slice(index, index + 1), Delivery.REFUSED)
                        handled = index + 1
                        await self._tell_unexpected_error(
                            context, chat_id, result.set_locale or locale
                        )
                    except DeliveryUnconfirmedError:
                        await mark(slice(index, index + 1), Delivery.UNCONFIRMED)
                    except TelegramError:  # past the retries: these wait for redelivery
                        await mark(slice(index, None), Delivery.FAILED)
                        handled = answers
                        return
                    handled = index + 1
        except Exception:
            # Whatever broke here (the database, say), the answers not yet settled must not
            # stay recorded as delivered.
            logger.exception("telegram answers interrupted")
            with contextlib.suppress(Exception):
                await mark(slice(handled, None), Delivery.FAILED)
        finally:
            if queued:
                redelivery.flush_soon(*person)

    async def send(self, application: Application, chat_id: int, message: OutboundMessage) -> None:
        """One message, with the bounded retries. A refusal for good (the person blocked
        the bot, Telegram refuses this message) is ``DeliveryRefusedError``; a message that
        left without an answer in time is ``DeliveryUnconfirmedError`` (it may have
        arrived); anything else Telegram did not take is a ``TelegramError``."""
        markup = keyboard_for(message.buttons, self.long_payloads)
        try:
            await with_retries(
                lambda: application.bot.send_message(
                    chat_id=chat_id,
                    text=message.text or "…",
                    reply_markup=markup,
                    disable_web_page_preview=True,
                )
            )
        except Forbidden as error:
            raise DeliveryRefusedError("Forbidden", whole_chat=True) from error
        except BadRequest as error:
            raise DeliveryRefusedError("BadRequest", whole_chat=False) from error
        except TimedOut as error:
            if was_not_sent(error):
                raise
            raise DeliveryUnconfirmedError("TimedOut") from error

    @staticmethod
    def _locale(update: Update) -> str:
        user = update.effective_user
        return normalise_locale(user.language_code if user else None)

    async def report_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its cause; tell the person plainly."""
        logger.error("telegram handler failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            await self._tell_unexpected_error(
                context, update.effective_chat.id, self._locale(update)
            )

    @staticmethod
    async def _tell_unexpected_error(
        context: ContextTypes.DEFAULT_TYPE, chat_id: int, locale: str
    ) -> None:
        """Best effort, once: Telegram may refuse this too."""
        try:
            await context.bot.send_message(chat_id, gettext(locale, "unexpected-error"))
        except TelegramError:
            logger.warning("could not tell the person about the failure")


def build_application(gateway: Gateway) -> tuple[Application, TelegramChannel]:
    """The python-telegram-bot application with every handler registered."""
    settings = gateway.settings
    builder = Application.builder().token(settings.telegram_bot_token or "")
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/")
        if not base.endswith("/bot"):
            base += "/bot"
        builder = builder.base_url(base).base_file_url(base.removesuffix("/bot") + "/file/bot")
    application = builder.build()
    channel = TelegramChannel(gateway)
    application.add_handler(CommandHandler("start", channel.start_conversation))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, channel.relay_text))
    application.add_handler(CallbackQueryHandler(channel.press_button))
    application.add_handler(MessageHandler(~filters.TEXT & ~filters.COMMAND, channel.refuse_media))
    application.add_error_handler(channel.report_error)
    return application, channel


async def start_telegram(gateway: Gateway) -> Application:
    application, channel = build_application(gateway)

    async def push(user: User, message: OutboundMessage, _message_id: int) -> bool:
        await channel.send(application, int(user.external_id), message)
        return True

    gateway.router.register_channel(Channel.TELEGRAM, push)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        allowed_updates=["message", "callback_query"], poll_interval=0.5
    )
    logger.info("telegram channel started")
    return application


async def stop_telegram(application: Application) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
