from django.urls import path

from . import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("accounts/", pages.account_list, name="account-list"),
    path("accounts/<int:pk>/", pages.account_detail, name="account-detail"),
    path("accounts/<int:pk>/tier/", pages.account_tier, name="account-tier"),
    path("icp/", pages.icp_editor, name="icp-editor"),
    path("icp/count/", pages.icp_count, name="icp-count"),
    path("icp/criteria/<int:pk>/delete/", pages.icp_criterion_delete, name="icp-criterion-delete"),
    path("icp/suggestions/apply/", pages.icp_suggestion_apply, name="icp-suggestion-apply"),
    path("icp/rescore/", pages.icp_rescore, name="icp-rescore"),
]
