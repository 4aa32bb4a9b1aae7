"""Read-only admin pages for superusers (audit and support). Every change goes through the
services, so nothing here can add, edit or delete; identity numbers are shown masked (a full
number is only shown through ``cases.services.persons.reveal_id_number``, which logs the view)."""
from django.contrib import admin

from .models import (
    Adjustment,
    Application,
    ApplicationEvent,
    Claim,
    ClaimImport,
    Household,
    Identity,
    IdNumberView,
    PaymentBatch,
    PaymentLine,
    Person,
    Settlement,
)
from .models_assignment import StageTimeLimit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "masked_id_number", "region", "residence", "scheme"]
    list_filter = ["residence", "scheme"]
    search_fields = ["name"]
    exclude = ["id_number", "id_mask_key"]
    readonly_fields = ["masked_id_number"]


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ["id", "number", "head_name", "region"]


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["id", "person", "category", "start", "end", "department", "method"]
    list_filter = ["category", "method"]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ["id", "setl_id", "person", "date", "kind", "total", "policy_scope", "maf_pay", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["setl_id"]


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_state", "to_state", "actor", "at", "comment"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "number", "person", "region", "year", "state", "amount_approved"]
    list_filter = ["state", "year"]
    search_fields = ["number"]
    inlines = [EventInline]


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "kind", "status", "computed_at", "payable"]
    list_filter = ["kind", "status"]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "kind", "amount", "status", "created_at"]
    list_filter = ["kind", "status"]


class LineInline(admin.TabularInline):
    model = PaymentLine
    extra = 0
    can_delete = False
    fields = ["application", "kind", "amount", "payee_name", "status", "bank_reference", "failure_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "number", "region", "status", "line_count", "total_amount", "created_at"]
    list_filter = ["status"]
    inlines = [LineInline]


@admin.register(IdNumberView)
class IdNumberViewAdmin(ReadOnlyAdmin):
    list_display = ["viewed_at", "user", "person", "channel", "context", "reason"]
    list_filter = ["channel"]


@admin.register(ClaimImport)
class ClaimImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "filename", "uploaded_by", "uploaded_at", "rows_total", "rows_created", "rows_updated",
                    "rows_unchanged", "rows_failed"]


@admin.register(StageTimeLimit)
class StageTimeLimitAdmin(admin.ModelAdmin):
    """Days a case may wait at each stage, per region (flagged in the queues past them)."""

    list_display = ["region", "state", "days", "basis"]
    list_filter = ["state"]
    search_fields = ["region__code", "region__name"]
