from django.urls import path

from . import pages

urlpatterns = [
    path("accounts/<int:pk>/programs/", pages.account_programs, name="account-programs"),
    path("orders/approvals/", pages.order_approvals, name="order-approvals"),
]
