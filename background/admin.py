"""The task results in the admin, for operators: django-tasks-db's read-only view, plus "run again"."""

from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks import TaskResultStatus
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from background import exports
from background.models import Export, WorkerHeartbeat


def run_again(result: DBTaskResult) -> None:
    """Enqueue a new run of a finished task with the same arguments; the failed result stays as it was."""
    result.task.enqueue(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])


admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    actions = ["run_again"]

    def has_run_again_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(description=_("Run the selected failed tasks again"), permissions=["run_again"])
    def run_again(self, request, queryset) -> None:
        failed = list(queryset.filter(status=TaskResultStatus.FAILED))
        for result in failed:
            run_again(result)
        self.message_user(
            request,
            ngettext("%(count)d task queued again.", "%(count)d tasks queued again.", len(failed))
            % {"count": len(failed)},
            messages.SUCCESS,
        )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "seen_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """A staff member's own exports: being prepared, ready to download, or failed."""

    list_display = ["__str__", "status", "rows", "created_at", "finished_at", "download"]
    fields = ["kind", "status", "rows", "error", "created_at", "finished_at", "download"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(requested_by=request.user).defer("content")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and (obj is None or obj.requested_by_id == request.user.pk)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    @admin.display(description=_("file"))
    def download(self, obj: Export) -> str:
        if obj.status == Export.Status.READY:
            return format_html(
                '<a href="{}">{}</a>', reverse("admin:background_export_download", args=[obj.pk]), _("Download")
            )
        if obj.status == Export.Status.WAITING:
            return _("Being prepared: reload this page in a moment.")
        return _("It could not be prepared ({error}). Ask for it again.").format(error=obj.error or "?")

    def get_urls(self):
        download = path(
            "<int:pk>/download/",
            self.admin_site.admin_view(self.download_view),
            name="background_export_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, pk: int):
        export = get_object_or_404(Export, pk=pk, requested_by=request.user)
        if export.status != Export.Status.READY:
            raise Http404
        return exports.file_response(export, request.user)
