"""A row serializer's validation loop, cut to the fields a row carries.

A bulk request validates up to 10,000 rows with one reused serializer (`base.Ingester`). DRF's
`Serializer.to_internal_value` visits every writable field of every row: it looks up the
field's `validate_<name>` method, reads the value, and runs the field's validation, which for
a field the row leaves out only ends in `SkipField`. A CRM row carries a few of a deal's
seventeen fields, so most of that work is skipping. `SparseRowsMixin` does the same in the
same order, but decides once per serializer which fields an absent key can only skip
(optional, no default, the base `get_value`), and skips them without a call.

The result is the same as DRF's for plain dicts (JSON items and CSV rows); anything else (a
QueryDict from an HTML form, a partial update) takes DRF's own loop.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.fields import Field, SkipField, empty, get_error_detail
from rest_framework.serializers import ValidationError


class SparseRowsMixin:
    """For a `serializers.Serializer` reused over many plain-dict rows."""

    def _row_plan(self):
        plan = getattr(self, "_sparse_row_plan", None)
        if plan is None:
            plan = self._sparse_row_plan = [
                (field.field_name, field, getattr(self, "validate_" + field.field_name, None),
                 # An absent key can only raise SkipField: optional, no default, and read
                 # the usual way (a list field's own get_value may differ).
                 not field.required and field.default is empty
                 and type(field).get_value is Field.get_value)
                for field in self._writable_fields]
        return plan

    def to_internal_value(self, data):
        if type(data) is not dict or getattr(self.root, "partial", False):
            return super().to_internal_value(data)
        ret, errors = {}, {}
        for name, field, validate_method, skip_when_absent in self._row_plan():
            if skip_when_absent and name not in data:
                continue
            try:
                value = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    value = validate_method(value)
            except ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                self.set_value(ret, field.source_attrs, value)
        if errors:
            raise ValidationError(errors)
        return ret
