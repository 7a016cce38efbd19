from __future__ import annotations

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    # "Sign in as <organization> staff" on a status page host starts here (handoff.py).
    path("page-handoff/", views.page_handoff, name="page_handoff"),
]
