from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import ApiToken, BusinessUnit, Membership, User
from apps.accounts.services import user_deactivate
from apps.core.admin_mixins import RestrictedAdminMixin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Pilotlight", {"fields": ("title",)}))
    list_display = ("username", "email", "first_name", "last_name", "title", "is_active", "is_staff")
    actions = ["deactivate"]

    @admin.action(description="Deactivate (end their sessions and revoke their API tokens)")
    def deactivate(self, request, queryset) -> None:
        done = 0
        for user in queryset.filter(is_active=True).exclude(pk=request.user.pk):
            user_deactivate(actor=request.user, user=user)
            done += 1
        self.message_user(request, f"Deactivated {done} user(s); their sessions and tokens no longer work.")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(BusinessUnit)
class BusinessUnitAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "head", "cost_centre")
    list_select_related = ("parent", "head")
    search_fields = ("name", "slug")
    readonly_fields = ("path",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "business_unit", "role")
    list_filter = ("role",)
    list_select_related = ("user", "business_unit")
    autocomplete_fields = ("user", "business_unit")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_select_related = ("user",)
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
