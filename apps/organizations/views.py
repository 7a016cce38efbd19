"""Organization pages: home, creation, dashboard overview, team, invitations, domains, audit log
and settings. Dashboard views resolve the organization and role through `org_view`; every
write is a call to a function in services.py."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.adapter import INVITED_EMAIL_SESSION_KEY
from apps.accounts.two_factor import users_with_two_factor
from apps.core.links import absolute_url

from . import onboarding, services
from .forms import (
    AuditFilterForm,
    DeleteOrganizationForm,
    DomainForm,
    InviteForm,
    OrganizationCreateForm,
    OrganizationSettingsForm,
    PageAccessTokenForm,
    PageVisibilityForm,
    RoleForm,
    language_choices,
)
from .models import AuditEntry, Domain, Invitation, Membership, Organization, PageAccessToken
from .request_types import AuthenticatedRequest, OrgRequest
from .roles import Role
from .tenancy import org_view

AUDIT_PAGE_SIZE = 50


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- outside any organization -----------------------------------------------------------------


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return render(
        request,
        "organizations/home.html",
        {"memberships": memberships, "current_slug": request.session.get("current_org")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthenticatedRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(
                actor=request.user,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                timezone=form.cleaned_data["timezone"],
            )
        except ValidationError as exc:
            form.add_error("slug", exc)
        else:
            # Translators: %(name)s is the organization's name.
            text = _("%(name)s is ready. Here is what to do first.")
            messages.success(request, text % {"name": organization.name})
            return redirect("organizations:overview", organization.slug)
    return render(
        request,
        "organizations/create.html",
        {
            "form": form,
            # Where the page will answer, by the one link rule (apps.core.links): below /s/ on
            # SITE_URL, and on <slug>.<STATUS_PAGE_DOMAIN> with SITE_URL's port.
            "page_base": absolute_url("/s/"),
            "subdomain_tail": absolute_url("/", host=f"x.{settings.STATUS_PAGE_DOMAIN}")
            .split("://", 1)[1]
            .removeprefix("x")
            .rstrip("/"),
        },
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as exc:
        return render(
            request,
            "organizations/invitation_invalid.html",
            {"message": exc.message, "invitation": exc.invitation},
            status=exc.status,
        )
    organization = invitation.organization
    if not request.user.is_authenticated:
        # The account adapter sends the user back here after logging in or signing up.
        request.session["pending_invitation"] = token
        # Following a link mailed to this address proves control of it, so signing up with the
        # same address needs no second verification email; another address is still verified
        # (see AccountAdapter.is_email_verified).
        request.session[INVITED_EMAIL_SESSION_KEY] = invitation.email
        if request.method == "POST":
            return redirect("account_login")
        return render(
            request,
            "organizations/invitation_accept.html",
            {"invitation": invitation, "organization": organization},
        )
    existing = Membership.objects.filter(organization=organization, user=request.user).first()
    if request.method == "POST":
        try:
            services.accept_invitation(token, actor=request.user)
        except services.InvitationError as exc:
            return render(
                request,
                "organizations/invitation_invalid.html",
                {"message": exc.message, "invitation": exc.invitation},
                status=exc.status,
            )
        request.session.pop("pending_invitation", None)
        request.session.pop(INVITED_EMAIL_SESSION_KEY, None)
        if existing:
            # Translators: %(name)s is the organization's name.
            text = _("You were already a member of %(name)s.")
            messages.info(request, text % {"name": organization.name})
        else:
            # Translators: %(name)s is the organization's name.
            messages.success(request, _("Welcome to %(name)s.") % {"name": organization.name})
        return redirect("organizations:overview", organization.slug)
    return render(
        request,
        "organizations/invitation_accept.html",
        {
            "invitation": invitation,
            "organization": organization,
            "existing_membership": existing,
            "email_differs": request.user.email.lower() != invitation.email.lower(),
        },
    )


# --- dashboard --------------------------------------------------------------------------------


def _onboarding_steps(request: OrgRequest) -> list[dict]:
    organization = request.organization
    membership = request.membership
    slug = organization.slug
    member_count = Membership.objects.filter(organization=organization).count()
    pending_invites = [
        i
        for i in Invitation.objects.for_org(organization).filter(
            accepted_at__isnull=True, revoked_at__isnull=True
        )
        if not i.is_expired
    ]
    has_domain = Domain.objects.for_org(organization).filter(verified_at__isnull=False).exists()
    # The apps above contribute the first steps (components: apps.status.onboarding).
    steps = [
        *onboarding.contributed_steps(request),
        {
            "title": _("Invite your team"),
            "text": _(
                "Bring in the people who will post updates during an incident, so nobody "
                "waits for the one person with the password."
            ),
            "done": member_count > 1,
            "url": reverse("organizations:members", args=[slug]),
            "action": _("Invite people"),
            "note": (
                ngettext(
                    "%(count)s invitation waiting for an answer.",
                    "%(count)s invitations waiting for an answer.",
                    len(pending_invites),
                )
                % {"count": len(pending_invites)}
                if pending_invites and member_count <= 1
                else ""
            ),
        },
    ]
    if membership.can("domains.manage"):
        steps.append(
            {
                "title": _("Use your own domain (optional)"),
                "text": _(
                    "Serve the page on an address such as status.example.com, so "
                    "customers recognise it."
                ),
                "done": has_domain,
                "url": reverse("organizations:domains", args=[slug]),
                "action": _("Add a domain"),
            }
        )
    return steps


@org_view()
def overview(request: OrgRequest) -> HttpResponse:
    steps = _onboarding_steps(request)
    return render(
        request,
        "organizations/overview.html",
        {
            "org": request.organization,
            "steps": steps,
            "steps_done": sum(1 for s in steps if s["done"]),
        },
    )


def _member_rows(request: OrgRequest) -> list[dict]:
    organization = request.organization
    actor = request.membership
    owner_count = Membership.objects.filter(organization=organization, role=Role.OWNER).count()
    memberships = list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )
    with_two_factor = users_with_two_factor(m.user_id for m in memberships)
    rows = []
    for membership in memberships:
        is_self = membership.pk == actor.pk
        is_last_owner = membership.role == Role.OWNER and owner_count == 1
        touchable = actor.can("members.manage") and (
            membership.role != Role.OWNER or actor.can("members.manage_owners")
        )
        rows.append(
            {
                "membership": membership,
                "is_self": is_self,
                "is_last_owner": is_last_owner,
                "has_two_factor": membership.user_id in with_two_factor,
                "can_change_role": touchable and not is_last_owner,
                "can_remove": touchable and not is_self and not is_last_owner,
                "role_form": RoleForm(initial={"role": membership.role}, actor_role=actor.role),
            }
        )
    return rows


def _render_members(
    request: OrgRequest, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    organization = request.organization
    actor = request.membership
    can_manage = actor.can("members.manage")
    if invite_form is None and can_manage:
        invite_form = InviteForm(organization=organization, actor_role=actor.role)
    invitations = (
        Invitation.objects.for_org(organization)
        .filter(accepted_at__isnull=True)
        .select_related("invited_by")
        .order_by("-sent_at")[:100]
        if can_manage
        else []
    )
    rows = _member_rows(request)
    return render(
        request,
        "organizations/members.html",
        {
            "org": organization,
            "rows": rows,
            "two_factor_missing": sum(1 for row in rows if not row["has_two_factor"]),
            "invite_form": invite_form,
            "invitations": invitations,
            "can_manage": can_manage,
            "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        },
        status=status,
    )


@org_view("members.view")
def members(request: OrgRequest) -> HttpResponse:
    return _render_members(request)


@org_view("members.view", write_permission="members.manage")
@require_POST
def invite(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    form = InviteForm(request.POST, organization=organization, actor_role=request.membership.role)
    if not form.is_valid():
        return _render_members(request, invite_form=form, status=400)
    try:
        invitation = services.invite_member(
            organization,
            actor=request.principal,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as exc:
        form.add_error("email", exc)
        return _render_members(request, invite_form=form, status=400)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("organizations:members", organization.slug)


def _member_or_404(request: OrgRequest, membership_id: int) -> Membership:
    membership = (
        Membership.objects.for_org(request.organization)
        .select_related("user", "organization")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise Http404("No such member in this organization.")
    return membership


@org_view("members.view", write_permission="members.manage")
@require_POST
def change_role(request: OrgRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    form = RoleForm(request.POST, actor_role=request.membership.role)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles you are allowed to give."))
    else:
        try:
            services.change_member_role(
                membership, actor=request.principal, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            # Translators: %(email)s is a member's address, %(role)s a role in lower case
            # ("admin", "editor", "viewer").
            text = _("%(email)s is now %(role)s.")
            role = membership.get_role_display().lower()
            messages.success(request, text % {"email": membership.user.email, "role": role})
    return redirect("organizations:members", request.organization.slug)


@org_view("members.view", write_permission="members.manage")
@require_POST
def remove(request: OrgRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    try:
        services.remove_member(membership, actor=request.principal)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        text = _("%(email)s was removed from the organization.")
        messages.success(request, text % {"email": membership.user.email})
    return redirect("organizations:members", request.organization.slug)


# Leaving is the one write every role may do (a viewer must be able to leave), so it needs only
# org.view for both GET and POST.
@org_view("org.view")
@require_http_methods(["GET", "POST"])
def leave(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    owner_count = Membership.objects.filter(organization=organization, role=Role.OWNER).count()
    is_last_owner = request.membership.role == Role.OWNER and owner_count == 1
    if request.method == "POST":
        try:
            services.leave_organization(organization, actor=request.principal)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("organizations:leave", organization.slug)
        request.session.pop("current_org", None)
        # Translators: %(name)s is the organization's name.
        messages.success(request, _("You left %(name)s.") % {"name": organization.name})
        return redirect("orgs:home")
    return render(
        request,
        "organizations/leave.html",
        {"org": organization, "is_last_owner": is_last_owner},
    )


def _invitation_or_404(request: OrgRequest, invitation_id: str) -> Invitation:
    invitation = (
        Invitation.objects.for_org(request.organization)
        .select_related("organization")
        .filter(public_id=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation in this organization.")
    return invitation


@org_view("members.view", write_permission="members.manage")
@require_POST
def resend_invitation(request: OrgRequest, invitation_id: str) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        services.resend_invitation(invitation, actor=request.principal)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Invitation sent again to %(email)s. The previous link no longer works.")
            % {"email": invitation.email},
        )
    return redirect("organizations:members", request.organization.slug)


@org_view("members.view", write_permission="members.manage")
@require_POST
def revoke_invitation(request: OrgRequest, invitation_id: str) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        services.revoke_invitation(invitation, actor=request.principal)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        text = _("Invitation to %(email)s withdrawn.")
        messages.success(request, text % {"email": invitation.email})
    return redirect("organizations:members", request.organization.slug)


# --- custom domains ---------------------------------------------------------------------------


def _render_domains(
    request: OrgRequest, form: DomainForm | None = None, status: int = 200
) -> HttpResponse:
    organization = request.organization
    return render(
        request,
        "organizations/domains.html",
        {
            "org": organization,
            "form": form or DomainForm(organization=organization),
            "domains": Domain.objects.for_org(organization).order_by("hostname"),
            "cname_target": organization.subdomain_host,
        },
        status=status,
    )


@org_view("domains.manage")
@require_http_methods(["GET", "POST"])
def domains(request: OrgRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_domains(request)
    organization = request.organization
    form = DomainForm(request.POST, organization=organization)
    if not form.is_valid():
        return _render_domains(request, form, status=400)
    try:
        domain = services.add_domain(
            organization, actor=request.principal, hostname=form.cleaned_data["hostname"]
        )
    except ValidationError as exc:
        form.add_error("hostname", exc)
        return _render_domains(request, form, status=400)
    messages.success(
        request,
        _("%(hostname)s added. Publish the DNS records below, then verify.")
        % {"hostname": domain.hostname},
    )
    return redirect("organizations:domains", organization.slug)


def _domain_or_404(request: OrgRequest, domain_id: str) -> Domain:
    domain = (
        Domain.objects.for_org(request.organization)
        .select_related("organization")
        .filter(public_id=domain_id)
        .first()
    )
    if domain is None:
        raise Http404("No such domain in this organization.")
    return domain


@org_view("domains.manage")
@require_POST
def verify_domain(request: OrgRequest, domain_id: str) -> HttpResponse:
    domain = _domain_or_404(request, domain_id)
    if services.verify_domain(domain, actor=request.principal):
        text = _("%(hostname)s is verified and now serves your page.")
        messages.success(request, text % {"hostname": domain.hostname})
    else:
        # Translators: %(error)s is what the DNS check found, in English.
        text = _("%(hostname)s is not verified yet: %(error)s")
        messages.error(
            request, text % {"hostname": domain.hostname, "error": domain.last_check_error}
        )
    return redirect("organizations:domains", request.organization.slug)


@org_view("domains.manage")
@require_POST
def remove_domain(request: OrgRequest, domain_id: str) -> HttpResponse:
    domain = _domain_or_404(request, domain_id)
    services.remove_domain(domain, actor=request.principal)
    text = _("%(hostname)s removed. It no longer serves your page.")
    messages.success(request, text % {"hostname": domain.hostname})
    return redirect("organizations:domains", request.organization.slug)


# --- who can see the status page (apps/organizations/private_pages.py) -----------------------


def _render_page_access(
    request: OrgRequest,
    form: PageVisibilityForm,
    token_form: PageAccessTokenForm,
    *,
    new_secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = request.organization
    tokens = PageAccessToken.objects.for_org(organization).select_related("created_by")
    return render(
        request,
        "organizations/page_access.html",
        {
            "org": organization,
            "form": form,
            "token_form": token_form,
            "tokens": tokens,
            "new_secret": new_secret,
            "can_edit": request.membership.can("org.change_settings"),
            "page_url": organization.public_url,
        },
        status=status,
    )


def _visibility_form(request: OrgRequest, data: Any = None) -> PageVisibilityForm:
    organization = request.organization
    return PageVisibilityForm(
        data,
        initial={
            "visibility": organization.visibility,
            "allowed_domains": "\n".join(organization.allowed_email_domains),
        },
    )


@org_view("org.view", write_permission="org.change_settings")
@require_http_methods(["GET", "POST"])
def page_access(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    form = _visibility_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_page_visibility(
                organization,
                actor=request.principal,
                visibility=form.cleaned_data["visibility"],
                allowed_domains=form.cleaned_data["allowed_domains"],
            )
        except ValidationError as exc:
            organization.refresh_from_db()
            form.add_error(None, exc)
            return _render_page_access(request, form, PageAccessTokenForm(), status=400)
        messages.success(
            request,
            _("Your status page is private now.")
            if organization.is_private
            else _("Your status page is public."),
        )
        return redirect("organizations:page_access", organization.slug)
    status = 400 if request.method == "POST" else 200
    return _render_page_access(request, form, PageAccessTokenForm(), status=status)


@org_view("org.change_settings")
@require_POST
def create_page_token(request: OrgRequest) -> HttpResponse:
    token_form = PageAccessTokenForm(request.POST)
    if not token_form.is_valid():
        return _render_page_access(request, _visibility_form(request), token_form, status=400)
    try:
        _token, secret = services.create_page_access_token(
            request.organization, actor=request.principal, name=token_form.cleaned_data["name"]
        )
    except ValidationError as exc:
        token_form.add_error(None, exc)
        return _render_page_access(request, _visibility_form(request), token_form, status=400)
    # Shown once, on this response only (never stored, never put in a message cookie).
    return _render_page_access(
        request, _visibility_form(request), PageAccessTokenForm(), new_secret=secret
    )


@org_view("org.change_settings")
@require_POST
def revoke_page_token(request: OrgRequest, token_id: str) -> HttpResponse:
    token = (
        PageAccessToken.objects.for_org(request.organization)
        .select_related("organization")
        .filter(public_id=token_id)
        .first()
    )
    if token is None:
        raise Http404("No such token in this organization.")
    services.revoke_page_access_token(token, actor=request.principal)
    text = _("The token “%(name)s” is revoked. It no longer opens the page.")
    messages.success(request, text % {"name": token.name})
    return redirect("organizations:page_access", request.organization.slug)


# --- audit log --------------------------------------------------------------------------------


@org_view("audit.view")
def audit(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    entries = AuditEntry.objects.for_org(organization).select_related("actor")
    actions = sorted(
        AuditEntry.objects.for_org(organization).values_list("action", flat=True).distinct()
    )
    # Suggestions for the actor box: everyone who has done something here.
    actors = sorted(
        AuditEntry.objects.for_org(organization).values_list("actor_label", flat=True).distinct()
    )[:200]
    form = AuditFilterForm(request.GET or None, actions=actions)
    if form.is_valid():
        data = form.cleaned_data
        tz = organization.tzinfo
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["actor"]:
            entries = entries.filter(actor_label__icontains=data["actor"].strip())
        # Dates are days in the organization's time zone, inclusive at both ends.
        if data["since"]:
            entries = entries.filter(
                created_at__gte=datetime.combine(data["since"], time.min, tzinfo=tz)
            )
        if data["until"]:
            day_after = data["until"] + timedelta(days=1)
            entries = entries.filter(
                created_at__lt=datetime.combine(day_after, time.min, tzinfo=tz)
            )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "organizations/audit.html",
        {
            "org": organization,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "actors": actors,
            "filtered": any(request.GET.get(k) for k in ("action", "actor", "since", "until")),
        },
    )


# --- settings ---------------------------------------------------------------------------------


def _settings_form(request: OrgRequest, data: Any = None) -> OrganizationSettingsForm:
    organization = request.organization
    return OrganizationSettingsForm(
        data,
        initial={
            "name": organization.name,
            "timezone": organization.timezone,
            "require_two_factor": organization.require_two_factor,
            "default_language": organization.default_language,
            "languages": organization.offered_languages,
        },
        can_require_two_factor=request.membership.can("org.require_two_factor"),
    )


@org_view("org.view", write_permission="org.change_settings")
@require_http_methods(["GET", "POST"])
def settings_view(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    form = _settings_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                if "require_two_factor" in form.cleaned_data:
                    services.set_two_factor_requirement(
                        organization,
                        actor=request.principal,
                        required=form.cleaned_data["require_two_factor"],
                    )
                services.update_organization_settings(
                    organization,
                    actor=request.principal,
                    name=form.cleaned_data["name"],
                    timezone=form.cleaned_data["timezone"],
                )
                services.set_page_languages(
                    organization,
                    actor=request.principal,
                    default_language=form.cleaned_data["default_language"],
                    languages=form.cleaned_data["languages"],
                )
        except ValidationError as exc:
            # Nothing was saved (one transaction); the instance may hold the refused value.
            organization.refresh_from_db()
            form.add_error(None, exc)
            return _render_settings(
                request, form, DeleteOrganizationForm(organization=organization), status=400
            )
        messages.success(request, _("Settings saved."))
        return redirect("organizations:settings", organization.slug)
    return _render_settings(request, form, DeleteOrganizationForm(organization=organization))


def _two_factor_missing(organization: Organization) -> int:
    """How many members have no two-factor authentication yet (for the requirement's note)."""
    user_ids = list(
        Membership.objects.filter(organization=organization).values_list("user_id", flat=True)
    )
    return len(user_ids) - len(users_with_two_factor(user_ids))


def _render_settings(
    request: OrgRequest,
    form: OrganizationSettingsForm,
    delete_form: DeleteOrganizationForm,
    status: int = 200,
) -> HttpResponse:
    membership = request.membership
    organization = request.organization
    return render(
        request,
        "organizations/settings.html",
        {
            "org": organization,
            "form": form,
            "delete_form": delete_form,
            "can_edit": membership.can("org.change_settings"),
            "can_delete": membership.can("org.delete"),
            "can_export": membership.can("org.export"),
            "language_names": [
                name for code, name in language_choices() if code in organization.offered_languages
            ],
            "default_language_name": dict(language_choices()).get(
                organization.default_language, organization.default_language
            ),
            "two_factor_missing": (
                _two_factor_missing(organization) if organization.require_two_factor else 0
            ),
        },
        status=status,
    )


@org_view("org.delete")
@require_POST
def delete(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    delete_form = DeleteOrganizationForm(request.POST, organization=organization)
    if not delete_form.is_valid():
        return _render_settings(request, _settings_form(request), delete_form, status=400)
    name = organization.name
    services.delete_organization(
        organization, actor=request.principal, confirmation=delete_form.cleaned_data["confirmation"]
    )
    request.session.pop("current_org", None)
    # Translators: %(name)s is the organization's name.
    messages.success(request, _("%(name)s and everything in it was deleted.") % {"name": name})
    return redirect("orgs:home")
