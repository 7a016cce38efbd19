"""Sign in to comment, on a status page (views_signin.py), mounted by config/urls_public.py.

`signin_urlpatterns` go in the `public` namespace (`public:signin`, ...). `stage_urlpatterns`
give the same views the plain names allauth's login stages redirect to (`account_login`,
`account_confirm_login_code`, `mfa_authenticate`), so a stage reached on a page host stays on
it. Both take the page frame's builder (see views_signin).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_signin as views
from .views_signin import PageFrame


def signin_urlpatterns(frame: PageFrame) -> list[URLPattern]:
    frame_kwargs = {"frame": frame}
    return [
        path("signin/", views.signin, frame_kwargs, name="signin"),
        path("signin/code/", views.confirm_code, frame_kwargs, name="signin-code"),
        path("signin/password/", views.password, frame_kwargs, name="signin-password"),
        path("signin/two-factor/", views.two_factor, frame_kwargs, name="signin-two-factor"),
        path("signin/name/", views.display_name, frame_kwargs, name="signin-name"),
        path("signin/staff/", views.staff_start, frame_kwargs, name="signin-staff"),
        path("signin/staff/return/", views.staff_return, frame_kwargs, name="signin-staff-return"),
        path("signout/", views.signout, frame_kwargs, name="signout"),
    ]


def stage_urlpatterns(frame: PageFrame) -> list[URLPattern]:
    frame_kwargs = {"frame": frame}
    return [
        path("signin/", views.signin, frame_kwargs, name="account_login"),
        path("signin/code/", views.confirm_code, frame_kwargs, name="account_confirm_login_code"),
        path("signin/two-factor/", views.two_factor, frame_kwargs, name="mfa_authenticate"),
    ]
