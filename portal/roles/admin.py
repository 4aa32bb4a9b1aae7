from django.contrib import admin

from .models import Department, RoleAssignment


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "department", "created_at")
    list_filter = ("role", "department")
    search_fields = ("user__username", "user__full_name", "region__name", "region__code")
    autocomplete_fields = ["user", "region"]
