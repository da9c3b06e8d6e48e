from django.urls import path

from . import pages

urlpatterns = [
    path("models/in-market/", pages.backtest, name="inmarket-backtest"),
]
