"""Operator admin. Staff support reads here; customer-facing changes go through services.py
(the dashboard), so the audit log stays complete. The audit log itself is read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry, Domain, Invitation, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("hostname", "verified_at", "last_checked_at", "last_check_error")
    readonly_fields = ("verified_at", "last_checked_at", "last_check_error")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "created_at")
    search_fields = ("name", "slug", "public_id")
    readonly_fields = ("public_id", "created_at", "updated_at", "content_version")
    inlines = (MembershipInline, DomainInline)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__slug")
    raw_id_fields = ("user", "organization")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "sent_at", "accepted_at", "revoked_at")
    search_fields = ("email", "organization__slug", "public_id")
    raw_id_fields = ("organization", "invited_by", "accepted_by")
    # SECURITY: the nonce is half of a working invitation link; never show it.
    exclude = ("nonce",)
    readonly_fields = ("public_id", "created_at", "sent_at", "accepted_at", "accepted_by")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("hostname", "organization", "verified_at", "last_checked_at")
    list_filter = (("verified_at", admin.EmptyFieldListFilter),)
    search_fields = ("hostname", "organization__slug")
    raw_id_fields = ("organization",)
    readonly_fields = ("public_id", "verification_token", "created_at", "last_checked_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "actor_label", "action", "target_label")
    list_filter = ("action",)
    search_fields = ("actor_label", "target_label", "organization__slug")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
