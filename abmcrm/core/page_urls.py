from django.urls import path

from . import pages

urlpatterns = [
    path("imports/", pages.import_list, name="imports"),
    path("imports/<int:pk>/", pages.import_detail, name="import-page"),
]
