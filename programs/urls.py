from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("program-items", views.ProgramItemViewSet, basename="program-item")
router.register("orders", views.OrderViewSet, basename="order")
router.register("budgets", views.BudgetViewSet, basename="budget")

urlpatterns = [
    path("accounts/<int:pk>/menu/", views.AccountMenuView.as_view(), name="account-menu"),
    *router.urls,
]
