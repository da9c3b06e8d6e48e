"""The machinery shared by every bulk endpoint and CSV import.

An `Ingester` validates rows (JSON items or CSV rows: the same field names) with one reused
DRF serializer — building a serializer per row costs five times more — and writes the valid
ones in bulk. Valid rows land even when others are invalid; each bad row is reported with its
position (`index` in a JSON list, `line` in a CSV file) and its per-field errors.

Apps register their ingesters (`registry.register(...)`).
"""

import functools
import re
import string
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import serializers

from ..i18n import deferred, deferred_format, translated_tree

MAX_BULK_ITEMS = 10_000


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)

    def as_dict(self):
        """The result as the bulk API answers it: each message in the active language."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": translated_tree(self.errors),
        }


def flatten_errors(detail):
    """DRF error detail → plain JSON (strings, lists, dicts)."""
    if isinstance(detail, dict):
        return {key: flatten_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [flatten_errors(value) for value in detail]
    return str(detail)


def field_errors(serializer, detail):
    """A row's validation errors as plain JSON (`flatten_errors`), each of Django REST
    framework's own field messages that quotes a value ("Ensure this field has no more than
    {max_length} characters.") kept as a deferred message: its English template and the
    values read back from the message, so that a stored import shows it in each reader's
    language rather than in the language the import ran in."""
    flat = flatten_errors(detail)
    if not isinstance(detail, dict):
        return flat
    for name, messages in detail.items():
        field = serializer.fields.get(name) if hasattr(serializer, "fields") else None
        if field is None or not isinstance(messages, list):
            continue
        flat[name] = [_field_message(field, message) or text
                      for message, text in zip(messages, flat[name], strict=True)]
    return flat


def _field_message(field, message):
    """The deferred form of one of `field`'s own messages, or None (not one of its templates,
    or one quoting nothing: that one is translated as it is)."""
    template = field.error_messages.get(getattr(message, "code", None))
    if template is None or "{" not in str(template):
        return None
    match = _template_pattern(str(template)).fullmatch(str(message))
    if match is None:
        return None
    with translation.override("en"):
        msgid = str(template)
    return deferred_format(msgid, **match.groupdict())


@functools.lru_cache(maxsize=256)
def _template_pattern(template):
    """A regex reading the values back out of `template` filled in ("{max_length}" → a
    group named max_length)."""
    pattern, seen = [], set()
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        pattern.append(re.escape(literal))
        if name is None:
            continue
        if not name.isidentifier():
            return re.compile(r"(?!)")  # a template that cannot be read back: never matches
        pattern.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return re.compile("".join(pattern), re.DOTALL)


def errors_text(errors):
    """{field: [messages]} → "field: message; other: message", for people to read (in the
    active language)."""
    errors = translated_tree(errors)
    return "; ".join(
        f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
        for field, msgs in errors.items()
    )


class Ingester:
    """Row errors are {field: [messages]}, each message a string or a deferred message
    (`abmcrm.core.i18n.deferred`): an import stores them to be translated for each reader,
    the bulk API answers them in the request's language (`IngestResult.as_dict`)."""

    # The docstring below says what subclasses set.

    """Subclasses set `kind`, `serializer_class`, `permission`, `columns`, `required_columns`
    and implement `write(valid_rows, user=...)`; they may override `prefetch`."""

    kind = ""
    label = ""
    serializer_class = None
    permission = ""
    columns = ()
    required_columns = ()
    # CSV columns holding lists, separated by ";" in a cell.
    list_columns = ()

    def unique_keys(self, data):
        """(field, value) pairs that may appear once per request or file."""
        return ()

    def prefetch(self, items):
        """Look up, in a few queries for the whole batch, what rows refer to. Returns context."""
        return {}

    def write(self, rows, *, user):
        """Write validated rows: a list of (position, data). Returns (created, updated,
        unchanged, errors) where errors is a list of (position, {field: [messages]})."""
        raise NotImplementedError

    def from_csv_row(self, row):
        """A CSV row (all strings) → an item: blank cells are left out (they change
        nothing), list columns are split on ';'."""
        item = {}
        for key, value in row.items():
            if key is None or key not in self.columns:
                continue
            value = (value or "").strip()
            if value == "":
                continue
            if key in self.list_columns:
                value = [part.strip() for part in value.split(";") if part.strip()]
            item[key] = value
        return item

    def ingest(self, items, *, user, positions=None, position_key="index", seen=None):
        """Validate and write items. `seen` carries the unique keys met so far across the
        batches of one file, so that a duplicate far down a file is still reported."""
        result = IngestResult()
        seen = {} if seen is None else seen
        if positions is None:
            positions = range(len(items))
        context = self.prefetch(items)
        context["user"] = user
        serializer = self.serializer_class(context=context)
        valid = []
        for position, item in zip(positions, items, strict=True):
            if not isinstance(item, dict):
                errors = {"non_field_errors": [_("Expected an object.")]}
                result.errors.append({position_key: position, "errors": errors})
                continue
            try:
                data = serializer.run_validation(item)
            except serializers.ValidationError as exc:
                result.errors.append({position_key: position,
                                      "errors": field_errors(serializer, exc.detail)})
                continue
            duplicate = self._duplicate(data, seen, position, position_key)
            if duplicate:
                result.errors.append({position_key: position, "errors": duplicate})
                continue
            valid.append((position, data))
        if valid:
            created, updated, unchanged, write_errors = self.write(valid, user=user)
            result.created += created
            result.updated += updated
            result.unchanged += unchanged
            for position, errors in write_errors:
                result.errors.append({position_key: position, "errors": errors})
        result.errors.sort(key=lambda error: error[position_key])
        return result

    def _duplicate(self, data, seen, position, position_key):
        keys = [(name, value) for name, value in self.unique_keys(data) if value]
        for name, value in keys:
            if (name, value) in seen:
                return {name: [deferred(
                    gettext_noop("Duplicate %(field)s “%(value)s”: already at %(where)s "
                                 "%(position)s."),
                    field=name, value=value, where=position_key,
                    position=seen[(name, value)])]}

        for key in keys:
            seen[key] = position
        return None
