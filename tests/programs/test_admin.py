import pytest

from programs.models import MenuEntry, OrderEvent, ProgramOrder
from tests.factories import BudgetFactory, ProgramItemFactory, ProgramOrderFactory, tier

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


@pytest.mark.parametrize("path", [
    "/admin/programs/campaign/", "/admin/programs/programitem/", "/admin/programs/menuentry/",
    "/admin/programs/budget/", "/admin/programs/programorder/", "/admin/tiers/tier/",
])
def test_changelists_open_for_admins(client, abm_admin, path):
    order = ProgramOrderFactory(item=ProgramItemFactory(menu_tiers=[1, 2]))
    BudgetFactory()
    client.force_login(abm_admin)
    response = client.get(path)
    assert response.status_code == 200
    if "programorder" in path:
        assert client.get(f"{path}{order.pk}/change/").status_code == 200


def test_budget_admin_saves_name_and_limit_together(client, abm_admin):
    from programs.models import Budget

    budget = BudgetFactory(name="Old", limit=1000)
    client.force_login(abm_admin)
    data = {"name": "New", "start_date": budget.start_date, "end_date": budget.end_date,
            "scope": "all", "limit": "2000"}
    response = client.post(f"/admin/programs/budget/{budget.pk}/change/", data)
    assert response.status_code == 302
    budget = Budget.objects.get(pk=budget.pk)
    assert (budget.name, budget.limit) == ("New", 2000)


def test_tier_page_shows_its_menu(client, abm_admin):
    item = ProgramItemFactory(menu_tiers=[1], name="Popcorn box")
    client.force_login(abm_admin)
    html = client.get(f"/admin/tiers/tier/{tier(1).pk}/change/").content.decode()
    assert item.name in html


@pytest.mark.parametrize("rows", [1, 30])
def test_order_changelist_fixed_queries(client, abm_admin, rows, django_assert_max_num_queries):
    for _ in range(rows):
        ProgramOrderFactory(tier=tier(1))
    client.force_login(abm_admin)
    with django_assert_max_num_queries(16):
        assert client.get("/admin/programs/programorder/").status_code == 200


@pytest.mark.parametrize("rows", [1, 30])
def test_menu_changelist_fixed_queries(client, abm_admin, rows, django_assert_max_num_queries):
    for _ in range(rows):
        ProgramItemFactory(menu_tiers=[1])
    client.force_login(abm_admin)
    with django_assert_max_num_queries(16):
        assert client.get("/admin/programs/menuentry/?tier__id__exact=1").status_code == 200


def test_approve_action_calls_the_service(client, marketer):
    budget = BudgetFactory(limit=150)
    first, second = ProgramOrderFactory(cost=100), ProgramOrderFactory(cost=100)
    client.force_login(marketer)
    response = client.post("/admin/programs/programorder/", {
        "action": "approve", "_selected_action": [first.pk, second.pk]}, follow=True)
    assert response.status_code == 200
    statuses = sorted(ProgramOrder.objects.values_list("status", flat=True))
    assert statuses == [S.APPROVED, S.REQUESTED]  # the budget held only one
    budget.refresh_from_db()
    assert budget.committed == 100
    assert OrderEvent.objects.filter(to_status=S.APPROVED, by=marketer).count() == 1


def test_reject_action_asks_for_a_reason(client, marketer):
    order = ProgramOrderFactory()
    client.force_login(marketer)
    form = client.post("/admin/programs/programorder/", {
        "action": "reject", "_selected_action": [order.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    client.post("/admin/programs/programorder/", {
        "action": "reject", "_selected_action": [order.pk], "apply": "1",
        "reason": "Not this quarter"})
    order.refresh_from_db()
    assert order.status == S.REJECTED and order.reason == "Not this quarter"


def test_reorder_menu_in_place(client, abm_admin):
    a, b = ProgramItemFactory(menu_tiers=[1]), ProgramItemFactory(menu_tiers=[1])
    ea, eb = MenuEntry.objects.get(item=a), MenuEntry.objects.get(item=b)
    client.force_login(abm_admin)
    response = client.post("/admin/programs/menuentry/?tier__id__exact=1", {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2",
        "form-0-id": ea.pk, "form-0-position": "5", "form-1-id": eb.pk,
        "form-1-position": "1", "_save": "Save"})
    assert response.status_code == 302
    assert list(MenuEntry.objects.filter(tier__number=1).values_list("item", flat=True)) == [
        b.pk, a.pk]


class TestBudgetLimitBelowBooked:
    def _post(self, client, budget, limit):
        return client.post(f"/admin/programs/budget/{budget.pk}/change/", {
            "name": "Renamed", "start_date": budget.start_date, "end_date": budget.end_date,
            "scope": "all", "limit": limit})

    def test_one_error_on_the_field_and_the_form_kept(self, client, abm_admin):
        from programs.models import Budget

        budget = BudgetFactory(name="Q3", limit=1000, committed=600, spent=100)
        client.force_login(abm_admin)
        response = self._post(client, budget, "500")
        assert response.status_code == 200  # the form again, not the list
        html = response.content.decode()
        assert "700\xa0USD is already committed or spent" in html
        assert 'value="Renamed"' in html and 'value="500"' in html  # what was typed
        assert "changed successfully" not in html and "Not saved" not in html
        assert Budget.objects.get(pk=budget.pk).limit == 1000

    def test_an_approval_meanwhile_gives_one_message_and_back_to_the_form(
            self, client, abm_admin, monkeypatch):
        from django.contrib.messages import get_messages

        from programs import services
        from programs.models import Budget

        budget = BudgetFactory(name="Q3", limit=1000, committed=0)
        real_update = services.budget_update

        def approval_first(*, budget, **fields):
            # Money committed between the form's check and the save.
            Budget.objects.filter(pk=budget.pk).update(committed=900)
            return real_update(budget=budget, **fields)

        monkeypatch.setattr(services, "budget_update", approval_first)
        client.force_login(abm_admin)
        response = self._post(client, budget, "500")
        assert response.status_code == 302
        assert response.url == f"/admin/programs/budget/{budget.pk}/change/"
        texts = [str(m) for m in get_messages(response.wsgi_request)]
        assert len(texts) == 1 and texts[0].startswith("Not saved: Budget “Q3” has 900")
        assert Budget.objects.get(pk=budget.pk).limit == 1000


def test_the_admin_is_branded_and_leads_back_to_the_app(client, abm_admin):
    client.force_login(abm_admin)
    html = client.get("/admin/").content.decode()
    assert "abmcrm administration" in html and "Django administration" not in html
    assert 'href="/"' in html  # View site: the pages
    assert "abmcrm/admin.css" in html


def test_program_item_fulfillment_method_is_picked_not_typed(client, abm_admin):
    item = ProgramItemFactory()
    client.force_login(abm_admin)
    html = client.get(f"/admin/programs/programitem/{item.pk}/change/").content.decode()
    assert '<select name="fulfillment_method"' in html
    assert "By hand (a marketer works the fulfillment queue)" in html
    assert "ABMCRM_PROVIDERS" not in html
