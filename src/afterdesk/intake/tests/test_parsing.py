"""Parsing raw e-mail: charsets, headers, the strict sender, bodies, bounded work."""

from __future__ import annotations

import base64
import time

import pytest

from afterdesk.intake.parsing import (
    MAX_ATTACHMENTS,
    ParseError,
    decode_bytes,
    decode_header_text,
    html_to_text,
    message_id_of,
    normalize_message_id,
    parse_message,
    strip_quoted,
)


def _mail(headers: str, body: bytes = b"body\r\n") -> bytes:
    return headers.strip().replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("纯文本".encode("gb2312"), "gb2312", "纯文本"),
        # GBK-only characters under a GB2312 label: read as GB18030 (a superset).
        ("王喆 李堃".encode("gbk"), "GB2312", "王喆 李堃"),
        ("𠀀😀".encode("gb18030"), "gb18030", "𠀀😀"),
        ("繁體中文".encode("big5"), "big5", "繁體中文"),
        ("㐵".encode("big5hkscs"), "big5", "㐵"),
        # Mislabelled: UTF-8 bytes declared Latin-1, GBK bytes declared Latin-1.
        ("naïve 中文".encode(), "iso-8859-1", "naïve 中文"),
        ("退款一直没有到账".encode("gbk"), "iso-8859-1", "退款一直没有到账"),
        ("café".encode("cp1252"), "iso-8859-1", "café"),
        # No label, or an unknown one.
        ("包裹被偷了".encode("gbk"), None, "包裹被偷了"),
        ("未知".encode(), "x-unknown", "未知"),
        (b"plain ascii", "utf-16", "plain ascii"),
    ],
)
def test_decode_bytes(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_bytes(data, declared) == expected


def test_decode_bytes_never_raises_on_garbage() -> None:
    text = decode_bytes(b"\xff\xfe\x80\x81\xfe", "utf-8")
    assert isinstance(text, str) and text


def test_header_words_of_one_charset_are_joined_before_decoding() -> None:
    data = "扫地机器人".encode("gbk")
    first, second = base64.b64encode(data[:3]).decode(), base64.b64encode(data[3:]).decode()
    raw = f"=?GBK?B?{first}?=\r\n =?GBK?B?{second}?="
    assert decode_header_text(raw) == "扫地机器人"


def test_header_mixed_words_and_text() -> None:
    assert (
        decode_header_text("Re: =?utf-8?Q?caf=C3=A9?= and =?gb2312?B?1tDOxA==?= ok")
        == "Re: café and 中文 ok"
    )


def test_header_raw_8bit_bytes_are_decoded() -> None:
    raw = "热水器".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_header_text(raw) == "热水器"


def test_header_newlines_and_controls_are_removed() -> None:
    assert decode_header_text("=?utf-8?q?a=0D=0ABcc:_x=07?=") == "a Bcc: x"


def test_message_ids() -> None:
    assert normalize_message_id(" <abc@example.com> ") == "abc@example.com"
    assert normalize_message_id("abc@example.com") == "abc@example.com"
    assert normalize_message_id("<a b@example.com>") == ""
    assert normalize_message_id("") == ""
    raw = _mail("Message-ID: <x1@example.com>\nSubject: s")
    assert message_id_of(raw) == "x1@example.com"


def test_threading_ids_most_specific_first() -> None:
    mail = parse_message(
        _mail(
            "From: a@example.com\nIn-Reply-To: <c@x>\nReferences: <a@x>\n <b@x> <c@x>\nSubject: s"
        )
    )
    assert mail.in_reply_to == ["c@x"]
    assert mail.references == ["a@x", "b@x", "c@x"]
    assert mail.thread_ids == ["c@x", "b@x", "a@x"]


@pytest.mark.parametrize(
    ("from_header", "address", "name"),
    [
        ("a@example.com", "a@example.com", ""),
        ("Alice <alice@example.org>", "alice@example.org", "Alice"),
        ('"Smith, Bob" <b@example.com>', "b@example.com", "Smith, Bob"),
        ("=?utf-8?b?546L5bCP5piO?= <wang@example.cn>", "wang@example.cn", "王小明"),
        # The display name may look like an address; the address is what counts.
        ('"a@example.com" <mallory@evil.example>', "mallory@evil.example", "a@example.com"),
        (
            "=?utf-8?q?a=40example=2Ecom_=3C?= <mallory@evil.example>",
            "mallory@evil.example",
            "a@example.com <",
        ),
    ],
)
def test_sender_is_the_from_address(from_header: str, address: str, name: str) -> None:
    mail = parse_message(_mail(f"From: {from_header}\nReply-To: other@example.com\nSubject: s"))
    assert (mail.from_address, mail.from_name, mail.sender_error) == (address, name, "")


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: no sender",
        "From: a@example.com, b@example.com",
        "From: a@example.com\nFrom: b@example.com",
        "From: a@example.com <mallory@evil.example>",
        "From: <a@example.com> junk",
        "From: nobody",
        "From: a@localhost",
        'From: "x" <>',
    ],
)
def test_a_doubtful_sender_is_refused(headers: str) -> None:
    mail = parse_message(_mail(headers + "\nReply-To: a@example.com"))
    assert mail.from_address == ""
    assert mail.sender_error


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ("Auto-Submitted: auto-replied", "auto_reply"),
        ("Auto-Submitted: auto-notified", "auto_reply"),
        ("X-Autoreply: yes", "auto_reply"),
        ("X-Autorespond: on", "auto_reply"),
        ("Precedence: auto_reply", "auto_reply"),
        ("Auto-Submitted: auto-generated", "bulk"),
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "bulk"),
        ("List-Id: <x.lists.example.com>", "bulk"),
        ("X-Failed-Recipients: x@example.com", "bounce"),
        ("Auto-Submitted: no", ""),
        ("Precedence: first-class", ""),
    ],
)
def test_automatic_mail_is_recognised(headers: str, auto: str) -> None:
    mail = parse_message(_mail(f"From: someone@example.com\n{headers}\nSubject: s"))
    assert mail.auto == auto


def test_mailer_daemon_is_a_bounce() -> None:
    mail = parse_message(_mail("From: MAILER-DAEMON@mx.example.org\nSubject: failure"))
    assert mail.auto == "bounce"


def test_html_to_text() -> None:
    markup = (
        "<html><head><title>t</title><style>p{}</style></head><body><p>One &amp; two</p>"
        "<script>x()</script><div>three<br>four</div><ul><li>five</li></ul></body></html>"
    )
    assert html_to_text(markup) == "One & two\n\nthree\nfour\n\nfive"


@pytest.mark.parametrize(
    "text",
    [
        "New text\n\nOn Mon, 23 Nov 2026 at 17:00, Support <s@x> wrote:\n> old",
        "New text\n\n在 2026年11月23日 17:00，support@example.com 写道：\n> 旧",
        "New text\n\n-----Original Message-----\nFrom: x\nold",
        "New text\n\n------------------ 原始邮件 ------------------\n发件人: x",
        "New text\n> quoted line",
    ],
)
def test_strip_quoted_keeps_the_new_part(text: str) -> None:
    assert strip_quoted(text) == "New text"


def test_strip_quoted_keeps_everything_when_nothing_is_new() -> None:
    assert strip_quoted("> only quoted") == "> only quoted"


def test_attachments_are_bounded() -> None:
    parts = "".join(
        f"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=f{i}.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        for i in range(MAX_ATTACHMENTS + 5)
    )
    raw = _mail(
        'From: a@example.com\nSubject: many\nContent-Type: multipart/mixed; boundary="b"',
        (parts + "--b--\r\n").encode(),
    )
    mail = parse_message(raw)
    assert len(mail.attachments) == MAX_ATTACHMENTS
    assert mail.notes["attachments_skipped"] == 5


def test_deep_nesting_is_refused_quickly() -> None:
    body = b"text\r\n"
    content_type = "text/plain"
    for level in range(2000):
        body = (
            f"--n{level}\r\nContent-Type: {content_type}\r\n\r\n".encode()
            + body
            + f"\r\n--n{level}--\r\n".encode()
        )
        content_type = f'multipart/mixed; boundary="n{level}"'
    raw = _mail(f"From: a@example.com\nSubject: deep\nContent-Type: {content_type}", body)
    started = time.monotonic()
    with pytest.raises(ParseError, match="nested"):
        parse_message(raw)
    assert time.monotonic() - started < 2


def test_a_large_message_is_parsed_in_bounded_time() -> None:
    big = base64.encodebytes(b"%PDF-" + b"x" * (8 * 1024 * 1024))
    raw = _mail(
        'From: a@example.com\nSubject: big\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\n"
        + b"line\r\n" * 200_000
        + b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=big.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + big + b"--b--\r\n",
    )
    started = time.monotonic()
    mail = parse_message(raw)
    assert time.monotonic() - started < 20
    assert [a.filename for a in mail.attachments] == ["big.pdf"]
    assert len(mail.text) <= 50_000 and mail.notes["text_truncated"]


def test_empty_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_message(b"\r\n \r\n")


def test_garbage_is_parsed_without_a_sender() -> None:
    mail = parse_message(bytes(range(256)) * 10)
    assert mail.from_address == "" and mail.sender_error


def test_each_header_value_is_parsed_once_and_the_result_is_the_same() -> None:
    from email import policy
    from email.parser import BytesParser

    from afterdesk.intake import parsing

    raw = (
        b"From: =?utf-8?b?5p2O5aic?= <lina@example.cn>\r\nSubject: x\r\nMessage-ID: <p1@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n--b\r\n"
        b"Content-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Disposition: attachment; filename=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
    )
    parsing._parsed_header.cache_clear()
    first = parse_message(raw)
    parsed_once = parsing._parsed_header.cache_info()
    # Content-Type and Content-Disposition are read many times, each value parsed once.
    assert parsed_once.hits > parsed_once.misses
    assert parse_message(raw) == first
    assert parsing._parsed_header.cache_info().misses == parsed_once.misses
    # The same reading as the standard policy's, header by header.
    ours = BytesParser(policy=parsing._POLICY).parsebytes(raw)
    standard = BytesParser(policy=policy.default).parsebytes(raw)
    for ours_part, standard_part in zip(ours.walk(), standard.walk(), strict=True):
        for name in ("content-type", "content-disposition", "from"):
            assert str(ours_part[name]) == str(standard_part[name])
            if ours_part[name] is not None:
                assert ours_part[name].name == standard_part[name].name
                assert ours_part[name].defects == standard_part[name].defects
        assert ours_part.get_params() == standard_part.get_params()
        assert ours_part.get_filename() == standard_part.get_filename()
    assert first.attachments[0].filename == "a.pdf" and first.text == "body"
