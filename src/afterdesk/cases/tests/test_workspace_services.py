"""Services behind the agent workspace: queue counters, merge, bulk actions, replies, views."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import translation

from afterdesk.cases import selectors, services
from afterdesk.cases.counters import queue_counters_rebuild
from afterdesk.cases.errors import CaseInvalid, CaseTransitionNotAllowed
from afterdesk.cases.models import Case, CaseEvent, CaseLink, Message, QueueCounter, SavedView

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def counters() -> dict[tuple[int, int, str], int]:
    """The maintained counters without empty buckets."""
    return {
        (c.department_id, c.owner_id, c.status): c.count
        for c in QueueCounter.objects.all()
        if c.count
    }


def recounted() -> dict[tuple[int, int, str], int]:
    """What the counters must be: counted from the case table."""
    out: dict[tuple[int, int, str], int] = {}
    for case in Case.objects.all():
        key = (case.department_id or 0, case.owner_id or 0, case.status)
        out[key] = out.get(key, 0) + 1
    return out


# --- Queue counters ----------------------------------------------------------------------------


def test_counters_follow_create_assign_transition_and_department_change(
    make_case: Any, agent: Any, supervisor: Any, departments: Any
) -> None:
    first = make_case()
    second = make_case(kind="repair")
    assert counters() == recounted()
    assert counters()[(departments["customer-service"].pk, 0, "new")] == 1

    services.case_assign(actor=supervisor, case=first, owner=agent)
    first = services.case_transition(actor=agent, case=first, to="open")
    services.case_update(
        actor=agent,
        case=second,
        version=second.version,
        changes={"department": "customer-service", "priority": "high"},
    )
    assert counters() == recounted()
    assert counters()[(departments["customer-service"].pk, agent.pk, "open")] == 1
    assert counters()[(departments["customer-service"].pk, 0, "new")] == 1


def test_a_refused_change_leaves_the_counters_alone(
    make_case: Any, agent: Any, drive_case: Any
) -> None:
    case = drive_case(make_case(), "cancelled")
    before = counters()
    with pytest.raises(CaseTransitionNotAllowed):
        services.case_transition(actor=agent, case=case, to="open")
    assert counters() == before == recounted()


def test_rebuild_recounts_after_a_bulk_load(make_case: Any, agent: Any) -> None:
    make_case()
    make_case()
    QueueCounter.objects.all().delete()
    Case.objects.filter(pk=Case.objects.first().pk).update(status="closed", owner=agent)
    assert queue_counters_rebuild() == 2
    assert counters() == recounted()


def test_queue_counts_per_tab(
    make_case: Any, agent: Any, repair_agent: Any, supervisor: Any, drive_case: Any
) -> None:
    mine_open = make_case()
    services.case_assign(actor=agent, case=mine_open, owner=agent)
    mine_done = drive_case(make_case(), "resolved")
    services.case_assign(actor=agent, case=mine_done, owner=agent)
    make_case()  # unassigned, customer service
    make_case(kind="repair")  # unassigned, repair: not the agent's department
    helped = make_case(kind="repair")
    services.case_assign(actor=supervisor, case=helped, owner=agent)

    assert selectors.queue_counts(user=agent) == {"mine": 2, "unassigned": 1, "all": 4}
    assert selectors.queue_counts(user=repair_agent) == {"mine": 0, "unassigned": 1, "all": 2}
    # The supervisor belongs to customer service: unassigned there; all: every case.
    assert selectors.queue_counts(user=supervisor) == {"mine": 0, "unassigned": 1, "all": 5}


def test_queue_counts_read_only_the_counter_table(
    make_case: Any, agent: Any, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        make_case()
    agent = type(agent).objects.get(pk=agent.pk)
    with django_assert_num_queries(2) as captured:  # the user's departments, the counters
        selectors.queue_counts(user=agent)
    sql = captured.captured_queries[-1]["sql"]
    assert "cases_queuecounter" in sql and "cases_case" not in sql


def test_counter_totals_equal_the_number_of_cases(make_case: Any) -> None:
    for kind in ("complaint", "repair", "return"):
        make_case(kind=kind)
    assert QueueCounter.objects.aggregate(n=Sum("count"))["n"] == Case.objects.count() == 3


# --- Merge -------------------------------------------------------------------------------------


def test_merge_links_and_cancels_duplicates_into_the_oldest(
    make_case: Any, agent: Any, clock: Any
) -> None:
    oldest = make_case(subject="Screen cracked")
    clock.advance(minutes=5)
    dup1 = make_case(subject="Screen cracked (again)")
    clock.advance(minutes=5)
    dup2 = make_case(subject="Cracked screen")

    primary, outcomes = services.case_merge(actor=agent, cases=[dup2, oldest, dup1])

    assert primary.pk == oldest.pk
    assert [(o.number, o.ok) for o in outcomes] == [(dup1.number, True), (dup2.number, True)]
    for dup in (dup1, dup2):
        dup.refresh_from_db()
        assert dup.status == "cancelled"
        assert CaseLink.objects.filter(source=dup, target=oldest, kind="duplicate_of").exists()
        change = CaseEvent.objects.get(case=dup, type="case.status_changed")
        assert change.payload == {"note": f"Duplicate of {oldest.number}"}
        assert CaseEvent.objects.filter(case=dup, type="case.linked").count() == 1
    merged = CaseEvent.objects.get(case=oldest, type="case.merged")
    assert merged.payload == {"duplicates": [dup1.number, dup2.number]}
    assert Case.objects.get(pk=oldest.pk).status == "new"
    assert counters() == recounted()


def test_merge_reports_a_case_that_cannot_be_cancelled_and_merges_the_rest(
    make_case: Any, agent: Any, clock: Any, drive_case: Any
) -> None:
    oldest = make_case()
    clock.advance(minutes=1)
    resolved = drive_case(make_case(), "resolved")
    clock.advance(minutes=1)
    dup = make_case()
    events_before = CaseEvent.objects.filter(case=resolved).count()

    primary, outcomes = services.case_merge(actor=agent, cases=[oldest, resolved, dup])

    assert primary.pk == oldest.pk
    assert [(o.number, o.ok) for o in outcomes] == [(resolved.number, False), (dup.number, True)]
    assert "cannot move" in outcomes[0].message
    # Nothing of the refused merge stays behind: no link, no event, same status.
    assert not CaseLink.objects.filter(source=resolved).exists()
    assert CaseEvent.objects.filter(case=resolved).count() == events_before
    assert Case.objects.get(pk=resolved.pk).status == "resolved"
    assert CaseEvent.objects.get(case=oldest, type="case.merged").payload == {
        "duplicates": [dup.number]
    }


def test_merge_skips_a_cancelled_oldest_case(
    make_case: Any, agent: Any, clock: Any, drive_case: Any
) -> None:
    cancelled = drive_case(make_case(), "cancelled")
    clock.advance(minutes=1)
    keep = make_case()
    clock.advance(minutes=1)
    dup = make_case()
    primary, _ = services.case_merge(actor=agent, cases=[cancelled, keep, dup])
    assert primary.pk == keep.pk
    assert CaseLink.objects.filter(source=cancelled, target=keep).exists()


def test_merge_needs_two_cases(make_case: Any, agent: Any) -> None:
    case = make_case()
    with pytest.raises(CaseInvalid):
        services.case_merge(actor=agent, cases=[case, case])


# --- Bulk actions ------------------------------------------------------------------------------


def test_bulk_status_reports_the_refused_case_and_moves_the_others(
    make_case: Any, agent: Any, drive_case: Any
) -> None:
    ok1, ok2 = make_case(), make_case()
    closed = drive_case(make_case(), "cancelled")
    outcomes = services.case_bulk_apply(
        actor=agent, cases=[ok1, closed, ok2], action="status", value="open"
    )
    assert [(o.number, o.ok) for o in outcomes] == [
        (ok1.number, True),
        (closed.number, False),
        (ok2.number, True),
    ]
    assert "cannot move" in outcomes[1].message
    assert sorted(Case.objects.values_list("status", flat=True)) == ["cancelled", "open", "open"]


def test_bulk_assign_and_priority(make_case: Any, agent: Any, supervisor: Any) -> None:
    cases = [make_case(), make_case()]
    services.case_bulk_apply(actor=supervisor, cases=cases, action="assign", value="agent")
    fresh = [Case.objects.get(pk=c.pk) for c in cases]
    assert {c.owner_id for c in fresh} == {agent.pk}
    outcomes = services.case_bulk_apply(
        actor=supervisor, cases=fresh, action="priority", value="urgent"
    )
    assert all(o.ok for o in outcomes)
    assert set(Case.objects.values_list("priority", flat=True)) == {"urgent"}
    services.case_bulk_apply(actor=supervisor, cases=fresh, action="assign", value="")
    assert set(Case.objects.values_list("owner", flat=True)) == {None}


def test_bulk_priority_with_a_stale_version_is_a_per_case_failure(
    make_case: Any, agent: Any
) -> None:
    stale = make_case()
    services.case_update(actor=agent, case=stale, version=1, changes={"subject": "Changed"})
    outcomes = services.case_bulk_apply(actor=agent, cases=[stale], action="priority", value="high")
    assert not outcomes[0].ok
    assert Case.objects.get(pk=stale.pk).priority == "normal"


def test_bulk_refuses_unknown_values_before_touching_any_case(make_case: Any, agent: Any) -> None:
    case = make_case()
    before = CaseEvent.objects.filter(case=case).count()
    for action, value in (
        ("status", "bogus"),
        ("priority", "asap"),
        ("assign", "nobody-here"),
        ("delete", ""),
    ):
        with pytest.raises(CaseInvalid):
            services.case_bulk_apply(actor=agent, cases=[case], action=action, value=value)
    assert CaseEvent.objects.filter(case=case).count() == before


# --- Replies -----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_reply_with_files_and_a_status_change(make_case: Any, agent: Any) -> None:
    case = make_case()
    upload = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    message = services.case_reply(
        actor=agent,
        case=case,
        body="Please send it to us.",
        uploads=[upload],
        then_status="pending_customer",
    )
    assert message.channel == "web" and not message.internal
    assert [a.filename for a in message.attachments.all()] == ["photo.png"]
    case.refresh_from_db()
    assert case.status == "pending_customer"
    assert case.first_response_at is not None


def test_a_refused_file_leaves_no_reply_behind(make_case: Any, agent: Any) -> None:
    case = make_case()
    before = CaseEvent.objects.filter(case=case).count()
    bad = SimpleUploadedFile("evil.png", b"MZ not a png at all", content_type="image/png")
    with pytest.raises(CaseInvalid):
        services.case_reply(actor=agent, case=case, body="See attached.", uploads=[bad])
    assert not Message.objects.filter(case=case).exists()
    assert CaseEvent.objects.filter(case=case).count() == before


# --- Saved views -------------------------------------------------------------------------------


def test_saved_view_keeps_only_queue_filters(agent: Any) -> None:
    view = services.saved_view_create(
        user=agent,
        name="  Urgent repairs ",
        query="tab=all&kind=repair&priority=urgent&cursor=abc&evil=1",
    )
    assert view.name == "Urgent repairs"
    assert view.query == "tab=all&kind=repair&priority=urgent"
    again = services.saved_view_create(user=agent, name="Urgent repairs", query="tab=mine")
    assert again.pk == view.pk and again.query == "tab=mine"
    second = services.saved_view_create(user=agent, name="Mine", query="tab=mine")
    assert second.position == view.position + 1


def test_saved_views_are_limited(agent: Any) -> None:
    for i in range(services.SAVED_VIEWS_MAX):
        services.saved_view_create(user=agent, name=f"v{i}", query="tab=all")
    with pytest.raises(CaseInvalid):
        services.saved_view_create(user=agent, name="one more", query="tab=all")
    assert SavedView.objects.filter(user=agent).count() == services.SAVED_VIEWS_MAX


def test_saved_view_name_is_required(agent: Any) -> None:
    with pytest.raises(CaseInvalid):
        services.saved_view_create(user=agent, name="   ", query="tab=all")
