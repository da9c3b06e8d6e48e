from django.urls import path

from . import pages

urlpatterns = [
    path("models/in-market/", pages.backtest, name="inmarket-backtest"),
    path("models/in-market/train/", pages.backtest_train, name="inmarket-backtest-train"),
    path("models/in-market/<int:version>/activate/", pages.backtest_activate,
         name="inmarket-backtest-activate"),
]
