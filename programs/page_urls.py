from django.urls import path

from . import fulfilment_pages, pages

urlpatterns = [
    path("accounts/<int:pk>/programs/", pages.account_programs, name="account-programs"),
    path("orders/", pages.order_list, name="order-list"),
    path("orders/approvals/", pages.order_approvals, name="order-approvals"),
    path("fulfillment/", fulfilment_pages.fulfilment_queue, name="fulfillment-queue"),
    path("fulfillment/<int:pk>/<str:action>/", fulfilment_pages.fulfilment_action,
         name="fulfillment-action"),
]
