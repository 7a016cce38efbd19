from __future__ import annotations

from django.urls import path

from . import views

app_name = "organizations"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("", views.overview, name="overview"),
    path("team/", views.members, name="members"),
    path("team/invite/", views.invite, name="invite"),
    path("team/leave/", views.leave, name="leave"),
    path("team/<int:membership_id>/role/", views.change_role, name="change_role"),
    path("team/<int:membership_id>/remove/", views.remove, name="remove_member"),
    path(
        "team/invitations/<str:invitation_id>/resend/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "team/invitations/<str:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("domains/", views.domains, name="domains"),
    path("domains/<str:domain_id>/verify/", views.verify_domain, name="verify_domain"),
    path("domains/<str:domain_id>/remove/", views.remove_domain, name="remove_domain"),
    path("audit/", views.audit, name="audit"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/delete/", views.delete, name="delete"),
    path("settings/visibility/", views.page_access, name="page_access"),
    path("settings/visibility/tokens/", views.create_page_token, name="create_page_token"),
    path(
        "settings/visibility/tokens/<str:token_id>/revoke/",
        views.revoke_page_token,
        name="revoke_page_token",
    ),
]
