from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and business units"

    def ready(self) -> None:
        from apps.accounts.roles import roles_sync

        # Infrastructure, not domain logic: permissions only exist after migrate, so the groups follow them.
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="pilotlight_roles_sync")
