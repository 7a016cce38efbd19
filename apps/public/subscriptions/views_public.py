"""Subscribe, confirm, manage and unsubscribe on an organization's public status page.

No login: links carry an HMAC token (apps.notifications.tokens). Nothing is sent to an address
before its owner confirms; subscribe attempts are rate-limited per IP and per address so the
form cannot be used to bomb a third party's inbox.

These pages render inside the status page's own frame (apps.public.views_public.base_context), so
they live in the public site; every write goes through apps.notifications.services. Their URL
names keep the `notifications:` namespace (apps.public.urls_public.subscription_urlpatterns).
"""

from __future__ import annotations

import hashlib

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core import i18n
from apps.notifications import services, tokens
from apps.notifications.addresses import DISPOSABLE_DOMAINS
from apps.notifications.models import Subscriber
from apps.organizations.middleware import client_ip
from apps.organizations.private_pages import may_receive_updates
from apps.status.models import Component

from ..views_public import base_context

Channel = Subscriber.Channel

# Per hour. An address (or URL) gets at most a few confirmation mails, whoever asks.
RATE_LIMIT_PER_IP = 20
RATE_LIMIT_PER_TARGET = 3
RATE_LIMIT_WINDOW = 3600


def rate_limited(request: HttpRequest, target: str) -> bool:
    """True when this IP or this address/URL asked too often in the last hour."""
    organization = request.organization
    target_hash = hashlib.sha256(target.strip().lower().encode()).hexdigest()[:32]
    keys = [
        (f"notifications:subscribe:ip:{client_ip(request)}", RATE_LIMIT_PER_IP),
        (f"notifications:subscribe:to:{organization.pk}:{target_hash}", RATE_LIMIT_PER_TARGET),
    ]
    limited = False
    for key, limit in keys:
        cache.add(key, 0, RATE_LIMIT_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, RATE_LIMIT_WINDOW)
            count = 1
        limited = limited or count > limit
    return limited


def component_choices(organization) -> list:
    """Components in page order: top-level ones first, then each group as an optgroup."""
    components = Component.objects.for_org(organization).select_related("group")
    top_level: list = []
    groups: dict[str, list] = {}

    def page_order(c: Component) -> tuple[int, int, int]:
        return (c.group.position if c.group else -1, c.group_id or 0, c.position)

    for component in sorted(components, key=page_order):
        choice = (component.public_id, component.name)
        if component.group is None:
            top_level.append(choice)
        else:
            groups.setdefault(component.group.name, []).append(choice)
    return top_level + list(groups.items())


class ComponentChoiceMixin(forms.Form):
    components = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Components"),
        help_text=gettext_lazy("Leave all unticked to hear about every component."),
    )

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["components"].choices = component_choices(organization)


class EmailForm(ComponentChoiceMixin):
    email = forms.EmailField(label=gettext_lazy("Email address"), max_length=254)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email.rsplit("@", 1)[-1] in DISPOSABLE_DOMAINS:
            raise ValidationError(_("Please use a permanent address: this one is disposable."))
        return email


class WebhookForm(ComponentChoiceMixin):
    url = forms.URLField(label=gettext_lazy("Endpoint URL"), max_length=2000, assume_scheme="https")
    email = forms.EmailField(
        label=gettext_lazy("Email for failure notices"),
        max_length=254,
        help_text=gettext_lazy("We write here if your endpoint keeps failing and we stop sending."),
    )

    def clean_url(self) -> str:
        return services.validate_hook_url(self.cleaned_data["url"], Channel.WEBHOOK)


class SlackForm(ComponentChoiceMixin):
    url = forms.URLField(
        label=gettext_lazy("Slack incoming-webhook URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=gettext_lazy("It starts with https://hooks.slack.com/"),
    )

    def clean_url(self) -> str:
        return services.validate_hook_url(self.cleaned_data["url"], Channel.SLACK)


class LanguageForm(forms.Form):
    """The language a subscriber's mail is written in, among those the page offers."""

    language = forms.ChoiceField(label=gettext_lazy("Language of your messages"))

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = i18n.names()
        # Each language in its own name ("Deutsch"), as the page's switcher shows it.
        self.fields["language"].choices = [
            (code, names[code]) for code in organization.offered_languages
        ]


FORMS = {Channel.EMAIL: EmailForm, Channel.WEBHOOK: WebhookForm, Channel.SLACK: SlackForm}


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(
        request,
        f"notifications/public/{template}",
        # The status page's own frame: accent palette, timezone note (views_public.base_context).
        {**base_context(request, request.organization), **context},
        status=status,
    )


def invalid_link(request: HttpRequest) -> HttpResponse:
    # Same answer for tampered, revoked and unknown links.
    return _page(request, "invalid_link.html", {}, status=404)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    forms_by_channel = {
        channel: form_class(organization=organization, prefix=channel)
        for channel, form_class in FORMS.items()
    }
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        form_class = FORMS.get(channel)
        if form_class is None:
            return _page(request, "subscribe.html", {"forms": forms_by_channel}, status=400)
        form = form_class(request.POST, organization=organization, prefix=channel)
        forms_by_channel[channel] = form
        # Only allowed readers reach a private page's form (TenantMiddleware); the updates they
        # sign up for must go to an address the page would let in too, not to anyone's inbox.
        if (
            form.is_valid()
            and channel == Channel.EMAIL
            and organization.is_private
            and not may_receive_updates(request, organization, form.cleaned_data["email"])
        ):
            form.add_error(
                "email",
                _(
                    "This status page is private: subscribe an address at an allowed domain, "
                    "or your own."
                ),
            )
        if form.is_valid():
            target = form.cleaned_data.get("email") or ""
            if channel != Channel.EMAIL:
                target = form.cleaned_data["url"]
            if rate_limited(request, target):
                form.add_error(None, _("Too many attempts. Please try again in an hour."))
                return _page(request, "subscribe.html", {"forms": forms_by_channel}, status=429)
            components = form.cleaned_data["components"]
            if channel == Channel.EMAIL:
                # SECURITY: the same page for every address, new, waiting or subscribed; each
                # gets a mail (a confirmation, or "already subscribed" with its manage link),
                # so the page is true without saying which case it was.
                services.subscribe_email(
                    organization,
                    email=form.cleaned_data["email"],
                    component_ids=components,
                    notify_if_subscribed=True,
                    # The page's language (TenantMiddleware activated it): their mail's.
                    language=translation.get_language(),
                )
                return _page(request, "check_inbox.html", {"email": form.cleaned_data["email"]})
            try:
                subscriber = services.subscribe_hook(
                    organization,
                    channel=channel,
                    url=form.cleaned_data["url"],
                    email=form.cleaned_data.get("email", ""),
                    component_ids=components,
                    language=translation.get_language(),
                )
            except ValidationError as exc:
                form.add_error("url", exc)
                return _page(request, "subscribe.html", {"forms": forms_by_channel}, status=400)
            return _page(
                request,
                "hook_added.html",
                {"subscriber": subscriber, "manage_url": tokens.manage_url(subscriber)},
            )
        return _page(request, "subscribe.html", {"forms": forms_by_channel}, status=400)
    # The outage page's form (apps/public/down.py) arrives here with ?email=: the address is
    # filled in and its owner confirms with the form's own (CSRF-protected) button.
    email = request.GET.get("email", "").strip()[:254]
    if email:
        forms_by_channel[Channel.EMAIL] = EmailForm(
            organization=organization, prefix=Channel.EMAIL, initial={"email": email}
        )
    return _page(request, "subscribe.html", {"forms": forms_by_channel})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST confirms: link scanners that prefetch the GET confirm nothing."""
    subscriber = tokens.subscriber_for_token(request.organization, token)
    if subscriber is None or subscriber.channel != Channel.EMAIL:
        return invalid_link(request)
    if request.method == "POST":
        services.confirm_subscriber(subscriber)
        return _page(
            request,
            "confirmed.html",
            {"subscriber": subscriber, "manage_url": tokens.manage_url(subscriber)},
        )
    return _page(request, "confirm.html", {"subscriber": subscriber})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = tokens.subscriber_for_token(request.organization, token)
    if subscriber is None:
        return invalid_link(request)
    organization = request.organization
    # Two forms on the page, each with its own button: the language one posts `language`.
    language_post = request.method == "POST" and "language" in request.POST
    initial = {"components": list(subscriber.components.values_list("public_id", flat=True))}
    form = ComponentChoiceMixin(
        request.POST if request.method == "POST" and not language_post else None,
        organization=organization,
        initial=initial,
    )
    language_form = LanguageForm(
        request.POST if language_post else None,
        organization=organization,
        initial={"language": i18n.supported(subscriber.language)},
    )
    saved = language_saved = False
    status = 200
    if language_post:
        if language_form.is_valid():
            services.set_language(subscriber, language_form.cleaned_data["language"])
            language_saved = True
        else:
            status = 400
    elif request.method == "POST" and form.is_valid():
        services.set_components(subscriber, form.cleaned_data["components"])
        saved = True
    return _page(
        request,
        "manage.html",
        {
            "subscriber": subscriber,
            "form": form,
            "saved": saved,
            "language_form": language_form,
            "language_saved": language_saved,
            "language_name": i18n.names().get(i18n.supported(subscriber.language), ""),
            "unsubscribe_url": tokens.unsubscribe_url(subscriber),
        },
        status=status,
    )


# SECURITY: csrf_exempt because RFC 8058 one-click POSTs come from the mailbox provider with
# no cookies; the unguessable token in the URL is the authorisation, and the only effect is
# to stop mail. A GET never unsubscribes (scanners prefetch links).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = tokens.subscriber_for_token(request.organization, token)
    if subscriber is None:
        return invalid_link(request)
    if request.method == "POST":
        # Idempotent and always 200 (RFC 8058: no redirects).
        services.unsubscribe(subscriber)
        return _page(request, "unsubscribed.html", {"subscriber": subscriber})
    return _page(request, "unsubscribe.html", {"subscriber": subscriber, "token": token})
