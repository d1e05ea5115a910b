from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from afterdesk.cases.models import CaseSearch
from afterdesk.cases.search import document_of, tokens_of
from afterdesk.cases.selectors import CaseFilters, cases_list
from afterdesk.cases.services import case_add_message, case_update


def numbers(user, q):
    page = cases_list(user=user, filters=CaseFilters(q=q), limit=200)
    return sorted(c.number for c in page.items)


def test_tokens_split_chinese_into_bigrams_and_english_into_words():
    assert tokens_of("申请退款 Refund-REQUEST #42") == [
        "申请",
        "请退",
        "退款",
        "refund",
        "request",
        "42",
    ]
    assert tokens_of("坏") == ["坏"]
    assert tokens_of("ＡＢＣ１２") == ["abc12"]  # full-width forms are normalised


@pytest.mark.django_db
def test_two_character_chinese_word_is_found(make_case, supervisor):
    hit = make_case(subject="耳机坏了", description="我要申请退款，谢谢")
    make_case(subject="物流太慢", description="快递三天没有更新")
    assert numbers(supervisor, "退款") == [hit.number]
    assert numbers(supervisor, "申请退款") == [hit.number]
    assert numbers(supervisor, "款申") == []  # not adjacent in that order


@pytest.mark.django_db
def test_english_word_in_any_case(make_case, supervisor):
    hit = make_case(subject="Screen FLICKERS after update")
    make_case(subject="Battery drains fast")
    assert numbers(supervisor, "flickers") == [hit.number]
    assert numbers(supervisor, "Flickers") == [hit.number]
    assert numbers(supervisor, "FLICKERS screen") == [hit.number]
    assert numbers(supervisor, "flicker") == []  # whole words, not substrings


@pytest.mark.django_db
def test_single_chinese_character_matches_as_prefix(make_case, supervisor):
    hit = make_case(subject="屏幕碎裂")
    make_case(subject="物流延误")
    assert numbers(supervisor, "碎") == [hit.number]


@pytest.mark.django_db
def test_messages_and_customer_name_are_searchable(make_case, supervisor, customer_a):
    case = make_case(customer=customer_a, subject="Order problem")
    other = make_case(subject="Another order problem")
    case_add_message(actor=supervisor, case=case, body="已为您安排上门取件")
    assert numbers(supervisor, "取件") == [case.number]
    assert numbers(supervisor, "小明") == [case.number]  # customer 王小明
    assert other.number not in numbers(supervisor, "取件")


@pytest.mark.django_db
def test_edited_subject_is_reindexed(make_case, supervisor):
    case = make_case(subject="Charger missing")
    case_update(
        actor=supervisor, case=case, version=case.version, changes={"subject": "缺少充电器"}
    )
    assert numbers(supervisor, "charger") == []
    assert numbers(supervisor, "充电器") == [case.number]


@pytest.mark.django_db
def test_search_respects_visibility(make_case, agent, repair_agent):
    repair = make_case(kind="repair", subject="主板维修 motherboard")
    assert numbers(repair_agent, "motherboard") == [repair.number]
    assert numbers(agent, "motherboard") == []


@pytest.mark.django_db
def test_query_syntax_characters_are_harmless(make_case, supervisor):
    make_case(subject='Quote " AND OR NEAR( * test')
    for query in ['"', "AND", "*", "NEAR(", "'; DROP TABLE x; --", '退款"*']:
        cases_list(user=supervisor, filters=CaseFilters(q=query), limit=10)  # no error
    assert numbers(supervisor, 'test"') != []


@pytest.mark.django_db
def test_reindex_command_rebuilds_documents(make_case):
    case = make_case(subject="Broken hinge")
    CaseSearch.objects.filter(case=case).delete()
    call_command("search_reindex", stdout=io.StringIO())
    assert CaseSearch.objects.get(case=case).tokens == document_of(
        case.number,
        "Broken hinge",
        case.description,
        "",
        "",
        "",
        case.customer.name,
        case.customer.email,
        case.customer.phone,
    )
