"""Turning a raw e-mail into what intake needs: the sender, threading ids, text, attachments.

Standard library `email` with policy=default. The work is bounded (parts, nesting, text
length), charsets are decoded forgivingly (GB2312/GBK read as GB18030, Big5 as Big5-HKSCS,
wrong declarations detected, raw 8-bit headers), and the sender is parsed strictly: exactly
one well-formed From address without parse defects, never Reply-To.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import EmailPolicy
from email.quoprimime import header_decode as _q_decode
from html.parser import HTMLParser
from typing import Any

import nh3

from afterdesk.core.text import single_line

MAX_PARTS = 100
MAX_DEPTH = 8
MAX_BOUNDARIES = 64
MAX_ATTACHMENTS = 20
MAX_TEXT_CHARS = 50_000
MAX_SUBJECT_CHARS = 200
MAX_REFERENCES = 30

# Declared charsets read as their supersets: mail clients routinely label GBK text GB2312
# and HKSCS text Big5; Latin-1 labels usually mean Windows-1252.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
}
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
_SINGLE_BYTE = re.compile(r"^(iso-?8859-\d+|cp125\d|windows-125\d|latin-?\d|us-ascii|ascii)$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>\s]{1,250})>")
_BOUNDARY = re.compile(rb"(?i)boundary\s*=")


# Header values up to this long are parsed once per process (see _ReusingPolicy).
HEADER_REUSE_MAX_CHARS = 1000


class _ReusingPolicy(EmailPolicy):
    """policy.default, except that a header value is parsed once, not on every read.

    The email package parses a header again each time it is read: the parser and
    get_content_type(), get_filename(), get_content_charset() … read Content-Type and
    Content-Disposition many times per part, and the same short values ("text/plain;
    charset=utf-8") recur in every message; that was most of the time spent parsing. Header
    objects are immutable and depend only on the name and the value, so one object can serve
    every read of that header in every message.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or len(value) > HEADER_REUSE_MAX_CHARS:
            return policy.default.header_fetch_parse(name, value)
        return _parsed_header(name, value)


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


_POLICY = _ReusingPolicy()


class ParseError(Exception):
    """The message cannot be taken apart (it is quarantined with this text)."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    sender_error: str = ""
    auto: str = ""  # "", "auto_reply", "bounce" or "bulk"
    text: str = ""
    html: str = ""
    attachments: list[MailAttachment] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """zh-hans when the customer wrote Chinese, else en (used for new customers only)."""
        return "zh-hans" if _CJK.search(self.subject + self.text[:2000]) else "en"

    @property
    def thread_ids(self) -> list[str]:
        """Ids this message answers, the most specific first (In-Reply-To, then References
        from the newest)."""
        ordered = [*self.in_reply_to, *reversed(self.references)]
        return list(dict.fromkeys(ordered))


# --- charsets -------------------------------------------------------------------------------


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    cleaned = name.strip().strip("\"'").lower().split("*", 1)[0]
    cleaned = _SUPERSETS.get(cleaned, cleaned)
    try:
        return codecs.lookup(cleaned).name
    except LookupError:
        return None


def _mostly_cjk(text: str) -> bool:
    wide = [c for c in text if ord(c) > 0x7F]
    return bool(wide) and sum(1 for c in wide if _CJK.match(c)) >= 0.6 * len(wide)


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Text of `data`, whatever charset the sender declared (or got wrong).

    Pure ASCII is ASCII. Otherwise valid UTF-8 wins (a wrong declaration is far likelier
    than non-UTF-8 text that happens to be valid UTF-8); then the declared charset (a
    superset of it); a single-byte declaration over what decodes as mostly-Chinese GB18030
    is taken as mislabelled; then GB18030 and Big5-HKSCS; finally the declared charset (or
    UTF-8) with replacement characters.
    """
    if not data:
        return ""
    if data.isascii():
        return data.decode("ascii")
    declared_codec = _codec(declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    single_byte = declared_codec is not None and bool(_SINGLE_BYTE.match(declared_codec))
    if single_byte:
        try:
            chinese = data.decode("gb18030")
        except UnicodeDecodeError:
            chinese = ""
        if chinese and _mostly_cjk(chinese):
            return chinese
    candidates = [c for c in (declared_codec, *_FALLBACKS) if c]
    for candidate in dict.fromkeys(candidates):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(declared_codec or "utf-8", errors="replace")


def _unescape_8bit(value: str) -> str:
    """Header text as parsed from bytes keeps raw 8-bit bytes as surrogate escapes."""
    if not any("\udc80" <= c <= "\udcff" for c in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))


def decode_header_text(raw: str) -> str:
    """One header's text: RFC 2047 encoded words (adjacent words of one charset joined
    before decoding, since clients split multi-byte characters across them), raw 8-bit
    bytes in any charset, folding removed."""
    unfolded = re.sub(r"\r?\n[ \t]*", " ", raw)
    pieces: list[str] = []
    pending: bytes = b""
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(pending, pending_charset))
        pending, pending_charset = b"", None

    for match in _ENCODED_WORD.finditer(unfolded):
        gap = unfolded[position : match.start()]
        if gap and not (gap.isspace() and pending):
            flush()
            pieces.append(_unescape_8bit(gap))
        charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
        try:
            if encoding == "b":
                data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                data = _q_decode(payload).encode("latin-1")
        except (binascii.Error, ValueError, UnicodeEncodeError):
            flush()
            pieces.append(match.group(0))
            position = match.end()
            continue
        if pending and _codec(charset) != _codec(pending_charset):
            flush()
        pending_charset = pending_charset or charset
        pending += data
        position = match.end()
    flush()
    pieces.append(_unescape_8bit(unfolded[position:]))
    return single_line(_CONTROL.sub("", "".join(pieces)))


# --- headers --------------------------------------------------------------------------------


def _raw_headers(message: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


def _raw_header(message: Message, name: str) -> str:
    values = _raw_headers(message, name)
    return values[0] if values else ""


def normalize_message_id(raw: str) -> str:
    """The id inside <…> (or the bare token), without brackets; "" when unusable."""
    match = _ANGLE_ID.search(raw)
    value = match.group(1) if match else raw.strip()
    if not value or len(value) > 250 or any(c.isspace() for c in value) or _CONTROL.search(value):
        return ""
    return value


def _ids(raw: str) -> list[str]:
    return [m for m in _ANGLE_ID.findall(raw) if not _CONTROL.search(m)]


def message_id_of(raw: bytes) -> str:
    """The Message-ID of a raw message from its header block only (cheap; used to dedupe)."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: 256 * 1024])
    return normalize_message_id(str(headers.get("Message-ID", "") or ""))


_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def _sender(message: EmailMessage) -> tuple[str, str, str]:
    """(address, display name, error): exactly one well-formed From address, no defects."""
    raw_from = _raw_headers(message, "from")
    if not raw_from:
        return "", "", "no From header"
    if len(raw_from) > 1:
        return "", "", "more than one From header"
    try:
        header = message["from"]
        addresses = list(header.addresses)
        defects = list(header.defects)
    except (IndexError, ValueError, TypeError, AttributeError, LookupError) as exc:
        return "", "", f"unparseable From header: {exc}"
    # Raw 8-bit bytes (a display name in GBK or UTF-8 without encoding) are common and
    # harmless there; they are decoded below and refused in the address itself.
    defects = [d for d in defects if not isinstance(d, errors.UndecodableBytesDefect)]
    if defects:
        return "", "", "malformed From header: " + "; ".join(str(d) for d in defects)[:200]
    if len(addresses) != 1:
        return "", "", f"From names {len(addresses)} addresses"
    address = addresses[0]
    addr_spec = address.addr_spec
    undecodable = any("\udc80" <= c <= "\udcff" for c in addr_spec)
    if (
        undecodable
        or _CONTROL.search(addr_spec)
        or not _EMAIL.match(addr_spec)
        or len(addr_spec) > 254
    ):
        return "", "", "From address is not a valid e-mail address"
    name = _unescape_8bit(address.display_name or "")
    if "\ufffd" in name:
        name = ""
    return addr_spec, single_line(_CONTROL.sub("", name))[:200], ""


_BULK_PRECEDENCE = {"bulk", "list", "junk"}


def _auto_kind(message: EmailMessage, from_address: str) -> str:
    """bounce / auto_reply / bulk (loop protection), or "" for a message a person wrote."""
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "") or "").lower()
    local = from_address.rpartition("@")[0].lower()
    if (
        (content_type == "multipart/report" and report_type in {"delivery-status", ""})
        or local in {"mailer-daemon", "postmaster"}
        or _raw_header(message, "x-failed-recipients")
    ):
        return "bounce"
    auto_submitted = _raw_header(message, "auto-submitted").strip().lower()
    precedence = _raw_header(message, "precedence").strip().lower()
    if (
        auto_submitted.startswith("auto-replied")
        or auto_submitted.startswith("auto-notified")
        or precedence == "auto_reply"
        or _raw_header(message, "x-autoreply")
        or _raw_header(message, "x-autorespond")
        or _raw_header(message, "x-autogenerated").strip().lower() == "reply"
    ):
        return "auto_reply"
    if (
        (auto_submitted and auto_submitted != "no")
        or precedence in _BULK_PRECEDENCE
        or _raw_header(message, "list-id")
    ):
        return "bulk"
    return ""


# --- bodies ---------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    )
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """A readable plain-text version of an HTML body."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sanitize_html(markup: str) -> str:
    """HTML from outside, made safe to show (nh3: no script, style, handlers, javascript:)."""
    return nh3.clean(markup)


def clean_text(value: str) -> str:
    """Newlines normalised, control characters dropped, trailing blank space trimmed."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


_REPLY_HEADER = re.compile(
    r"^(On .{1,200}wrote:|在.{1,200}(写道|寫道)[:：]|-{2,}\s*(Original Message|原始邮件|原始郵件)"
    r"\s*-{2,}|From: .{1,200}|发件人[:：].{1,200}|寄件者[:：].{1,200})\s*$"
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: stops at the quoted history ("On … wrote:", "> …")."""
    kept: list[str] = []
    for line in text.split("\n"):
        if _REPLY_HEADER.match(line.strip()):
            break
        if line.startswith(">"):
            continue
        kept.append(line)
    stripped = "\n".join(kept).strip()
    return stripped or text


def _walk(message: Message, notes: dict[str, object]) -> Iterator[Message]:
    """Leaf parts in document order, bounded in count and depth. Attached messages
    (message/rfc822) are leaves: they are kept as attachments, not read."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes["parts_skipped"] = True
            return
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            if depth >= MAX_DEPTH:
                notes["too_deep"] = True
                continue
            children = part.get_payload()
            if not isinstance(children, list):
                continue
            for child in reversed(children):
                if isinstance(child, Message):
                    stack.append((child, depth + 1))
            continue
        yield part


def _filename(part: Message, index: int, content_type: str) -> str:
    try:
        raw = part.get_filename() or part.get_param("name") or ""
    except (ValueError, LookupError, TypeError):
        raw = ""
    if isinstance(raw, tuple):  # an undecoded RFC 2231 triple
        raw = str(raw[2])
    name = decode_header_text(str(raw)) if raw else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{extension}"
    return name[:200]


def _payload(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes()
            except (ValueError, TypeError, LookupError, UnicodeError):
                return b""
        return b""
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, binascii.Error):
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    return b""


def _bodies(message: EmailMessage, mail: ParsedMail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    skipped = 0
    for part in _walk(message, mail.notes):
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        try:
            has_name = bool(part.get_filename())
        except (ValueError, LookupError, TypeError):
            has_name = True
        is_body = (
            content_type in {"text/plain", "text/html"}
            and disposition != "attachment"
            and not has_name
        )
        if is_body:
            text = decode_bytes(_payload(part), part.get_content_charset())
            (texts if content_type == "text/plain" else htmls).append(text)
            continue
        data = _payload(part)
        if not data:
            continue
        if len(mail.attachments) >= MAX_ATTACHMENTS:
            skipped += 1
            mail.notes["attachments_skipped"] = skipped
            continue
        inline = disposition == "inline" or (disposition is None and bool(part.get("Content-ID")))
        mail.attachments.append(
            MailAttachment(
                filename=_filename(part, len(mail.attachments) + 1, content_type),
                content_type=content_type,
                data=data,
                inline=inline,
            )
        )
    if htmls:
        mail.html = sanitize_html("\n".join(htmls))
    if texts:
        text = "\n\n".join(t for t in texts if t.strip())
    elif htmls:
        text = html_to_text(mail.html)
    else:
        text = ""
    text = clean_text(text)
    if len(text) > MAX_TEXT_CHARS:
        mail.notes["text_truncated"] = len(text)
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    mail.text = text


def parse_message(raw: bytes) -> ParsedMail:
    """Take a raw RFC 5322 message apart. Raises ParseError when it cannot be done safely."""
    if not raw.strip():
        raise ParseError("the message is empty")
    boundaries = len(_BOUNDARY.findall(raw))
    if boundaries > MAX_BOUNDARIES:
        raise ParseError(f"too many nested multipart parts ({boundaries} boundaries)")
    try:
        message = BytesParser(policy=_POLICY).parsebytes(raw)
    except (RecursionError, ValueError, TypeError, LookupError) as exc:
        raise ParseError(f"cannot parse the message: {exc}") from exc
    assert isinstance(message, EmailMessage)
    mail = ParsedMail()
    mail.message_id = normalize_message_id(_raw_header(message, "message-id"))
    mail.in_reply_to = _ids(_raw_header(message, "in-reply-to"))[:1]
    mail.references = _ids(" ".join(_raw_headers(message, "references")))[-MAX_REFERENCES:]
    subject = decode_header_text(_raw_header(message, "subject"))
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"
    mail.subject = subject
    mail.from_address, mail.from_name, mail.sender_error = _sender(message)
    try:
        mail.auto = _auto_kind(message, mail.from_address)
        _bodies(message, mail)
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError) as exc:
        raise ParseError(f"cannot read the message body: {exc}") from exc
    return mail
