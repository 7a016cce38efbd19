"""Read-mostly admin for support staff. Changes go through the dashboard (services), so status,
history and uptime fields are read-only here: editing them by hand would desynchronise the
uptime rollups."""

from __future__ import annotations

from django.contrib import admin

from .models import Component, ComponentGroup, ComponentStatusChange, UptimeDay


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "position", "public_id"]
    list_filter = ["organization"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "group", "status", "position", "public_id"]
    list_filter = ["status", "organization"]
    search_fields = ["name", "public_id"]
    list_select_related = ["organization", "group"]
    readonly_fields = ["public_id", "status", "uptime_accounted_until", "created_at", "updated_at"]


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["component", "from_status", "to_status", "changed_at", "actor_label"]
    list_filter = ["to_status"]
    list_select_related = ["component"]
    date_hierarchy = "changed_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UptimeDay)
class UptimeDayAdmin(admin.ModelAdmin):
    list_display = ["component", "date", "worst_status", "closed"]
    list_filter = ["closed", "worst_status"]
    list_select_related = ["component"]
    date_hierarchy = "date"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
