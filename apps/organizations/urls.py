from django.urls import path

from . import views

app_name = "orgs"

# Routes outside any one organization.
urlpatterns = [
    path("dashboard/", views.home, name="home"),
]
