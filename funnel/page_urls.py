from django.urls import path

from . import pages

urlpatterns = [
    path("funnel/", pages.dashboard, name="funnel-dashboard"),
    path("funnel/table.csv", pages.table_csv, name="funnel-table-csv"),
]
