from django.urls import path

from . import pages
from .fulfillment import pages as fulfillment_pages

urlpatterns = [
    path("accounts/<int:pk>/programs/", pages.account_programs, name="account-programs"),
    path("orders/", pages.order_list, name="order-list"),
    path("orders/approvals/", pages.order_approvals, name="order-approvals"),
    path("orders/<int:pk>/", pages.order_detail, name="order-detail"),
    path("orders/<int:pk>/cancel/", pages.order_cancel, name="order-cancel"),
    path("fulfillment/", fulfillment_pages.fulfillment_queue, name="fulfillment-queue"),
    path("fulfillment/<int:pk>/<str:action>/", fulfillment_pages.fulfillment_action,
         name="fulfillment-action"),
]
