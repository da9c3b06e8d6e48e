from django.urls import path

from . import pages

urlpatterns = [
    path("pipeline/", pages.pipeline, name="pipeline"),
    path("pipeline/<int:pk>/move/", pages.move, name="pipeline-move"),
    path("pipeline/attribution.csv", pages.attribution_csv, name="pipeline-attribution-csv"),
]
