"""Staff sign-in (rate-limited), sign-out, the profile and the per-user language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from afterdesk.accounts.models import User
from afterdesk.core.models import RateLimitCounter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    cache.clear()
    RateLimitCounter.objects.all().delete()


def login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/accounts/login", {"username": username, "password": password}, **extra)


def test_login_page_renders_with_csrf(agent: User) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'for="id_username"' in html and 'for="id_password"' in html


def test_staff_sign_in_lands_on_the_queue(agent: User) -> None:
    client = Client()
    response = login(client, "agent", "pw-agent")
    assert response.status_code == 302 and response["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200


def test_sign_in_follows_a_safe_next_only(agent: User) -> None:
    response = Client().post(
        "/accounts/login?next=/desk/call", {"username": "agent", "password": "pw-agent"}
    )
    assert response["Location"] == "/desk/call"
    response = Client().post(
        "/accounts/login?next=https://evil.example/",
        {"username": "agent", "password": "pw-agent"},
    )
    assert response["Location"] == "/desk/"


def test_a_wrong_password_is_refused(agent: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = login(client, "agent", "nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/desk/").status_code == 302


@override_settings(LOGIN_RATE_LIMIT_PER_MINUTE=3, LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE=100)
def test_sign_in_is_rate_limited_per_username(agent: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(3):
        assert login(client, "agent", "wrong").status_code == 200
    blocked = login(client, "AGENT", "pw-agent")  # right password, but too many tries
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.content.decode()
    assert client.get("/desk/").status_code == 302
    # Another username from the same address is not affected.
    User.objects.create_user(username="other", password="pw-other", role="agent")
    assert login(client, "other", "pw-other").status_code == 302


@override_settings(LOGIN_RATE_LIMIT_PER_MINUTE=100, LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE=4)
def test_sign_in_is_rate_limited_per_address(agent: User) -> None:
    client = Client()
    for i in range(4):
        login(client, f"guess{i}", "x", REMOTE_ADDR="198.51.100.9")
    assert login(client, "agent", "pw-agent", REMOTE_ADDR="198.51.100.9").status_code == 429
    assert login(client, "agent", "pw-agent", REMOTE_ADDR="198.51.100.10").status_code == 302


def test_a_customer_who_signs_in_here_is_sent_to_the_portal(customer_a: Any) -> None:
    customer_a.user.set_password("pw-customer")
    customer_a.user.save()
    client = Client()
    assert login(client, customer_a.user.username, "pw-customer").status_code == 302
    response = client.get("/desk/")
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"].startswith("/portal/")


def test_sign_out_needs_a_post(agent: User) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/accounts/logout").status_code == 405
    response = client.post("/accounts/logout")
    assert response.status_code == 302 and response["Location"] == "/accounts/login"
    assert client.get("/desk/").status_code == 302


def test_staff_language_preference_wins_over_the_browser(agent: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.force_login(agent)
    assert client.get("/desk/")["Content-Language"] == "zh-hans"
    response = client.post("/accounts/profile", {"language": "en"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile"
    agent.refresh_from_db()
    assert agent.language == "en"
    page = client.get("/desk/")
    assert page["Content-Language"] == "en"
    assert 'lang="en"' in page.content.decode()
    # Back to the browser's language.
    client.post("/accounts/profile", {"language": ""})
    assert client.get("/desk/")["Content-Language"] == "zh-hans"


def test_profile_refuses_an_unknown_language(agent: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    response = client.post("/accounts/profile", {"language": "fr"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.language == ""


def test_anonymous_visitors_keep_the_browser_language() -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en-US").get("/accounts/login")
    assert response["Content-Language"] == "en"


@override_settings(HTTPS=True, SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_cookie_is_secure_and_http_only_over_https(agent: User) -> None:
    response = Client().post(
        "/accounts/login", {"username": "agent", "password": "pw-agent"}, secure=True
    )
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"]
