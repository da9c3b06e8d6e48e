"""Forms of the tiers pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from abmcrm.core.formats import number

from .models import IcpCriterion

# What the editor calls each attribute (the model's labels read "Industry in", "Employees
# between", which suit a finished criterion rather than a picker).
ATTRIBUTE_NAMES = {
    "industry": _("Industry"), "country": _("Country"), "region": _("Region"),
    "funding_stage": _("Funding stage"), "maturity": _("Maturity"),
    "technology": _("Technology used"), "employees": _("Employees"),
    "annual_revenue": _("Annual revenue"), "customer_count": _("Customer base (its own customers)"),
}


class IcpCriterionForm(forms.Form):
    """One ICP criterion, built by picking: an attribute, then values present in the data
    (`value_choices`) or a minimum and maximum for a number."""

    attribute = forms.ChoiceField(label=_("Attribute"), choices=[
        (value, ATTRIBUTE_NAMES[value]) for value in IcpCriterion.Attribute.values])
    values = forms.MultipleChoiceField(label=_("Values"), required=False,
                                       widget=forms.CheckboxSelectMultiple)
    min_value = forms.DecimalField(label=_("At least"), required=False, min_value=0,
                                   max_digits=16, decimal_places=2)
    max_value = forms.DecimalField(label=_("At most"), required=False, min_value=0,
                                   max_digits=16, decimal_places=2)
    weight = forms.IntegerField(label=_("Weight"), min_value=1, max_value=100, initial=1,
                                required=False,
                                help_text=_("How much this criterion counts in the fit score, "
                                            "1–100."))

    def __init__(self, *args, value_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Each value with how many accounts have it: "Software (42)".
        self.fields["values"].choices = [(value, f"{label} ({number(count)})")
                                         for value, label, count in value_choices]

    @property
    def is_range(self):
        return self.chosen_attribute in IcpCriterion.RANGE_ATTRIBUTES

    @property
    def chosen_attribute(self):
        value = self.data.get("attribute") if self.is_bound else self.initial.get("attribute")
        return value if value in IcpCriterion.Attribute.values else "industry"

    def clean(self):
        data = super().clean()
        attribute = data.get("attribute")
        if attribute in IcpCriterion.SET_ATTRIBUTES and not data.get("values"):
            self.add_error("values", _("Tick at least one value."))
        if attribute in IcpCriterion.RANGE_ATTRIBUTES:
            low, high = data.get("min_value"), data.get("max_value")
            if low is None and high is None:
                self.add_error("min_value", _("Give a minimum, a maximum or both."))
            elif low is not None and high is not None and low > high:
                self.add_error("max_value", _("The maximum is below the minimum."))
        if data.get("weight") is None:
            data["weight"] = 1
        return data

    def criterion(self):
        """The criterion the form describes, unsaved (for its count)."""
        data = self.cleaned_data
        return IcpCriterion(attribute=data["attribute"], values=list(data.get("values") or []),
                            min_value=data.get("min_value"), max_value=data.get("max_value"),
                            weight=data.get("weight") or 1)
