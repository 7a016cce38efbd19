"""Sign in to comment, on the status page's own address.

Served by the public URLconf (config/urls_public.py) on every address of a page: /s/<slug>/ on
the application host, <slug>.<STATUS_PAGE_DOMAIN> and verified custom domains, where the
application's cookies are not sent: the session made here belongs to that host.

The flows are allauth's, driven by thin views that render in the status page's own frame:
- "Enter your email to comment": the address's account, or a new one (no password, address
  unverified), gets allauth's login by code; entering the code signs in and verifies the address
  (allauth's LoginCodeVerificationProcess);
- a password, for accounts that have one;
- two-factor authentication when the account has it (allauth's MFA login stage, here too);
- staff signed in to the application are handed over with a single-use token
  (apps/accounts/handoff.py).
allauth's login stages redirect by URL name (`account_login`, `account_confirm_login_code`,
`mfa_authenticate`): `stage_urlpatterns` in urls_signin.py gives those names to these views.

The page frame (accent palette, time zone note) is the public site's; config/urls_public.py
passes its builder in as `frame`, because this app may not import that one (same floor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.forms import ConfirmLoginCodeForm, LoginForm
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.account.stages import LoginByCodeStage, LoginStageController
from allauth.account.utils import filter_users_by_email, has_verified_email
from allauth.core import ratelimit
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.stages import AuthenticateStage
from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts import handoff
from apps.accounts.adapter import consume_login_code_request
from apps.accounts.services import (
    create_commenter_account,
    forget_unverified_password,
    update_profile,
)
from apps.core.validators import TextRulesFormMixin
from apps.organizations.models import Organization
from apps.organizations.private_pages import refusal_note, user_may_read

from .rules import check_display_name
from .services import forum_settings

#: Builds the status page frame's context (apps.public.views_public.base_context).
PageFrame = Callable[[HttpRequest, Organization], dict[str, Any]]

RATE_LIMITED = gettext_lazy("Too many sign-in attempts from here. Wait a minute and try again.")
CODE_EXPIRED = gettext_lazy("Your sign-in code has expired. Enter your email to get a new one.")


class EmailForm(TextRulesFormMixin, forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class DisplayNameForm(TextRulesFormMixin, forms.Form):
    display_name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=80,
        help_text=gettext_lazy("Shown beside your comments. Your email address is never shown."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        self.organization = organization
        super().__init__(*args, **kwargs)

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise ValidationError(_("Enter the name to show beside your comments."))
        problem = check_display_name(name, self.organization)
        if problem:
            raise ValidationError(problem)
        return name


# --- helpers ------------------------------------------------------------------------------------


def page_root() -> str:
    return reverse("public:page")


def next_path(request: HttpRequest) -> str:
    """Where to go after signing in: `next` when it is a path on this very page (relative, on
    this host, below the page's root), otherwise the page's root. SECURITY: no open redirect."""
    raw = request.POST.get("next") or request.GET.get("next") or ""
    root = page_root()
    if (
        raw.startswith(root)
        and url_has_allowed_host_and_scheme(raw, allowed_hosts=None)
        and not raw.startswith("//")
        and "\\" not in raw
        and "/../" not in raw + "/"
    ):
        return raw
    return root


def with_next(url: str, target: str) -> str:
    return f"{url}?{urlencode({'next': target})}"


def is_staff(user: Any, organization: Organization) -> bool:
    return user.is_authenticated and handoff.is_member(user, organization)


def needs_display_name(user: Any, organization: Organization) -> bool:
    """A customer with no name, or one this organization refuses, is asked for one."""
    if handoff.is_member(user, organization):
        return False
    return not user.display_name or check_display_name(user.display_name, organization) is not None


def after_sign_in(user: Any, organization: Organization, target: str) -> str:
    if organization.is_private:
        # People sign in to a private page to read it: straight there (or, for an address it
        # does not let in, to the page that says whom it is for). Not asked for a name first:
        # their comments show the start of their address (forum.rules.customer_display_name)
        # until they choose one in their profile. (Whether the address lets them in cannot be
        # asked here anyway: a code sign-in verifies it only as it finishes.)
        return target
    if needs_display_name(user, organization):
        return with_next(reverse("public:signin-name"), target)
    return target


def offers_staff_handoff(request: HttpRequest) -> bool:
    """On a page's own host (not /s/<slug>/ of the application, whose cookies it shares)."""
    return handoff.page_organization(request.get_host()) is not None


def blocked_domain(organization: Organization, email: str) -> str | None:
    domain = email.rsplit("@", 1)[-1].lower()
    blocked = {d.lower() for d in forum_settings(organization).blocked_domains}
    return domain if domain in blocked else None


def page(
    request: HttpRequest,
    frame: PageFrame,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    return render(
        request,
        f"forum/signin/{template}",
        {
            **frame(request, organization),
            "next": next_path(request),
            # A private page's history and subscribe form refuse whoever is signing in: the
            # frame leaves those links out (templates/status/base_public.html).
            "reader_links": not organization.is_private,
            **(context or {}),
        },
        status=status,
    )


def email_page(
    request: HttpRequest,
    frame: PageFrame,
    form: EmailForm | None = None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    return page(
        request,
        frame,
        "email.html",
        {
            "form": form or EmailForm(),
            "error": error,
            "staff_handoff": offers_staff_handoff(request),
        },
        status=status,
    )


# --- views --------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signin(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """ "Enter your email to comment": starts allauth's login by code for the address's account,
    creating the account first when there is none."""
    organization: Organization = request.organization  # type: ignore[attr-defined]
    user = request.user
    if user.is_authenticated:
        if organization.is_private and not user_may_read(user, organization):
            # Sent here by TenantMiddleware: signed in, but not with an address this private
            # page lets in (apps/organizations/private_pages.py). Say whom it is for.
            return page(
                request, frame, "private.html", {"note": refusal_note(organization)}, status=403
            )
        return page(request, frame, "signed_in.html", {"is_staff": is_staff(user, organization)})
    if request.method != "POST":
        return email_page(request, frame)
    form = EmailForm(request.POST)
    if not form.is_valid():
        return email_page(request, frame, form, status=400)
    email = form.cleaned_data["email"]
    domain = blocked_domain(organization, email)
    if domain:
        form.add_error(
            "email",
            _(
                "Addresses at %(domain)s cannot be used to comment on the %(name)s status page. "
                "Use another address."
            )
            % {"domain": domain, "name": organization.name},
        )
        return email_page(request, frame, form, status=400)
    # The application's limits for asking for codes: per IP, per address and client, and per
    # address across clients (apps.accounts.adapter.consume_login_code_request).
    if not consume_login_code_request(request, email):
        return email_page(request, frame, form, error=RATE_LIMITED, status=429)
    users = filter_users_by_email(email, prefer_verified=True)
    account = users[0] if users else None
    if account is not None and not account.is_active:
        form.add_error("email", _("This account has been disabled and cannot sign in."))
        return email_page(request, frame, form, status=400)
    if account is None:
        if not ratelimit.consume(request, action="signup"):
            return email_page(request, frame, form, error=RATE_LIMITED, status=429)
        account = create_commenter_account(email)
    LoginCodeVerificationProcess.initiate(request=request, user=account, email=email)
    return redirect(with_next(reverse("public:signin-code"), next_path(request)))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm_code(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """Enter the mailed code: signs in on this host (and verifies the address)."""
    organization: Organization = request.organization  # type: ignore[attr-defined]
    target = next_path(request)
    if request.user.is_authenticated:
        return redirect(target)
    stage = LoginStageController.enter(request, LoginByCodeStage.key)
    process = LoginCodeVerificationProcess.resume(stage) if stage is not None else None
    if process is None:
        return email_page(request, frame, error=CODE_EXPIRED, status=400)
    email = process.state.get("email", "")
    context: dict[str, Any] = {"email": email, "can_resend": process.can_resend}
    if request.method != "POST":
        return page(request, frame, "code.html", {**context, "form": ConfirmLoginCodeForm()})
    if request.POST.get("action") == "resend":
        if process.can_resend and consume_login_code_request(request, email):
            process.resend()
            context.update(
                can_resend=process.can_resend,
                notice=_("We sent a new code to %(email)s.") % {"email": email},
            )
            return page(request, frame, "code.html", {**context, "form": ConfirmLoginCodeForm()})
        context["error"] = RATE_LIMITED
        return page(
            request, frame, "code.html", {**context, "form": ConfirmLoginCodeForm()}, status=429
        )
    form = ConfirmLoginCodeForm(request.POST, code=process.code)
    if not form.is_valid():
        if not process.record_invalid_attempt():
            return email_page(
                request,
                frame,
                error=_("That code was wrong too many times. Enter your email to get a new one."),
                status=400,
            )
        form.errors.pop("code", None)
        form.add_error("code", _("That code is not right. Check the latest mail and try again."))
        return page(request, frame, "code.html", {**context, "form": form}, status=400)
    user = process.user
    if not has_verified_email(user, email):
        # Whoever set this account's password never proved they own the address; the person
        # who just did is its owner now.
        forget_unverified_password(user)
    return process.finish(after_sign_in(user, organization, target))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """Sign in with a password, for accounts that have one."""
    organization: Organization = request.organization  # type: ignore[attr-defined]
    target = next_path(request)
    if request.user.is_authenticated:
        return redirect(target)
    form = LoginForm(request.POST or None, request=request)
    form.fields["login"].label = _("Email address")
    if "remember" in form.fields:
        form.fields["remember"].label = _("Keep me signed in on this page")
    if request.method != "POST":
        return page(request, frame, "password.html", {"form": form})
    if not ratelimit.consume(request, action="login"):
        form.add_error(None, RATE_LIMITED)
        return page(request, frame, "password.html", {"form": form}, status=429)
    if not form.is_valid():
        return page(request, frame, "password.html", {"form": form}, status=400)
    user = form.user
    email = form.cleaned_data["login"].lower()
    domain = blocked_domain(organization, email)
    if domain:
        form.add_error(
            None,
            _("Addresses at %(domain)s cannot be used to comment on the %(name)s status page.")
            % {"domain": domain, "name": organization.name},
        )
        return page(request, frame, "password.html", {"form": form}, status=400)
    if not has_verified_email(user, email):
        form.add_error(
            None,
            _(
                "This address is not confirmed yet. Sign in with an emailed code instead: "
                "entering it confirms the address."
            ),
        )
        return page(request, frame, "password.html", {"form": form}, status=400)
    return form.login(request, redirect_url=after_sign_in(user, organization, target))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """allauth's two-factor login stage, on the page host: an account with two-factor
    authentication needs its authenticator code here as on the application."""
    if request.user.is_authenticated:
        return redirect(next_path(request))
    stage = LoginStageController.enter(request, AuthenticateStage.key)
    if stage is None:
        return email_page(
            request, frame, error=_("Your sign-in has expired. Start again."), status=400
        )
    form = AuthenticateForm(request.POST or None, user=stage.login.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            return stage.exit()
        return page(request, frame, "two_factor.html", {"form": form}, status=400)
    return page(request, frame, "two_factor.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def display_name(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """ "How should we show your name?" after a customer's first sign-in on a page."""
    organization: Organization = request.organization  # type: ignore[attr-defined]
    target = next_path(request)
    user = request.user
    if not user.is_authenticated:
        return redirect(with_next(reverse("public:signin"), target))
    initial = {"display_name": user.display_name}  # type: ignore[union-attr]
    form = DisplayNameForm(request.POST or None, initial=initial, organization=organization)
    if request.method == "POST":
        if form.is_valid():
            update_profile(user, display_name=form.cleaned_data["display_name"])  # type: ignore[arg-type]
            return redirect(target)
        return page(request, frame, "display_name.html", {"form": form}, status=400)
    return page(request, frame, "display_name.html", {"form": form})


@require_POST
def signout(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """Signs out of this page's host (the session here; other hosts keep theirs)."""
    get_adapter(request).logout(request)
    return redirect(next_path(request))


@require_POST
def staff_start(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """ "Sign in as <organization> staff": to the application host, which sends a member back
    with a token (apps/accounts/handoff.py)."""
    target = next_path(request)
    if not offers_staff_handoff(request):
        # /s/<slug>/ on the application host: the application's session is this page's.
        return redirect(target)
    state = handoff.new_state()
    request.session[handoff.STATE_SESSION_KEY] = state
    return HttpResponseRedirect(handoff.start_url(request.get_host(), state, target))


@never_cache
@require_http_methods(["GET", "HEAD"])
def staff_return(request: HttpRequest, *, frame: PageFrame) -> HttpResponse:
    """The application host sent a member back with a token: sign them in here, once."""
    organization: Organization = request.organization  # type: ignore[attr-defined]
    state = request.session.pop(handoff.STATE_SESSION_KEY, None)
    try:
        redeemed = handoff.redeem(
            request.GET.get("token", ""),
            host=request.get_host(),
            organization=organization,
            state=state,
        )
    except handoff.HandoffError as error:
        return page(request, frame, "staff_refused.html", {"message": str(error)}, status=400)
    get_adapter(request).login(request, redeemed.user)
    return redirect(redeemed.next_path)
