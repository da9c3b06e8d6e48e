from rest_framework import serializers

from .models import InMarketModel, TrainingJob


class InMarketModelSerializer(serializers.ModelSerializer):
    """A model version as the API lists it."""

    active = serializers.BooleanField(source="is_active", read_only=True)
    fallback = serializers.BooleanField(source="is_fallback", read_only=True)
    window = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()

    class Meta:
        model = InMarketModel
        fields = ["version", "kind", "active", "fallback", "trained_at", "window", "horizon_days",
                  "accounts", "rows", "positives", "needed_positives", "metrics", "features",
                  "note"]
        read_only_fields = fields

    def get_window(self, obj) -> dict:
        return {"start": obj.window_start, "end": obj.window_end}

    def get_metrics(self, obj) -> dict:
        metrics = obj.metrics or {}
        return {"auc": metrics.get("auc"), "lift_by_decile": metrics.get("lift_by_decile", []),
                "precision_at_10": metrics.get("precision_at_10"),
                "base_rate": metrics.get("base_rate"),
                "calibration": metrics.get("calibration", []),
                "sizes": metrics.get("sizes", {}), "windows": metrics.get("windows", {}),
                "candidates": metrics.get("candidates", {})}


class TrainingStartSerializer(serializers.Serializer):
    activate = serializers.BooleanField(
        required=False, default=True,
        help_text="Activate the new version by the rule (unless its holdout AUC is below the "
                  "active one's by more than the tolerance); false: store it inactive.")


class TrainingJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    version = serializers.IntegerField(source="model.version", read_only=True, allow_null=True,
                                       default=None)
    message = serializers.CharField(source="message_text", read_only=True)

    class Meta:
        model = TrainingJob
        fields = ["id", "status", "progress", "trigger", "activate", "done", "total", "result",
                  "version", "message", "attempts", "created_at", "started_at", "finished_at"]
        read_only_fields = fields
