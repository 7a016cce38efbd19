from __future__ import annotations

from django.urls import path

from . import views

app_name = "account_privacy"

# Below /accounts/
urlpatterns = [
    path("delete/", views.delete_account, name="delete_account"),
]
