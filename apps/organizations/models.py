from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from apps.core.ids import PublicIdField
from apps.core.links import absolute_url
from apps.core.validators import reject_spoofing_characters

from .roles import Role, has_permission

if TYPE_CHECKING:
    from .principals import Principal

TIMEZONE_CHOICES = sorted(
    (tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz or tz == "UTC"
)

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    "Use 1 to 40 lowercase letters, digits or hyphens; start and end with a letter or digit.",
)
color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #2563eb.")


# Slugs that would collide with our own hosts or paths on <slug>.<STATUS_PAGE_DOMAIN>.
ALL_LANGUAGES = [code for code, _name in settings.LANGUAGES]


def all_languages() -> list[str]:
    """A new page offers every language Candor has a catalog for."""
    return list(ALL_LANGUAGES)


RESERVED_SLUGS = frozenset(
    {
        "www", "api", "app", "admin", "dashboard", "static", "media", "mail", "status", "help",
        "support", "docs", "blog", "s", "hooks", "accounts", "login", "signup", "new", "demo-admin",
        "healthz", "readyz", "candor", "billing", "security", "abuse", "root", "ftp", "smtp",
    }
)  # fmt: skip


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public: anyone with the address")
    PRIVATE = "private", _("Private: signed-in people at allowed email domains, and access tokens")


class BannerPosition(models.TextChoices):
    TOP = "top", _("Top of the page")
    BOTTOM = "bottom", _("Bottom of the page")


class Organization(models.Model):
    public_id = PublicIdField()
    name = models.CharField(max_length=100, validators=[reject_spoofing_characters])
    slug = models.SlugField(max_length=40, unique=True, validators=[slug_validator])
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped (on commit) by every service that changes what the public page shows; part of the
    # public page's cache key.
    content_version = models.PositiveBigIntegerField(default=1)

    # Branding of the public page.
    logo = models.ImageField(upload_to="branding/logos/", blank=True)
    favicon = models.ImageField(upload_to="branding/favicons/", blank=True)
    accent_color = models.CharField(max_length=7, default="#2563eb", validators=[color_validator])
    website_url = models.URLField(blank=True)
    support_url = models.URLField(blank=True)
    footer_text = models.CharField(max_length=200, blank=True)

    # The banner embed.js shows on the organization's own site (apps/public/embed.py). Defaults
    # in the database too: code that inserts organizations through an older model state (data
    # migrations, migration tests) must still work.
    banner_position = models.CharField(
        max_length=6,
        choices=BannerPosition.choices,
        default=BannerPosition.TOP,
        db_default=BannerPosition.TOP,
    )
    banner_background = models.CharField(
        max_length=7, default="#1e293b", db_default="#1e293b", validators=[color_validator]
    )
    banner_text_color = models.CharField(
        max_length=7, default="#ffffff", db_default="#ffffff", validators=[color_validator]
    )

    # Members must have two-factor authentication to use the dashboard (apps/organizations/
    # tenancy.py sends those without it to set it up). Owners set it; API keys are not people
    # and are unaffected.
    require_two_factor = models.BooleanField(default=False, db_default=False)

    # A private status page (apps/organizations/private_pages.py, enforced by TenantMiddleware)
    # is shown only to members, to people signed in on the page's host with a verified address
    # at one of these domains (one per line, lowercase, exact match), and to holders of a
    # PageAccessToken. Everything else about the page (API, feeds, embed, badge, forum) follows.
    visibility = models.CharField(
        max_length=7,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        db_default=Visibility.PUBLIC,
    )
    private_email_domains = models.TextField(blank=True, default="", db_default="")

    # The languages the public page speaks (apps/core/i18n.py): readers get the one their
    # switcher cookie or Accept-Language picks among `languages`, else `default_language`.
    # Stored as codes in Candor's order, the default always among them (i18n.clean_offered).
    default_language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="en", db_default="en"
    )
    languages = models.JSONField(default=all_languages, db_default=ALL_LANGUAGES)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    @property
    def offered_languages(self) -> list[str]:
        """`languages` as readers are offered them: known codes, the default among them."""
        from apps.core.i18n import clean_offered

        return clean_offered(self.languages or [], self.default_language)

    @property
    def allowed_email_domains(self) -> list[str]:
        return [line for line in self.private_email_domains.split() if line]

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def subdomain_host(self) -> str:
        return f"{self.slug}.{settings.STATUS_PAGE_DOMAIN}"

    @property
    def subdomain_url(self) -> str:
        """The status page on <slug>.<STATUS_PAGE_DOMAIN> (scheme and port of SITE_URL)."""
        return absolute_url("/", host=self.subdomain_host)

    @property
    def public_path_url(self) -> str:
        """The status page below /s/<slug>/ on the application host: works wherever SITE_URL
        does, so the dashboard links to it."""
        return absolute_url(f"/s/{self.slug}/")

    @cached_property
    def public_url(self) -> str:
        """Canonical status page URL: the verified custom domain if any, else the path URL.

        Links in mail, feeds, webhooks and summary.json use it; apps.core.links says how each
        form is built. One query per instance (mail, feeds and pages ask for it many times);
        an instance lives for one request or task, and a domain change reaches the next one."""
        domain = self.domains.filter(verified_at__isnull=False).order_by("created_at").first()
        if domain:
            return absolute_url("/", host=domain.hostname)
        return self.public_path_url


class OrgQuerySet(models.QuerySet):
    # Self, so a subclass's own methods stay visible after it (for_org(org).maintenances()).
    def for_org(self, organization: Organization) -> Self:
        return self.filter(organization=organization)


class OrgOwnedModel(models.Model):
    """Base for every row that belongs to one organization. Fetch through `.for_org(org)`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True


class MembershipQuerySet(OrgQuerySet):
    def owners(self) -> MembershipQuerySet:
        return self.filter(role=Role.OWNER)


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=dj_timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class Invitation(models.Model):
    public_id = PublicIdField()
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Rotated on resend, so an older link stops working.
    nonce = models.CharField(max_length=64, default=new_nonce)
    created_at = models.DateTimeField(default=dj_timezone.now)
    sent_at = models.DateTimeField(default=dj_timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def expires_at(self) -> datetime:
        return self.sent_at + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return dj_timezone.now() >= self.expires_at

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "pending"


class Domain(models.Model):
    """A custom hostname for an organization's status page. Routes only once verified."""

    public_id = PublicIdField()
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True)
    verification_token = models.CharField(max_length=64, default=secrets.token_hex)
    created_at = models.DateTimeField(default=dj_timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=200, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @property
    def txt_record_name(self) -> str:
        return f"{settings.DOMAIN_VERIFICATION_PREFIX}.{self.hostname}"

    @property
    def txt_record_value(self) -> str:
        return f"candor-verification={self.verification_token}"


PAGE_TOKEN_PREFIX = "cpt_"  # noqa: S105 - a public prefix, not a secret


def hash_page_token(secret: str) -> str:
    # 32 random bytes: a fast hash is enough (nothing to brute-force), and it lets the check
    # look the token up by hash in one indexed query (as API keys do, apps/integrations).
    return hashlib.sha256(secret.encode()).hexdigest()


class PageAccessTokenQuerySet(OrgQuerySet):
    def active(self) -> PageAccessTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class PageAccessToken(models.Model):
    """Lets a script (a monitor, a feed reader, a calendar) read a private status page.

    Read-only by nature: it opens the page's public URLs of its own organization and nothing
    else. The secret is shown once at creation; only its SHA-256 is stored."""

    public_id = PublicIdField()
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="page_access_tokens"
    )
    name = models.CharField(max_length=100, validators=[reject_spoofing_characters])
    # The first characters of the secret, shown in lists so people can tell tokens apart.
    prefix = models.CharField(max_length=16)
    hashed_token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PageAccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_secret() -> str:
        return PAGE_TOKEN_PREFIX + secrets.token_urlsafe(32)


class AuditEntry(models.Model):
    """One staff action: who did what to which object, when, from where."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept when the user is deleted, and used for API keys and system actors.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"

    @classmethod
    def record(
        cls,
        organization: Organization,
        *,
        actor: Principal,
        action: str,
        target: models.Model | None = None,
        data: dict | None = None,
    ) -> AuditEntry:
        """Record what `actor` did; the principal names itself (audit_user, audit_label), and
        code acting alone passes System("<label>")."""
        from .context import current_ip

        user, label = actor.audit_user, actor.audit_label
        return cls.objects.create(
            organization=organization,
            actor=user,
            actor_label=label,
            action=action,
            target_type=(target._meta.model_name or "") if target is not None else "",
            target_id=str(getattr(target, "public_id", None) or getattr(target, "pk", "") or ""),
            target_label=str(target)[:200] if target is not None else "",
            ip_address=current_ip.get(),
            data=data or {},
        )
