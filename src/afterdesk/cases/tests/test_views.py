"""The agent workspace (/desk/): permissions, escaping, CSRF, conflicts, bulk actions, calls,
saved views, queue counts and query budgets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from afterdesk.accounts.models import User
from afterdesk.cases import selectors, services, sla_bridge
from afterdesk.cases.models import Case, CaseEvent, CaseLink, Message, SavedView
from afterdesk.customers.models import Customer
from afterdesk.knowledge.models import ReplyTemplate

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def desk() -> Callable[[User], Client]:
    """desk(user) -> a test client logged in as `user`, in English."""

    def make(user: User) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return make


@pytest.fixture
def integration(departments: Any) -> User:
    return User.objects.create_user(username="shop-sync", role="integration")


def flashes(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def case_state(case: Case) -> dict[str, Any]:
    """The case row and its event and message counts, to prove nothing changed."""
    row = Case.objects.filter(pk=case.pk).values().get()
    row["events"] = CaseEvent.objects.filter(case=case).count()
    row["messages"] = Message.objects.filter(case=case).count()
    return row


# --- Who may use the workspace ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(make_case: Any) -> None:
    case = make_case()
    for url in ("/desk/", f"/desk/cases/{case.number}", "/desk/call", "/desk/search?q=x"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login?next=")


def _turned_away(response: Any) -> bool:
    """Not found, or (with the portal installed) sent to the customer portal."""
    if response.status_code == 302:
        return str(response["Location"]).startswith("/portal/")
    return response.status_code == 404


def test_a_customer_gets_no_workspace(customer_a: Customer, make_case: Any, desk: Any) -> None:
    case = make_case(customer=customer_a)
    client = desk(customer_a.user)
    for url in (
        "/desk/",
        f"/desk/cases/{case.number}",
        f"/desk/cases/{case.number}/edit",
        f"/desk/customers/{customer_a.pk}",
        "/desk/call",
        "/desk/search?q=x",
        "/accounts/profile",
    ):
        assert _turned_away(client.get(url)), url
    before = case_state(case)
    for path, data in (
        ("reply", {"body": "hi", "visibility": "public"}),
        ("transition", {"to": "cancelled"}),
        ("assign", {"owner": "me"}),
    ):
        assert client.post(f"/desk/cases/{case.number}/{path}", data).status_code == 404
    assert case_state(case) == before


def test_an_integration_account_gets_no_workspace(integration: User, desk: Any) -> None:
    assert desk(integration).get("/desk/").status_code == 404


CASE_ACTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("page", "get", {}),
    ("edit", "get", {}),
    ("reply", "post", {"body": "Hello", "visibility": "public"}),
    ("transition", "post", {"to": "open"}),
    ("assign", "post", {"owner": "me"}),
    ("links", "post", {"kind": "related", "target": "AS-20260101-00001"}),
]


@pytest.mark.parametrize(
    ("action", "method", "data"), CASE_ACTIONS, ids=[a[0] for a in CASE_ACTIONS]
)
@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("agent", True), ("supervisor", True), ("repair_agent", False)],
)
def test_case_actions_by_role(
    request: Any,
    make_case: Any,
    desk: Any,
    persona: str,
    allowed: bool,
    action: str,
    method: str,
    data: dict[str, Any],
) -> None:
    """A customer-service complaint: its department and supervisors may act, another
    department's technician gets 404 and changes nothing."""
    user = request.getfixturevalue(persona)
    case = make_case()
    url = f"/desk/cases/{case.number}" + ("" if action == "page" else f"/{action}")
    before = case_state(case)
    response = getattr(desk(user), method)(url, data)
    if allowed:
        assert response.status_code in (200, 302, 422), response.content[:300]
    else:
        assert response.status_code == 404
        assert case_state(case) == before


def test_a_case_owned_by_someone_outside_the_department_is_visible_to_the_owner(
    make_case: Any, repair_agent: User, supervisor: User, desk: Any
) -> None:
    case = make_case()
    services.case_assign(actor=supervisor, case=case, owner=repair_agent)
    assert desk(repair_agent).get(f"/desk/cases/{case.number}").status_code == 200


# --- Escaping, CSRF, headers --------------------------------------------------------------------


def test_user_content_is_escaped_everywhere(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case(subject=XSS, description=XSS, order_ref="ORD-1")
    services.case_add_message(actor=None, case=case, body=XSS, by_customer=True)
    customer = case.customer
    customer.name = XSS
    customer.save(update_fields=["name"])
    client = desk(agent)
    for url in (
        "/desk/?tab=all",
        f"/desk/cases/{case.number}",
        f"/desk/customers/{customer.pk}",
        "/desk/search?q=alert",
        f"/desk/search?q={XSS}",
    ):
        html = client.get(url).content.decode()
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_pages_send_a_content_security_policy_without_inline_script(
    make_case: Any, agent: User, desk: Any
) -> None:
    case = make_case()
    response = desk(agent).get(f"/desk/cases/{case.number}")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script> found"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler found"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("reply", {"body": "Hello", "visibility": "public"}),
        ("transition", {"to": "open"}),
        ("assign", {"owner": "me"}),
        ("edit", {"subject": "x", "version": "1", "seen_event": "0"}),
        ("links", {"kind": "related", "target": "AS-20260101-00001"}),
    ],
)
def test_csrf_is_enforced_on_every_form(
    make_case: Any, agent: User, path: str, data: dict[str, str]
) -> None:
    case = make_case()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    before = case_state(case)
    assert client.post(f"/desk/cases/{case.number}/{path}", data).status_code == 403
    assert case_state(case) == before


def test_csrf_on_bulk_saved_views_call_and_profile(agent: User, make_case: Any) -> None:
    case = make_case()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    for url, data in (
        ("/desk/bulk", {"action": "status", "status": "open", "cases": [case.number]}),
        ("/desk/views", {"name": "x", "query": "tab=all"}),
        ("/desk/call", {"name": "A", "phone": "13800138000", "kind": "complaint", "subject": "s"}),
        ("/accounts/profile", {"language": "en"}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert Case.objects.count() == 1 and not SavedView.objects.exists()


def test_a_form_with_its_token_goes_through(make_case: Any, agent: User) -> None:
    case = make_case()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    page = client.get(f"/desk/cases/{case.number}")
    token = page.cookies["csrftoken"].value
    response = client.post(
        f"/desk/cases/{case.number}/transition", {"to": "open", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).status == "open"


# --- Queue ----------------------------------------------------------------------------------------


def test_queue_tabs_show_maintained_counts(
    make_case: Any, agent: User, supervisor: User, desk: Any
) -> None:
    mine = make_case()
    services.case_assign(actor=supervisor, case=mine, owner=agent)
    make_case()
    make_case(kind="repair")
    html = desk(agent).get("/desk/").content.decode()
    counts = dict(
        re.findall(r'tab=(\w+)" class="tab[^"]*"[^>]*>[^<]*<span class="count">(\d+)<', html)
    )
    assert counts["mine"] == "1"
    assert counts["unassigned"] == "1"
    assert counts["all"] == "2"


def test_queue_filters_and_sort(make_case: Any, agent: User, desk: Any, clock: Any) -> None:
    old = make_case(subject="Old complaint", priority="high")
    clock.advance(hours=1)
    make_case(subject="New inquiry", kind="inquiry")
    clock.advance(hours=1)
    new = make_case(subject="Newest complaint", priority="high")
    client = desk(agent)
    html = client.get(
        "/desk/?tab=all&kind=complaint&priority=high&ordering=created_at"
    ).content.decode()
    numbers = re.findall(r'class="case-link" href="/desk/cases/([^"]+)"', html)
    assert numbers == [old.number, new.number]
    html = client.get("/desk/?tab=all&q=inquiry").content.decode()
    assert re.findall(r'class="case-link" href="/desk/cases/([^"]+)"', html) == [
        Case.objects.get(subject="New inquiry").number
    ]


def test_queue_fragment_for_htmx(make_case: Any, agent: User, desk: Any) -> None:
    make_case(subject="Fragment me")
    response = desk(agent).get(
        "/desk/?tab=all", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results"
    )
    html = response.content.decode()
    assert "Fragment me" in html
    assert "<html" not in html and 'class="tabs"' not in html


def test_queue_pages_with_a_cursor(make_case: Any, agent: User, desk: Any, clock: Any) -> None:
    size = selectors.QUEUE_PAGE_SIZE
    for i in range(size + 5):
        make_case(subject=f"Case {i}")
        clock.advance(minutes=1)
    client = desk(agent)
    html = client.get("/desk/?tab=all").content.decode()
    assert html.count('class="queue-row"') == size
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    second = client.get(next_url).content.decode()
    assert second.count('class="queue-row"') == 5
    assert "Case 0" in second and f"Case {size + 4}" in html
    bad = client.get("/desk/?tab=all&cursor=garbage")
    assert bad.status_code == 200 and "cursor is not valid" in bad.content.decode()


def test_invalid_filter_values_are_reported_not_fatal(agent: User, desk: Any) -> None:
    response = desk(agent).get("/desk/?tab=nonsense&status=bogus&created_after=yesterday")
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


# --- Saved views ----------------------------------------------------------------------------------


def test_save_and_delete_a_view(agent: User, supervisor: User, desk: Any) -> None:
    client = desk(agent)
    response = client.post("/desk/views", {"name": "Urgent", "query": "tab=all&priority=urgent"})
    view = SavedView.objects.get(user=agent)
    assert response.status_code == 302
    assert response["Location"] == f"/desk/?tab=all&priority=urgent&view={view.pk}"
    html = client.get(response["Location"]).content.decode()
    assert 'class="tab saved active"' in html and "Urgent" in html
    # Someone else's view is not found and stays.
    assert desk(supervisor).post(f"/desk/views/{view.pk}/delete").status_code == 404
    assert client.post(f"/desk/views/{view.pk}/delete").status_code == 302
    assert not SavedView.objects.exists()


# --- Case page --------------------------------------------------------------------------------------


def test_case_page_shows_header_timeline_and_only_allowed_transitions(
    make_case: Any, agent: User, desk: Any, drive_case: Any
) -> None:
    case = make_case(subject="Hinge broken")
    services.case_add_message(actor=agent, case=case, body="Internal thought", internal=True)
    services.case_add_message(actor=None, case=case, body="Any news?", by_customer=True)
    html = desk(agent).get(f"/desk/cases/{case.number}").content.decode()
    assert case.number in html and "Hinge broken" in html
    assert "Internal thought" in html and "Any news?" in html
    buttons = re.findall(r'name="to" value="(\w+)"', html)
    assert buttons == ["open", "pending_customer", "pending_internal", "resolved", "cancelled"]

    done = drive_case(make_case(), "cancelled")
    html = desk(agent).get(f"/desk/cases/{done.number}").content.decode()
    assert re.findall(r'name="to" value="(\w+)"', html) == []


def test_a_refused_transition_is_explained(
    make_case: Any, agent: User, desk: Any, drive_case: Any
) -> None:
    case = drive_case(make_case(), "cancelled")
    response = desk(agent).post(f"/desk/cases/{case.number}/transition", {"to": "open"})
    assert response.status_code == 302
    assert any("cannot move" in m for m in flashes(response))
    assert Case.objects.get(pk=case.pk).status == "cancelled"


def test_reply_and_internal_note(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case()
    client = desk(agent)
    response = client.post(
        f"/desk/cases/{case.number}/reply",
        {"body": "We are on it.", "visibility": "public", "then_status": "pending_customer"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/desk/cases/{case.number}#timeline-end"
    client.post(
        f"/desk/cases/{case.number}/reply", {"body": "Check stock", "visibility": "internal"}
    )
    messages = list(
        Message.objects.filter(case=case).order_by("id").values_list("body", "internal")
    )
    assert messages == [("We are on it.", False), ("Check stock", True)]
    assert Case.objects.get(pk=case.pk).status == "pending_customer"


def test_an_empty_reply_keeps_the_page_with_an_error(
    make_case: Any, agent: User, desk: Any
) -> None:
    case = make_case()
    response = desk(agent).post(
        f"/desk/cases/{case.number}/reply", {"body": "", "visibility": "public"}
    )
    assert response.status_code == 422
    assert 'class="error"' in response.content.decode()
    assert not Message.objects.exists()


def test_reply_template_is_filled_in_for_the_case(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case(kind="dispute", order_ref="JD-1")
    template = ReplyTemplate.objects.create(
        name="T",
        body="Hi {customer_name}, {case_number} / {order_ref} — {agent_name}. {customer_name.__class__}",
        kinds=["dispute"],
    )
    response = desk(agent).get(f"/desk/cases/{case.number}/templates/{template.pk}")
    assert response["Content-Type"].startswith("text/plain")
    # A body with an attribute placeholder is not evaluated: it is inserted as written.
    assert response.content.decode() == template.body
    template.body = "Hi {customer_name}, {case_number} / {order_ref} — {agent_name}. {{ok}}"
    template.save()
    response = desk(agent).get(f"/desk/cases/{case.number}/templates/{template.pk}")
    assert response.content.decode() == f"Hi Carol, {case.number} / JD-1 — agent. {{ok}}"


def test_the_composer_offers_templates_for_the_kind(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case(kind="dispute")
    html = desk(agent).get(f"/desk/cases/{case.number}").content.decode()
    picker = re.search(r'<select id="template-picker".*?</select>', html, re.S).group(0)
    assert "Payment dispute received" in picker and "支付争议受理" in picker
    assert "RMA instructions" not in picker


def test_assign_take_and_unassign(make_case: Any, agent: User, supervisor: User, desk: Any) -> None:
    case = make_case()
    client = desk(supervisor)
    client.post(f"/desk/cases/{case.number}/assign", {"owner": "agent"})
    assert Case.objects.get(pk=case.pk).owner == agent
    client.post(f"/desk/cases/{case.number}/assign", {"owner": "me"})
    assert Case.objects.get(pk=case.pk).owner == supervisor
    client.post(f"/desk/cases/{case.number}/assign", {"owner": ""})
    assert Case.objects.get(pk=case.pk).owner is None
    response = client.post(f"/desk/cases/{case.number}/assign", {"owner": "ghost"})
    assert any("ghost is not an active staff member" in m for m in flashes(response))


def test_link_to_another_case(make_case: Any, agent: User, desk: Any, repair_agent: User) -> None:
    case, other = make_case(), make_case()
    hidden = make_case(kind="repair")
    services.case_assign(actor=None, case=hidden, owner=repair_agent)
    client = desk(agent)
    response = client.post(
        f"/desk/cases/{case.number}/links", {"kind": "related", "target": other.number.lower()}
    )
    assert response.status_code == 302
    assert CaseLink.objects.filter(source=case, target=other, kind="related").exists()
    # A case the agent may not see is "not found", as if it did not exist.
    response = client.post(
        f"/desk/cases/{case.number}/links", {"kind": "related", "target": hidden.number}
    )
    assert response.status_code == 422
    assert f"No case {hidden.number}" in response.content.decode()
    html = client.get(f"/desk/cases/{other.number}").content.decode()
    assert case.number in html


# --- Optimistic locking ---------------------------------------------------------------------------


def _edit_data(html: str) -> dict[str, str]:
    """The edit form's fields as the browser would submit them."""
    form = re.search(r'<form id="edit-form".*?</form>', html, re.S).group(0)
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                data[name.group(1)] = "on"
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = body.strip("\n")
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_edit_saves_only_what_the_user_changed(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case(subject="Old subject")
    client = desk(agent)
    data = _edit_data(client.get(f"/desk/cases/{case.number}/edit").content.decode())
    data["priority"] = "urgent"
    response = client.post(f"/desk/cases/{case.number}/edit", data)
    assert response.status_code == 302
    events = list(
        CaseEvent.objects.filter(case=case, type="case.field_changed").values_list(
            "field", "old", "new"
        )
    )
    assert events == [("priority", "normal", "urgent")]
    # Submitting the unchanged form again writes nothing.
    fresh = _edit_data(client.get(f"/desk/cases/{case.number}/edit").content.decode())
    client.post(f"/desk/cases/{case.number}/edit", fresh)
    assert CaseEvent.objects.filter(case=case, type="case.field_changed").count() == 1


def test_a_stale_save_shows_the_conflict_and_loses_nothing(
    make_case: Any, agent: User, supervisor: User, desk: Any
) -> None:
    case = make_case(subject="Screen flickers")
    client = desk(agent)
    data = _edit_data(client.get(f"/desk/cases/{case.number}/edit").content.decode())
    # Meanwhile a supervisor edits the subject and raises the priority.
    services.case_update(
        actor=supervisor,
        case=case,
        version=case.version,
        changes={"subject": "Screen flickers after update", "priority": "high"},
    )
    data["priority"] = "urgent"
    data["order_ref"] = "JD-42"
    before = case_state(case)

    response = client.post(f"/desk/cases/{case.number}/edit", data)

    assert response.status_code == 409
    assert case_state(case) == before
    html = response.content.decode()
    assert "Someone else changed this case" in html
    changes = re.search(r'<table class="changes">.*?</table>', html, re.S).group(0)
    assert "Screen flickers after update" in changes and "supervisor" in changes
    assert "High" in changes
    retry = _edit_data(html)
    # The user's edits are kept; what the user did not touch shows the new value.
    assert retry["priority"] == "urgent" and retry["order_ref"] == "JD-42"
    assert retry["subject"] == "Screen flickers after update"
    assert retry["version"] == str(Case.objects.get(pk=case.pk).version)

    assert client.post(f"/desk/cases/{case.number}/edit", retry).status_code == 302
    saved = Case.objects.get(pk=case.pk)
    assert (saved.subject, saved.priority, saved.order_ref) == (
        "Screen flickers after update",
        "urgent",
        "JD-42",
    )


def test_edit_validation_errors_stay_on_the_form(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case()
    client = desk(agent)
    data = _edit_data(client.get(f"/desk/cases/{case.number}/edit").content.decode())
    data["subject"] = ""
    data["currency"] = "EURO"
    response = client.post(f"/desk/cases/{case.number}/edit", data)
    assert response.status_code == 422
    assert response.content.decode().count('class="error"') >= 2


# --- Bulk actions -----------------------------------------------------------------------------------


def test_bulk_status_with_a_partial_failure(
    make_case: Any, agent: User, desk: Any, drive_case: Any
) -> None:
    first, second = make_case(), make_case()
    cancelled = drive_case(make_case(), "cancelled")
    response = desk(agent).post(
        "/desk/bulk",
        {
            "action": "status",
            "status": "open",
            "cases": [first.number, cancelled.number, second.number],
            "next": "/desk/?tab=all",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/desk/?tab=all"
    notes = flashes(response)
    assert "2 case(s) updated." in notes
    assert any(n.startswith(f"{cancelled.number}: ") for n in notes)
    statuses = {c.number: c.status for c in Case.objects.all()}
    assert statuses == {first.number: "open", second.number: "open", cancelled.number: "cancelled"}


def test_bulk_skips_cases_out_of_reach(make_case: Any, agent: User, desk: Any) -> None:
    mine = make_case()
    other = make_case(kind="repair")
    response = desk(agent).post(
        "/desk/bulk",
        {"action": "priority", "priority": "urgent", "cases": [mine.number, other.number]},
    )
    notes = flashes(response)
    assert "1 case(s) updated." in notes
    assert f"{other.number}: No such case, or not yours to change." in notes
    assert Case.objects.get(pk=other.pk).priority == "normal"
    assert Case.objects.get(pk=mine.pk).priority == "urgent"


def test_bulk_assign_to_me(make_case: Any, agent: User, desk: Any) -> None:
    cases = [make_case(), make_case()]
    desk(agent).post(
        "/desk/bulk", {"action": "assign", "assign_to": "me", "cases": [c.number for c in cases]}
    )
    assert set(Case.objects.values_list("owner", flat=True)) == {agent.pk}


def test_bulk_merge(make_case: Any, agent: User, desk: Any, clock: Any) -> None:
    first = make_case()
    clock.advance(minutes=1)
    dup = make_case()
    response = desk(agent).post(
        "/desk/bulk", {"action": "merge", "cases": [dup.number, first.number]}
    )
    assert f"1 case(s) merged into {first.number}." in flashes(response)
    assert Case.objects.get(pk=dup.pk).status == "cancelled"
    assert CaseLink.objects.filter(source=dup, target=first, kind="duplicate_of").exists()


def test_bulk_with_nothing_selected(agent: User, desk: Any) -> None:
    response = desk(agent).post("/desk/bulk", {"action": "status", "status": "open"})
    assert response.status_code == 302
    assert "Select at least one case and an action." in flashes(response)


def test_bulk_never_redirects_off_site(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case()
    response = desk(agent).post(
        "/desk/bulk",
        {
            "action": "priority",
            "priority": "low",
            "cases": [case.number],
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/desk/"


# --- Log a call ----------------------------------------------------------------------------------------


def test_log_a_call_opens_a_phone_case(agent: User, desk: Any) -> None:
    response = desk(agent).post(
        "/desk/call",
        {
            "name": "李雷",
            "phone": "138 0013 8000",
            "email": "",
            "kind": "complaint",
            "category": "",
            "priority": "high",
            "subject": "快递员态度恶劣",
            "description": "客户来电投诉",
            "order_ref": "",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/desk/cases/{case.number}"
    assert (case.channel, case.kind, case.priority, case.created_by) == (
        "phone",
        "complaint",
        "high",
        agent,
    )
    assert case.customer.name == "李雷" and case.customer.phone == "138 0013 8000"


def test_log_a_call_finds_the_caller_as_you_type(
    customer_a: Customer, agent: User, desk: Any
) -> None:
    customer_a.phone = "13900001111"
    customer_a.save()
    from afterdesk.customers.services import CustomerInput, customer_resolve

    customer_resolve(
        data=CustomerInput(name=customer_a.name, email=customer_a.email, phone="13900001111")
    )
    client = desk(agent)
    for lookup in ("1390000", "a@exa", "王小"):
        response = client.get(
            f"/desk/call?lookup={lookup}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="caller-matches"
        )
        html = response.content.decode()
        assert customer_a.name in html, lookup
        assert "<html" not in html
    fields = client.get(
        f"/desk/call?customer={customer_a.pk}",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="caller-fields",
    ).content.decode()
    assert f'value="{customer_a.email}"' in fields and 'value="13900001111"' in fields


def test_log_a_call_needs_a_contact(agent: User, desk: Any) -> None:
    response = desk(agent).post(
        "/desk/call", {"name": "Anon", "kind": "complaint", "priority": "normal", "subject": "s"}
    )
    assert response.status_code == 422
    assert "Give the caller" in response.content.decode()
    assert not Case.objects.exists()


# --- Search --------------------------------------------------------------------------------------------


def test_search_by_number_opens_the_case(make_case: Any, agent: User, desk: Any) -> None:
    case = make_case()
    response = desk(agent).get(f"/desk/search?q={case.number.lower()}")
    assert response.status_code == 302 and response["Location"] == f"/desk/cases/{case.number}"


def test_search_by_text_contact_and_order(make_case: Any, agent: User, desk: Any) -> None:
    refund = make_case(subject="申请退款", order_ref="TB-777")
    make_case(subject="Where is my parcel")
    client = desk(agent)
    for q in ("退款", "TB-777", "carol@example.com"):
        html = client.get(f"/desk/search?q={q}").content.decode()
        assert refund.number in html, q
    html = client.get("/desk/search?q=Carol").content.decode()
    assert f"/desk/customers/{refund.customer_id}" in html


# --- Query budgets --------------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


# The SLA app, when installed, adds its clocks: the due tab's count, the rows' clocks and their
# calendars on the queue page, the case's clocks on the case page.
SLA_QUERIES = {"queue": 3, "case": 1} if sla_bridge.sla_installed() else {"queue": 0, "case": 0}
# session, user, departments of the user, counters, saved views, categories, departments,
# staff, the page of cases, their tags.
QUEUE_PAGE_QUERIES = 10 + SLA_QUERIES["queue"]
# session, user, case, the user's departments, categories, departments, staff, events,
# messages, their attachments, links, customer, contacts, the customer's other cases, reply
# templates. (The edit form comes by htmx when opened.)
# The triage app, when installed, adds its panel: the case's triage events, its suggestion,
# sub-tasks, task force, and the staff to hand sub-tasks to.
TRIAGE_QUERIES = 5 if apps.is_installed("afterdesk.triage") else 0
CASE_PAGE_QUERIES = 15 + SLA_QUERIES["case"] + TRIAGE_QUERIES


def test_queue_page_query_budget(
    make_case: Any, agent: User, supervisor: User, desk: Any, django_assert_num_queries: Any
) -> None:
    client = desk(agent)
    for _ in range(3):
        make_case(tags=("a",))
    services.saved_view_create(user=agent, name="v", query="tab=all")
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        client.get("/desk/?tab=all")
    for i in range(20):
        case = make_case(tags=("a", "b"), kind="repair" if i % 2 else "complaint")
        services.case_assign(actor=supervisor, case=case, owner=agent)
    services.saved_view_create(user=agent, name="w", query="tab=mine")
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        client.get("/desk/?tab=all")
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        client.get("/desk/?tab=mine&priority=normal&kind=repair&q=damaged")


def test_case_page_query_budget(
    make_case: Any, agent: User, supervisor: User, desk: Any, django_assert_num_queries: Any
) -> None:
    client = desk(agent)
    case = make_case()
    services.case_add_message(actor=agent, case=case, body="first", internal=True)
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        client.get(f"/desk/cases/{case.number}")
    for i in range(10):
        services.case_add_message(actor=agent, case=case, body=f"message {i}", internal=i % 2 == 0)
    services.case_assign(actor=supervisor, case=case, owner=agent)
    for _ in range(3):
        services.case_link(actor=agent, source=case, target=make_case(), kind="related")
    case = services.case_transition(actor=agent, case=case, to="open")
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        client.get(f"/desk/cases/{case.number}")
