"""Who may do what to a case through API v1: a role × action matrix, and the walls between
customers. A refused request answers exactly as the code decides (401/403/404/409) and writes
nothing: the case row, its tags and every event/message/attachment/link count stay the same.

A case the caller may not see answers like a case that does not exist: the same status and the
same body, apart from the number the caller sent, which the message echoes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from afterdesk.cases import services
from afterdesk.cases.choices import CUSTOMER_ALLOWED, Status
from afterdesk.cases.models import Attachment, Case
from afterdesk.customers.models import ContactPoint

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases"
UNKNOWN = "AS-20200101-99999"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


class Scene:
    """Customer A's case in customer service, with a public and an internal attachment, and a
    second case of A's in the same department to link to."""

    def __init__(self, case: Case, sibling: Case, public: Attachment, internal: Attachment):
        self.case = case
        self.sibling = sibling
        self.public = public
        self.internal = internal


@pytest.fixture
def scene(make_case, customer_a, supervisor) -> Scene:
    case = make_case(customer=customer_a, order_ref="SO-A-1", serial="SN-A")
    sibling = make_case(customer=customer_a, subject="Second parcel")
    public = services.case_add_attachment(
        actor=supervisor, case=case, upload=SimpleUploadedFile("a.png", PNG, "image/png")
    )
    internal = services.case_add_attachment(
        actor=supervisor,
        case=case,
        upload=SimpleUploadedFile("b.png", PNG + b"x", "image/png"),
        internal=True,
    )
    services.case_add_message(actor=supervisor, case=case, body="internal remark", internal=True)
    return Scene(Case.objects.get(pk=case.pk), sibling, public, internal)


def _upload(client: Any, number: str, s: Scene) -> Any:
    return client.client.post(
        f"{CASES}/{number}/attachments", {"file": SimpleUploadedFile("c.png", PNG, "image/png")}
    )


# action -> how to perform it on the case with `number`
ACTIONS: dict[str, Callable[[Any, str, Scene], Any]] = {
    "view": lambda c, n, s: c.get(f"{CASES}/{n}"),
    "messages": lambda c, n, s: c.get(f"{CASES}/{n}/messages"),
    "events": lambda c, n, s: c.get(f"{CASES}/{n}/events"),
    "attachments": lambda c, n, s: c.get(f"{CASES}/{n}/attachments"),
    "download": lambda c, n, s: c.get(f"{CASES}/{n}/attachments/{s.public.pk}"),
    "download_internal": lambda c, n, s: c.get(f"{CASES}/{n}/attachments/{s.internal.pk}"),
    "reply": lambda c, n, s: c.post(f"{CASES}/{n}/messages", {"body": "hello"}),
    "note": lambda c, n, s: c.post(f"{CASES}/{n}/messages", {"body": "psst", "internal": True}),
    "patch": lambda c, n, s: c.patch(f"{CASES}/{n}", {"version": 1, "priority": "high"}),
    "transition": lambda c, n, s: c.post(f"{CASES}/{n}/transitions", {"to": "open"}),
    "link": lambda c, n, s: c.post(
        f"{CASES}/{n}/links", {"target": s.sibling.number, "kind": "related"}
    ),
    "upload": _upload,
}
READS = {"view", "messages", "events", "attachments", "download", "download_internal"}

# persona -> action -> the status the code answers
STAFF_WHO_SEE = {
    "view": 200,
    "messages": 200,
    "events": 200,
    "attachments": 200,
    "download": 200,
    "download_internal": 200,
    "reply": 201,
    "note": 201,
    "patch": 200,
    "transition": 200,
    "link": 201,
    "upload": 201,
}
MATRIX: dict[str, dict[str, int]] = {
    "agent": STAFF_WHO_SEE,
    "supervisor": STAFF_WHO_SEE,
    "admin_user": STAFF_WHO_SEE,
    "repair_agent": dict.fromkeys(ACTIONS, 404),
    "owner": {
        "view": 200,
        "messages": 200,
        "events": 200,
        "attachments": 200,
        "download": 200,
        "download_internal": 404,
        "reply": 201,
        "note": 403,
        "patch": 403,
        "transition": 409,  # new -> open is not a customer's move
        "link": 403,
        "upload": 201,
    },
    "other_customer": dict.fromkeys(ACTIONS, 404),
    "anonymous": dict.fromkeys(ACTIONS, 401),
}
CELLS = [(persona, action) for persona in MATRIX for action in ACTIONS]


def _persona(name: str, request: pytest.FixtureRequest) -> Any:
    if name == "anonymous":
        return None
    if name == "owner":
        return request.getfixturevalue("customer_a").user
    if name == "other_customer":
        return request.getfixturevalue("customer_b").user
    return request.getfixturevalue(name)


def _same_not_found(hidden: Any, unknown: Any, number: str) -> None:
    """`hidden` answers exactly like `unknown`, apart from the echoed case number."""
    assert hidden.status_code == unknown.status_code == 404
    expected = json.loads(unknown.content.decode().replace(UNKNOWN, number))
    assert hidden.json() == expected
    assert hidden.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("persona", "action"), CELLS, ids=[f"{p}-{a}" for p, a in CELLS])
def test_role_action_matrix(request, api, scene, db_state, persona, action):
    user = _persona(persona, request)
    client = api(user)
    expected = MATRIX[persona][action]
    before = db_state(scene.case, scene.sibling)

    response = ACTIONS[action](client, scene.case.number, scene)

    assert response.status_code == expected, response.content
    if expected >= 400 or action in READS:
        assert db_state(scene.case, scene.sibling) == before
    if expected == 404:
        if action == "download_internal" and persona == "owner":
            # The case is visible; the attachment is not: it answers like an unknown one.
            unknown = client.get(f"{CASES}/{scene.case.number}/attachments/99999999")
            assert response.json() == unknown.json()
        else:
            _same_not_found(response, ACTIONS[action](client, UNKNOWN, scene), scene.case.number)
    elif expected == 403:
        assert response.json()["error"]["code"] == "permission_denied"
    elif expected == 401:
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"] == "Bearer"
    elif expected == 409:
        assert response.json()["error"]["code"] == "transition_not_allowed"
        assert response.json()["error"]["allowed"] == []


@pytest.mark.parametrize("persona", list(MATRIX))
def test_list_shows_the_case_only_to_those_who_may_see_it(request, api, scene, persona):
    user = _persona(persona, request)

    response = api(user).get(CASES)

    if persona == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    numbers = {item["number"] for item in response.json()["items"]}
    visible = MATRIX[persona]["view"] == 200
    assert (scene.case.number in numbers) is visible
    assert (scene.sibling.number in numbers) is visible


def test_customer_sees_no_internal_material_on_their_own_case(api, scene, customer_a):
    client = api(customer_a.user)

    messages = client.get(f"{CASES}/{scene.case.number}/messages").json()
    events = client.get(f"{CASES}/{scene.case.number}/events").json()
    attachments = client.get(f"{CASES}/{scene.case.number}/attachments").json()

    assert messages == []
    assert [e["type"] for e in events] == ["case.created"]
    assert [a["id"] for a in attachments] == [scene.public.pk]


# --- customer A can never reach customer B's case ----------------------------------------------


@pytest.fixture
def b_case(make_case, customer_b, supervisor):
    case = make_case(customer=customer_b, order_ref="SO-B-7", subject="Bob's blender")
    services.case_add_message(actor=supervisor, case=case, body="Hello Bob")
    return Case.objects.get(pk=case.pk)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_customer_a_never_reaches_b_case(api, scene, b_case, customer_a, db_state, action):
    client = api(customer_a.user)
    before = db_state(b_case, scene.case)

    response = ACTIONS[action](client, b_case.number, scene)

    _same_not_found(response, ACTIONS[action](client, UNKNOWN, scene), b_case.number)
    assert b"Bob" not in response.content
    assert db_state(b_case, scene.case) == before


@pytest.mark.parametrize(
    "params",
    [
        lambda b: {},
        lambda b: {"customer": b.customer_id},
        lambda b: {"q": b.number},
        lambda b: {"q": b.number.lower()},
        lambda b: {"q": "b@example.com"},
        lambda b: {"q": "SO-B-7"},
        lambda b: {"q": "blender"},
        lambda b: {"status": "new"},
        lambda b: {"kind": "complaint"},
        lambda b: {"channel": "web"},
        lambda b: {"priority": "normal"},
        lambda b: {"department": "customer-service"},
        lambda b: {"owner": "none"},
        lambda b: {"created_after": "2000-01-01T00:00:00Z"},
        lambda b: {"created_before": "2100-01-01T00:00:00Z"},
        lambda b: {"ordering": "-updated_at"},
        lambda b: {"customer": b.customer_id, "q": b.number, "status": "new", "limit": 200},
    ],
    ids=[
        "none",
        "customer",
        "q-number",
        "q-number-lower",
        "q-email",
        "q-order",
        "q-text",
        "status",
        "kind",
        "channel",
        "priority",
        "department",
        "owner-none",
        "created_after",
        "created_before",
        "ordering",
        "combined",
    ],
)
def test_customer_a_list_never_shows_b_case(api, scene, b_case, customer_a, params):
    response = api(customer_a.user).get(CASES, params(b_case))

    assert response.status_code == 200
    numbers = [item["number"] for item in response.json()["items"]]
    assert b_case.number not in numbers
    assert set(numbers) <= {scene.case.number, scene.sibling.number}
    assert b"Bob" not in response.content and b"b@example.com" not in response.content


def test_customer_a_list_still_shows_own_cases(api, scene, b_case, customer_a):
    response = api(customer_a.user).get(CASES, {"customer": customer_a.pk, "q": "SO-A-1"})

    assert [item["number"] for item in response.json()["items"]] == [scene.case.number]


def test_track_with_a_email_does_not_open_b_case(api, b_case):
    client = api(None)

    response = client.post("/api/v1/track", {"number": b_case.number, "contact": "a@example.com"})
    unknown = client.post("/api/v1/track", {"number": UNKNOWN, "contact": "a@example.com"})

    assert response.status_code == 404
    assert response.content == unknown.content


def test_link_to_a_case_the_agent_cannot_see_is_404(api, scene, b_case, agent, db_state):
    services.case_update(
        actor=None, case=b_case, version=b_case.version, changes={"department": "repair"}
    )
    before = db_state(scene.case, b_case)
    client = api(agent)

    response = client.post(
        f"{CASES}/{scene.case.number}/links", {"target": b_case.number, "kind": "related"}
    )
    unknown = client.post(
        f"{CASES}/{scene.case.number}/links", {"target": UNKNOWN, "kind": "related"}
    )

    _same_not_found(response, unknown, b_case.number)
    assert db_state(scene.case, b_case) == before


def test_links_to_cases_the_caller_cannot_see_are_hidden(
    api, scene, b_case, supervisor, customer_a
):
    services.case_link(actor=supervisor, source=scene.case, target=b_case, kind="related")
    services.case_link(actor=supervisor, source=scene.case, target=scene.sibling, kind="related")

    as_owner = api(customer_a.user).get(f"{CASES}/{scene.case.number}").json()["links"]
    as_staff = api(supervisor).get(f"{CASES}/{scene.case.number}").json()["links"]

    assert [link["number"] for link in as_owner] == [scene.sibling.number]
    assert sorted(link["number"] for link in as_staff) == sorted(
        [scene.sibling.number, b_case.number]
    )


# --- agents and departments ---------------------------------------------------------------------


def test_agent_outside_the_department_gets_the_unknown_404(api, repair_agent, scene):
    client = api(repair_agent)

    hidden = client.get(f"{CASES}/{scene.case.number}")
    unknown = client.get(f"{CASES}/{UNKNOWN}")

    _same_not_found(hidden, unknown, scene.case.number)


def test_agent_sees_a_case_of_another_department_they_own(api, repair_agent, scene, supervisor):
    services.case_assign(actor=supervisor, case=scene.case, owner=repair_agent)

    response = api(repair_agent).get(f"{CASES}/{scene.case.number}")

    assert response.status_code == 200
    assert response.json()["owner"]["username"] == "repairer"
    assert [i["number"] for i in api(repair_agent).get(CASES).json()["items"]] == [
        scene.case.number
    ]


def test_repair_agent_sees_repair_cases(api, repair_agent, make_case):
    case = make_case(kind="repair")

    assert api(repair_agent).get(f"{CASES}/{case.number}").status_code == 200


# --- what customers may not do on their own case -----------------------------------------------


def test_customer_cannot_patch_own_case(api, scene, customer_a, db_state):
    before = db_state(scene.case)

    response = api(customer_a.user).patch(
        f"{CASES}/{scene.case.number}",
        {"version": 1, "priority": "urgent", "owner": None, "subject": "mine"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert db_state(scene.case) == before


def test_customer_cannot_post_an_internal_note(api, scene, customer_a, db_state):
    before = db_state(scene.case)

    response = api(customer_a.user).post(
        f"{CASES}/{scene.case.number}/messages", {"body": "note to self", "internal": True}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert db_state(scene.case) == before


PAIRS = [(a, b) for a in Status.values for b in Status.values if a != b]


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_customer_transitions(api, make_case, customer_a, drive_case, db_state, start, to):
    case = drive_case(make_case(customer=customer_a), start)
    case.refresh_from_db()
    before = db_state(case)

    response = api(customer_a.user).post(f"{CASES}/{case.number}/transitions", {"to": to})

    if to in CUSTOMER_ALLOWED.get(start, frozenset()):
        assert response.status_code == 200, response.content
        assert response.json()["status"] == to
        event = case.events.filter(type__startswith="case.").order_by("at", "id").last()
        assert (event.type, event.old, event.new, event.by_customer) == (
            "case.status_changed",
            start,
            to,
            True,
        )
    else:
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "transition_not_allowed"
        assert response.json()["error"]["allowed"] == [
            s for s in Status.values if s in CUSTOMER_ALLOWED.get(start, frozenset())
        ]
        assert db_state(case) == before


def test_customer_allowed_moves_are_exactly_accept_and_reopen():
    assert {(a, b) for a, tos in CUSTOMER_ALLOWED.items() for b in tos} == {
        ("resolved", "closed"),
        ("resolved", "open"),
        ("closed", "open"),
    }


def test_customer_sees_only_their_allowed_transitions(api, make_case, customer_a, drive_case):
    case = drive_case(make_case(customer=customer_a), "resolved")

    detail = api(customer_a.user).get(f"{CASES}/{case.number}").json()

    assert detail["allowed_transitions"] == ["open", "closed"]


# --- customers opening cases --------------------------------------------------------------------


def test_customer_case_is_attached_to_their_own_record(api, customer_a, customer_b):
    b_contacts = sorted(ContactPoint.objects.filter(customer=customer_b).values_list("normalized"))

    response = api(customer_a.user).post(
        CASES,
        {
            "kind": "complaint",
            "channel": "web",
            "subject": "Someone else's parcel",
            "customer": {"name": "Bob Smith", "email": "b@example.com", "phone": "+1 555 0100"},
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["customer"]["id"] == customer_a.pk
    assert response.json()["customer"]["email"] == "a@example.com"
    case = Case.objects.get(number=response.json()["number"])
    assert case.customer_id == customer_a.pk
    assert case.created_by is None
    assert case.events.get(type="case.created").by_customer is True
    assert (
        sorted(ContactPoint.objects.filter(customer=customer_b).values_list("normalized"))
        == b_contacts
    )
    assert not ContactPoint.objects.filter(normalized__contains="5550100").exists()
    assert api(customer_a.user).get(f"{CASES}/{case.number}").status_code == 200
    assert api(customer_b.user).get(f"{CASES}/{case.number}").status_code == 404


def test_customer_login_without_a_profile_cannot_open_cases(api, django_user_model, db_state):
    orphan = django_user_model.objects.create_user(username="orphan", role="customer")
    before = db_state()

    response = api(orphan).post(
        CASES,
        {"kind": "inquiry", "subject": "Hi", "customer": {"email": "orphan@example.com"}},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert db_state() == before


def test_inactive_staff_sees_nothing(api, agent, scene):
    client = api(agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    assert client.get(f"{CASES}/{scene.case.number}").status_code == 401
