"""Every admin label is translatable: each field of every abmcrm model has a verbose name of
its own that is a lazy translation (not one Django derives from the attribute name, which no
catalogue can translate), and so are the models' names, the help texts, the choice labels and
the admin's own column headers, actions and fieldset titles. A Korean admin sees Korean column
headers on the changelists.

A field added without `verbose_name=_("…")` fails `test_every_field_has_a_translatable_
verbose_name`; its string then goes through `make messages` like any other
(tests/test_translations.py)."""

import re
from html import unescape

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst

from pipeline.models import Opportunity, OpportunityStage
from programs.models import ProgramOrder
from tests.factories import AccountFactory, ProgramOrderFactory
from tiers.models import Account

# The app labels of abmcrm's apps (the core's label is "abmcore").
APP_LABELS = ["abmcore", "tiers", "programs", "funnel", "pipeline", "inmarket", "webhooks",
              "plays"]
# Choices whose labels are codes people type as they are, not words.
UNTRANSLATED_CHOICES = {
    ("tiers.tier", "engagement_model"),  # "1:1", "1:few", "1:many"
    ("funnel.stage", "slot"),  # the built-in stages' slugs, never edited (editable=False)
}


def _models():
    return [model for label in APP_LABELS for model in apps.get_app_config(label).get_models()]


def _fields(model):
    """The fields a form or a changelist can show: concrete ones and many-to-many, declared on
    the model or inherited from an abstract parent; not the primary key Django adds itself."""
    return [field for field in [*model._meta.concrete_fields, *model._meta.local_many_to_many]
            if not field.auto_created]


def _name(model, field=None):
    return f"{model._meta.label}.{field.name}" if field else model._meta.label


def test_the_checks_see_every_app():
    assert len(_models()) >= 50
    assert sum(len(_fields(model)) for model in _models()) >= 400


def test_every_field_has_a_translatable_verbose_name():
    # `_verbose_name` is what the field was given; `verbose_name` is derived from the
    # attribute name when nothing was (a plain str, in English only).
    plain = [_name(model, field) for model in _models() for field in _fields(model)
             if not isinstance(field._verbose_name, Promise)]
    assert not plain, ("fields without verbose_name=_(\"…\") (a lower-case label):\n  "
                       + "\n  ".join(plain))


def test_every_model_has_translatable_names():
    plain = [f"{_name(model)}.{option}" for model in _models()
             for option in ("verbose_name", "verbose_name_plural")
             if not isinstance(model._meta.original_attrs.get(option), Promise)]
    assert not plain, "Meta options without _(\"…\"):\n  " + "\n  ".join(plain)


def test_every_help_text_is_translatable():
    plain = [_name(model, field) for model in _models() for field in _fields(model)
             if field.help_text and not isinstance(field.help_text, Promise)]
    assert not plain, "help_text without _(\"…\"):\n  " + "\n  ".join(plain)


def test_every_choice_label_is_translatable():
    plain = [f"{_name(model, field)}: {label!r}" for model in _models()
             for field in _fields(model) if field.choices
             and (model._meta.label_lower, field.name) not in UNTRANSLATED_CHOICES
             for _value, label in field.flatchoices if not isinstance(label, Promise)]
    assert not plain, "choice labels without _(\"…\"):\n  " + "\n  ".join(plain)


def test_every_app_name_is_translatable():
    plain = [label for label in APP_LABELS
             if not isinstance(apps.get_app_config(label).verbose_name, Promise)]
    assert not plain


def _admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in APP_LABELS]


def test_every_admin_column_action_and_fieldset_is_translatable():
    plain = []
    for model, model_admin in _admins():
        field_names = {field.name for field in model._meta.get_fields()}
        for name in model_admin.list_display:
            if isinstance(name, str) and (name in field_names or name in ("pk", "__str__")):
                continue  # a field's verbose name (checked above) or the model's
            attr = name if callable(name) else getattr(model_admin, name, None) \
                or getattr(model, name, None)
            if not isinstance(getattr(attr, "short_description", None), Promise):
                plain.append(f"{_name(model)} column {name}")
        for action in model_admin.actions or ():
            function = action if callable(action) else getattr(model_admin, action)
            if not isinstance(getattr(function, "short_description", None), Promise):
                plain.append(f"{_name(model)} action {action}")
        for title, _options in model_admin.fieldsets or ():
            if title is not None and not isinstance(title, Promise):
                plain.append(f"{_name(model)} fieldset {title!r}")
    assert not plain, "admin labels without _(\"…\"):\n  " + "\n  ".join(plain)


def _column_headers(html):
    """The changelist's column headers as a person reads them (not the select-all box)."""
    return [unescape(text).strip() for text in re.findall(
        r'<div class="text">(?:<a href="[^"]*">|<span>)(.*?)</(?:a|span)>', html)
        if not text.startswith("<input")]


def _expected_headers(model, language):
    model_admin = admin.site._registry[model]
    with translation.override(language):
        return [str(capfirst(label_for_field(name, model, model_admin)))
                for name in model_admin.list_display if name != "id"]


@pytest.mark.django_db
class TestKoreanChangelists:
    @pytest.fixture
    def rows(self):
        account = AccountFactory(name="Acme", domain="acme.example")
        ProgramOrderFactory(account=account)
        now = timezone.now()
        Opportunity.objects.create(account=account, name="Acme renewal", currency="USD",
                                   stage=OpportunityStage.objects.filter(
                                       is_won=False, is_lost=False).first(),
                                   opened_at=now, stage_changed_at=now)

    @pytest.mark.parametrize("model, path, korean", [
        (Account, "/admin/tiers/account/", ["이름", "도메인", "산업", "직원 수", "예상 ACV",
                                            "담당자", "티어", "핏 점수", "인텐트 점수"]),
        (ProgramOrder, "/admin/programs/programorder/", ["어카운트", "항목", "비용", "통화",
                                                        "요청자", "담당자", "마감 시각"]),
        (Opportunity, "/admin/pipeline/opportunity/", ["어카운트", "단계", "금액",
                                                       "예상 마감일", "종료 시각"]),
    ])
    def test_column_headers_are_korean(self, admin_client, rows, model, path, korean):
        response = admin_client.get(path, HTTP_ACCEPT_LANGUAGE="ko")
        assert response.status_code == 200
        html = response.content.decode()
        assert '<html lang="ko"' in html
        headers = _column_headers(html)
        expected = _expected_headers(model, "ko")
        assert [h for h in headers if h != "ID"] == expected
        assert set(korean) <= set(headers)
        # Every column is in Korean: none is left as its English label.
        english = _expected_headers(model, "en")
        assert not set(headers) & set(english), set(headers) & set(english)

    def test_the_same_page_in_english(self, admin_client, rows):
        html = admin_client.get("/admin/tiers/account/", HTTP_ACCEPT_LANGUAGE="en").content
        headers = _column_headers(html.decode())
        assert headers == _expected_headers(Account, "en")
        assert {"Name", "Domain", "Estimated ACV", "Fit score"} <= set(headers)

    def test_form_labels_are_korean(self, admin_client, rows):
        account = Account.objects.get(domain="acme.example")
        html = admin_client.get(f"/admin/tiers/account/{account.pk}/change/",
                                HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        for label in ("연 매출", "투자 단계", "고객 기반", "갱신 횟수", "커버리지"):
            assert re.search(rf"<label[^>]*>{re.escape(label)}:</label>", html), label
