from django.urls import path

from . import pages

urlpatterns = [
    path("plays/", pages.play_list, name="play-list"),
    path("plays/<int:pk>/", pages.play_edit, name="play-edit"),
    path("notifications/", pages.notification_preferences, name="notification-preferences"),
]
