"""Django admin: a read-mostly window for superusers. Policy admins work in the portal's own pages,
where every change is validated by the engine and recorded in the change history."""
from django.contrib import admin

from .models import PolicyChange, PolicyVersion, Statistic


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("document_number", "region", "status", "framework", "in_force_from", "in_force_to", "retroactive_from")
    list_filter = ("status", "framework", "region")
    search_fields = ("document_number", "title")
    date_hierarchy = "in_force_from"


@admin.register(Statistic)
class StatisticAdmin(ReadOnlyAdmin):
    list_display = ("region", "kind", "year", "value", "source", "updated_by", "updated_at")
    list_filter = ("kind", "year", "region")


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "region", "action", "version", "path", "old_value", "new_value")
    list_filter = ("action", "region")
    search_fields = ("path", "label", "note")
