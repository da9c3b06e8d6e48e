"""Serializers of the core's own endpoints (imports) and of shapes every app answers."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from .. import ingest
from ..conf import settings
from ..models import ImportJob

# Representations built by hand: a list of 100 rows spent most of its time in DRF's
# per-field machinery (looking each attribute up, each field's to_representation). A
# serializer that builds its rows by hand uses these, which answer exactly what the DRF
# field of the same kind would (tests compare the two).
_DATETIME = serializers.DateTimeField()


def datetime_text(value):
    """A datetime as DRF's DateTimeField writes it (ISO 8601 in the current time zone)."""
    return _DATETIME.to_representation(value)


def decimal_text(value, *, places=2):
    """A Decimal as DRF's DecimalField with `places` decimal places writes it, or None."""
    return None if value is None else f"{value:.{places}f}"


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class ImportJobSerializer(serializers.ModelSerializer):
    """One import job, with its bad rows (the first 1,000; `error_count` counts them all)."""

    progress = serializers.FloatField(read_only=True)
    # Stored as msgids and values; each reader gets them in their language (Accept-Language).
    message = serializers.CharField(source="message_text", read_only=True)
    errors = serializers.JSONField(source="translated_errors", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "kind", "original_name", "status", "total_rows", "rows_done", "progress",
            "created", "updated", "error_count", "errors", "message", "attempts",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields


class ImportJobListSerializer(ImportJobSerializer):
    """An import job in a list: without its bad rows (up to 1,000 each; read them from the
    job itself), so that a page of jobs stays small."""

    class Meta(ImportJobSerializer.Meta):
        fields = [name for name in ImportJobSerializer.Meta.fields if name != "errors"]
        read_only_fields = fields


class ImportCreateSerializer(serializers.Serializer):
    kind = serializers.CharField()
    file = serializers.FileField()

    def validate_kind(self, value):
        if ingest.get_ingester(value) is None:
            raise serializers.ValidationError(
                _("Unknown kind “%(kind)s”; expected one of: %(kinds)s.")
                % {"kind": value, "kinds": ", ".join(ingest.kinds())}
            )
        return value

    def validate_file(self, value):
        if value.size > settings.ABMCRM_IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                _("The file is %(size)s MB; the largest accepted is %(limit)s MB. Split it and "
                  "upload the parts.")
                % {"size": value.size // (1024 * 1024),
                   "limit": settings.ABMCRM_IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        if value.size == 0:
            raise serializers.ValidationError(
                _("The file is empty: the first line must name the columns.")

            )
        return value
