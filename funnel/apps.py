from django.apps import AppConfig


class FunnelConfig(AppConfig):
    name = "funnel"
    label = "funnel"
    verbose_name = "Dual funnel"
    default_auto_field = "django.db.models.BigAutoField"
