from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from apps.organizations.models import Membership

from . import handoff
from .forms import ProfileForm
from .services import update_profile


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, initial={"display_name": user.display_name})
    if request.method == "POST" and form.is_valid():
        update_profile(user, display_name=form.cleaned_data["display_name"])
        messages.success(request, _("Profile saved."))
        return redirect("accounts:profile")
    return render(
        request,
        "account/profile.html",
        {
            "form": form,
            "emails": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
            "mfa_enabled": is_mfa_enabled(user),
            "memberships": Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name"),
        },
    )


# Set on the hand-off address a person is sent to sign in with first (see page_handoff).
AFTER_SIGN_IN = "after"


@never_cache
@require_safe
def page_handoff(request: HttpRequest) -> HttpResponse:
    """Signs a member in on their organization's status page host (apps/accounts/handoff.py):
    back to that host with a single-use token, or a page saying why not.

    Someone not signed in here signs in first and comes back. That return is the end of a
    chain of redirects started by the sign-in form, and browsers check every hop of a form's
    redirects against the form page's Content-Security-Policy `form-action`, which lists this
    host, not every status page host (custom domains are unbounded). So after a sign-in the
    last hop is a page that moves on by itself (meta refresh, with a link), not a redirect."""
    if not request.user.is_authenticated:
        query = request.GET.copy()
        query[AFTER_SIGN_IN] = "sign-in"
        return redirect_to_login(f"{request.path}?{query.urlencode()}")
    try:
        issued = handoff.issue(
            request.user,
            host=request.GET.get("host", ""),
            state=request.GET.get("state", ""),
            next_path=request.GET.get("next", "/"),
        )
    except handoff.HandoffError as error:
        return render(request, "account/page_handoff_refused.html", {"message": error}, status=403)
    if request.GET.get(AFTER_SIGN_IN):
        return render(request, "account/page_handoff_continue.html", {"url": issued.url})
    return redirect(issued.url)
