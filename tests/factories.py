import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from abmcrm.core import roles
from tiers.models import Account, Contact, Tier


def _role(default):
    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        name = extracted or default
        if create and name:
            obj.groups.add(Group.objects.get(name=name))
        if create:
            obj.save()

    return role


class UserFactory(factory.django.DjangoModelFactory):
    """A user; `UserFactory(role=roles.MARKETER)` gives a role."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-1")
    role = _role(None)


class RepFactory(UserFactory):
    role = _role(roles.SALES_REP)


class MarketerFactory(UserFactory):
    is_staff = True
    role = _role(roles.MARKETER)


class AdminFactory(UserFactory):
    is_staff = True
    role = _role(roles.ABM_ADMIN)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    domain = factory.Sequence(lambda n: f"account{n}.example.com")
    industry = "software"
    country = "United States"
    region = "North America"
    employees = 500
    annual_revenue = 50_000_000
    estimated_acv = 40_000


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    title = "VP Marketing"
    buying_role = Contact.BuyingRole.DECISION_MAKER
    address_line1 = factory.Sequence(lambda n: f"{n} Market Street")
    city = "Springfield"
    postal_code = "12345"
    country = "United States"


def tier(number):
    return Tier.objects.get(number=number)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programs.Campaign"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    code = factory.Sequence(lambda n: f"campaign-{n}")
    channel = "outbound"
    fixed_cost = 0


class ProgramItemFactory(factory.django.DjangoModelFactory):
    """An item; `ProgramItemFactory(menu_tiers=[1, 2])` puts it on those tiers' menus."""

    class Meta:
        model = "programs.ProgramItem"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Program {n}")
    kind = "gift"
    campaign = factory.SubFactory(CampaignFactory)
    unit_cost = 100
    lead_time_days = 5

    @factory.post_generation
    def menu_tiers(self, create, extracted, **kwargs):
        from programs.models import MenuEntry

        for position, number in enumerate(extracted or []):
            MenuEntry.objects.create(tier=tier(number), item=self, position=position)


class ProgramOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programs.ProgramOrder"

    account = factory.SubFactory(AccountFactory)
    item = factory.SubFactory(ProgramItemFactory)
    cost = factory.LazyAttribute(lambda o: o.item.unit_cost)
    requested_by = factory.SubFactory(RepFactory)


class BudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programs.Budget"

    name = factory.Sequence(lambda n: f"Budget {n}")
    start_date = factory.LazyFunction(lambda: __import__("datetime").date(2000, 1, 1))
    end_date = factory.LazyFunction(lambda: __import__("datetime").date(2999, 12, 31))
    scope = "all"
    limit = 1000


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead row alone (no transitions); use funnel.services.lead_create for one that has
    entered the funnel."""

    class Meta:
        model = "funnel.Lead"

    email = factory.Sequence(lambda n: f"lead{n}@leads.example.org")
    first_name = "Lee"
    last_name = factory.Sequence(lambda n: f"Ead{n}")
    created_at = factory.LazyFunction(timezone.now)


class PlayFactory(factory.django.DjangoModelFactory):
    """A play; give `actions` (and `conditions`) as the API takes them."""

    class Meta:
        model = "plays.Play"

    name = factory.Sequence(lambda n: f"Play {n}")
    event = "account.tier_changed"
    conditions = factory.LazyFunction(dict)
    actions = factory.LazyFunction(lambda: [{"type": "notify"}])
    is_active = True
