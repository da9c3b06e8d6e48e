from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views
from .fulfillment import views as fulfillment_views

router = DefaultRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("program-items", views.ProgramItemViewSet, basename="program-item")
router.register("orders", views.OrderViewSet, basename="order")
# Only detail actions (claim, complete, fail, retry): it shares the `orders` prefix with the
# order CRUD viewset without colliding.
router.register("orders", fulfillment_views.OrderFulfillmentViewSet, basename="order-fulfillment")
router.register("budgets", views.BudgetViewSet, basename="budget")

urlpatterns = [
    path("accounts/<int:pk>/menu/", views.AccountMenuView.as_view(), name="account-menu"),
    *router.urls,
    path("providers/<slug:name>/webhook/", fulfillment_views.ProviderWebhookView.as_view(),
         name="provider-webhook"),
]
