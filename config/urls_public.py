"""A status page's URLs, served on its host or below /s/<slug>/ (see TenantMiddleware)."""

from django.urls import include, path

from apps.core import views as core_views
from apps.forum.urls_notify import notify_urlpatterns
from apps.forum.urls_signin import signin_urlpatterns, stage_urlpatterns
from apps.public import urls_public as public_urls
from apps.public.urls_public import subscription_urlpatterns
from apps.public.views_public import base_context

urlpatterns = [
    # Sign in to comment (apps/forum/urls_signin.py) shares the `public` namespace, rendered in
    # the page's own frame (base_context).
    path(
        "",
        include((public_urls.urlpatterns + signin_urlpatterns(frame=base_context), "public")),
    ),
    # The subscription pages live in apps.public but keep their `notifications:` URL names.
    path("", include((subscription_urlpatterns, "notifications"))),
    # The names allauth's login stages redirect to, so a sign-in stays on the page's host.
    path("", include(stage_urlpatterns(frame=base_context))),
    # The incident forum's actions on the incident page (namespace `forum`).
    path("", include("apps.forum.urls_public")),
    # One-click links of forum mail (mute a discussion, mute all of them).
    path("discussions/", include((notify_urlpatterns(frame=base_context), "forum_notify"))),
    path("healthz", core_views.healthz),
]

# Uploaded logos and favicons (see apps.core.views.branding_file); MEDIA_URL is /media/.
urlpatterns.append(
    path("media/branding/<str:folder>/<str:name>", core_views.branding_file, name="branding_file")
)
