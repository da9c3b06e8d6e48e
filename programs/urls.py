from django.urls import path
from rest_framework.routers import DefaultRouter

from . import fulfilment_views

router = DefaultRouter()
# Only detail actions (claim, complete, fail, retry): it shares the `orders` prefix with the
# order CRUD viewset without colliding.
router.register("orders", fulfilment_views.OrderFulfilmentViewSet, basename="order-fulfilment")

urlpatterns = router.urls + [
    path("providers/<slug:name>/webhook/", fulfilment_views.ProviderWebhookView.as_view(),
         name="provider-webhook"),
]
