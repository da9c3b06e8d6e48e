from django.urls import path

from . import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("accounts/", pages.account_list, name="account-list"),
    path("accounts/<int:pk>/", pages.account_detail, name="account-detail"),
    path("accounts/<int:pk>/tier/", pages.account_tier, name="account-tier"),
]
