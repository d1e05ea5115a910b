"""Portal test helpers: small valid uploads and clients signed in as a customer."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from afterdesk.customers.models import Customer


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def png() -> Callable[..., SimpleUploadedFile]:
    """png(name="photo.png") -> a fresh upload of a valid PNG."""

    def make(name: str = "photo.png") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, png_bytes(), content_type="image/png")

    return make


@pytest.fixture
def client_of() -> Callable[[Customer], Client]:
    """client_of(customer) -> a test client signed in as that customer's portal user."""

    def make(customer: Customer, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        assert customer.user is not None
        client.force_login(customer.user)
        return client

    return make


@pytest.fixture(autouse=True)
def _fast_login_answers(settings: Any) -> None:
    # The minimum answer time of sign-in requests is tested on its own.
    settings.PORTAL_LOGIN_MIN_RESPONSE_MS = 0
