"""The task results in the admin, for operators: django-tasks-db's read-only view, plus "run again"."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks import TaskResultStatus
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from background.models import WorkerHeartbeat


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
