from django.contrib.admin.apps import AdminConfig


class ArchiveAdminConfig(AdminConfig):
    """The admin, with the archive's own site: a second factor for those who can see identities (archive.backoffice)."""

    default_site = "archive.backoffice.ArchiveAdminSite"

    def ready(self) -> None:
        super().ready()
        from django.contrib.auth.signals import user_logged_in

        from archive.middleware import staff_signed_in

        # A staff session's idle time starts when it signs in (archive.middleware.StaffSessionTimeoutMiddleware).
        user_logged_in.connect(staff_signed_in, dispatch_uid="archive.staff_signed_in")
