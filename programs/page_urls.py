from django.urls import path

from . import fulfilment_pages

urlpatterns = [
    path("fulfillment/", fulfilment_pages.fulfilment_queue, name="fulfillment-queue"),
    path("fulfillment/<int:pk>/<str:action>/", fulfilment_pages.fulfilment_action,
         name="fulfillment-action"),
]
