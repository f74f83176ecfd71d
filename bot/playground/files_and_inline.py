"""What the local Bot API checks of uploaded files, inline answers and scoped menus."""

import html
import json
import mimetypes
import struct
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from bot.playground.telegram_rules import (
    TAG,
    BotApiError,
    check_html,
    check_text,
    checked_markup,
    utf16_length,
)

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
PNG_OR_JPEG = (PNG, JPEG)


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart/form-data), as the Bot API received it."""

    filename: str
    content: bytes
    mime_type: str


def multipart_fields(content_type: str, body: bytes) -> dict[str, str | UploadedFile]:
    """A multipart/form-data body's fields: files as UploadedFile, the rest as text."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str | UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        content = part.get_payload(decode=True)
        content = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = content.decode()
        else:
            fields[name] = UploadedFile(filename, content, part.get_content_type())
    return fields


@dataclass(frozen=True)
class StoredFile:
    """A file Telegram keeps for a chat: what it is, by its content, and its name."""

    file_id: str
    filename: str
    content: bytes
    content_type: str
    # a photo is shown in the chat; a document is a file to download
    is_photo: bool


def stored_file(file_id: str, kind: str, upload: UploadedFile) -> StoredFile:
    """A sent file as Telegram keeps it: a photo's type read from its first bytes (the bot
    may name it anything: PTB names unnamed bytes "application.octet-stream"), a
    document's from its name, as a Telegram client does, else sniffed, else generic."""
    if kind == "photo":
        content_type = "image/png" if upload.content.startswith(PNG) else "image/jpeg"
        return StoredFile(file_id, upload.filename, upload.content, content_type, True)
    guessed, _ = mimetypes.guess_type(upload.filename, strict=False)
    if guessed is None and upload.content.startswith(PNG):
        guessed = "image/png"
    elif guessed is None and upload.content.startswith(JPEG):
        guessed = "image/jpeg"
    content_type = guessed or "application/octet-stream"
    return StoredFile(file_id, upload.filename, upload.content, content_type, False)


def photo_size(content: bytes) -> tuple[int, int]:
    """A PNG's width and height from its header (a JPEG's are not read: 1 by 1)."""
    if content.startswith(PNG) and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    return 1, 1


def checked_upload(method: str, params: dict[str, Any]) -> tuple[str, UploadedFile]:
    """sendPhoto's or sendDocument's file, checked as Telegram does: a photo is a PNG or
    JPEG of at most 10 MB, a document at most 50 MB, a caption at most 1024 characters."""
    kind = "photo" if method == "sendPhoto" else "document"
    upload = params.get(kind)
    if not isinstance(upload, UploadedFile) or not upload.content:
        raise BotApiError(400, f"Bad Request: there is no {kind} in the request")
    if kind == "photo":
        if not upload.content.startswith(PNG_OR_JPEG):
            raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if len(upload.content) > 10 * 1024 * 1024:
            raise BotApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    elif len(upload.content) > 50 * 1024 * 1024:
        raise BotApiError(413, "Request Entity Too Large")
    caption = str(params.get("caption", ""))
    if params.get("parse_mode") == "HTML":
        check_html(caption)
        caption = html.unescape(TAG.sub("", caption))
    if utf16_length(caption) > 1024:
        raise BotApiError(400, "Bad Request: message caption is too long")
    return kind, upload


def check_inline_answer(params: dict[str, Any]) -> None:
    """What Telegram checks of an inline answer: at most 50 results with distinct ids of
    1-64 bytes, each text a valid message, an offset of at most 64 bytes."""
    results = params.get("results", [])
    results = json.loads(results) if isinstance(results, str) else results
    if len(results) > 50:
        raise BotApiError(400, "Bad Request: RESULTS_TOO_MUCH")
    ids = [str(result.get("id", "")) for result in results]
    if len(set(ids)) != len(ids) or not all(1 <= len(id_.encode()) <= 64 for id_ in ids):
        raise BotApiError(400, "Bad Request: RESULT_ID_INVALID")
    for result in results:
        if not str(result.get("title", "")).strip():
            raise BotApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
        content = result.get("input_message_content") or {}
        check_text({"text": content.get("message_text", ""), **content})
        if result.get("reply_markup"):
            checked_markup({"reply_markup": result["reply_markup"]})
    if len(str(params.get("next_offset", "")).encode()) > 64:
        raise BotApiError(400, "Bad Request: NEXT_OFFSET_INVALID")


def menu_scope(params: dict[str, Any]) -> dict[str, Any]:
    """The scope a setMyCommands call names (the default scope when none)."""
    scope = params.get("scope") or {"type": "default"}
    return dict(json.loads(scope) if isinstance(scope, str) else scope)


def menu_chat(params: dict[str, Any]) -> int | None:
    chat_id = menu_scope(params).get("chat_id")
    return None if chat_id is None else int(chat_id)
