import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from .models import Account, Contact, Technology


class AccountFilter(django_filters.FilterSet):
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    region = django_filters.CharFilter(field_name="region", lookup_expr="iexact")
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    is_customer = django_filters.BooleanFilter()
    technology = django_filters.CharFilter(method="filter_technology",
                                           label="Uses technology (name or slug)")
    employees_min = django_filters.NumberFilter(field_name="employees", lookup_expr="gte")
    employees_max = django_filters.NumberFilter(field_name="employees", lookup_expr="lte")
    revenue_min = django_filters.NumberFilter(field_name="annual_revenue", lookup_expr="gte")
    revenue_max = django_filters.NumberFilter(field_name="annual_revenue", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", label="Name or domain contains")
    ordering = django_filters.OrderingFilter(
        fields=("name", "domain", "employees", "annual_revenue", "estimated_acv", "created_at",
                "updated_at", "country", "industry")
    )

    class Meta:
        model = Account
        fields = ["industry", "country", "region", "owner", "is_customer", "funding_stage",
                  "maturity"]

    def filter_technology(self, queryset, name, value):
        # Exists, not a join: no duplicate rows and no DISTINCT over the whole list.
        technologies = Technology.accounts.through.objects.filter(
            account_id=OuterRef("pk")
        ).filter(Q(technology__slug__iexact=value) | Q(technology__name__iexact=value))
        return queryset.filter(Exists(technologies))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Name, e-mail or title")

    class Meta:
        model = Contact
        fields = ["account", "buying_role"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value)
            | Q(email__icontains=value) | Q(title__icontains=value)
        )
