"""Forms of the core's pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import ingest
from .conf import settings


def importable_kinds(user):
    """[(kind, label)] of the CSV imports `user` may start, by label."""
    kinds = [(kind, ingest.get_ingester(kind)) for kind in ingest.kinds()]
    return sorted(((kind, ingester.label[:1].upper() + ingester.label[1:])
                   for kind, ingester in kinds if user.has_perm(ingester.permission)),
                  key=lambda choice: str(choice[1]))


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("CSV file"), help_text=_(
        "UTF-8 (or Excel's “CSV UTF-8”), comma-separated, the first line naming the "
        "columns."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = importable_kinds(user)

    def clean_file(self):
        file = self.cleaned_data["file"]
        limit = settings.ABMCRM_IMPORT_MAX_BYTES
        if file.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the largest accepted is %(limit)s MB. Split it and "
                  "upload the parts.") % {"size": file.size // (1024 * 1024),
                                         "limit": limit // (1024 * 1024)})
        if file.size == 0:
            raise forms.ValidationError(_("The file is empty: the first line must name the "
                                          "columns."))
        return file
