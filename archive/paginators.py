"""Paginating back-office lists of any length without counting every row on every page."""

from collections.abc import Iterator

from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.utils import formats
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

# Rows counted exactly on any page of a list: 40 pages of 25. Counting 1,000 index entries costs
# PostgreSQL and SQLite well under a millisecond; counting 100,000 parts costs PostgreSQL 10 ms or more.
COUNT_BOUND = 1000
# Pages linked after the page shown, as the admin's elided page range links them.
PAGES_AHEAD = 3
# Past this many rows a list is counted in full, as Django counts it: the page asked for is that deep anyway,
# and a count limited by a larger number could overflow the database's integers.
COUNT_CEILING = 10**9


class BoundedCountPaginator(Paginator):
    """A paginator that counts only as far as the reader looks: up to ``bound`` rows or a few pages past
    the page asked for, whichever is further.

    So the count costs no more than the page's own OFFSET, and every page stays reachable: the last page
    linked lies beyond the page shown, and asking for it counts further. When there are more rows than
    it counted, ``exact`` is false and ``count`` is the number it counted past, to be shown as
    "more than" that.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, page=1, bound=COUNT_BOUND):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        reach = max(bound, (max(page, 1) + PAGES_AHEAD) * self.per_page)
        self.reach = reach if reach < COUNT_CEILING else None

    @cached_property
    def counted(self) -> int:
        """The rows, counted up to one past the reach: one past means there are more."""
        if self.reach is None:
            return super().count
        if not hasattr(self.object_list, "query"):
            return len(self.object_list[: self.reach + 1])
        # Which rows, not their order or what is shown of them: the count walks an index and stops.
        return self.object_list.order_by().values("pk")[: self.reach + 1].count()

    @cached_property
    def exact(self) -> bool:
        return self.reach is None or self.counted <= self.reach

    @cached_property
    def count(self) -> int:
        """Every row, when ``exact``; otherwise how many rows there are more than."""
        return self.counted if self.exact else self.reach

    def get_elided_page_range(self, number=1, *, on_each_side=PAGES_AHEAD, on_ends=2) -> Iterator:
        """The admin's page links; past the pages counted, an ellipsis rather than a last page."""
        if self.exact:
            yield from super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)
            return
        number = self.validate_number(number)
        first = number - on_each_side
        if first > on_ends + 2:
            yield from range(1, on_ends + 1)
            yield self.ELLIPSIS
        else:
            first = 1
        yield from range(first, min(number + on_each_side, self.num_pages) + 1)
        yield self.ELLIPSIS


class BoundedCountAdminMixin:
    """A change list paginated by ``BoundedCountPaginator``, saying "more than" where it stopped counting.

    Its model needs the three templates admin/<app>/<model>/{pagination,search_form,actions}.html, each
    extending its namesake in admin/bounded_count/, which show the count (and the action bar's "select
    all") as "more than N" when it is not exact.
    """

    count_bound = COUNT_BOUND

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page = int(request.GET.get(PAGE_VAR, 1))
        except ValueError:
            page = 1  # as the change list reads it
        # Past the bound the count is a lower bound, and the admin offers to show all only up to its
        # list_max_show_all: a list it stopped counting is never offered whole.
        bound = max(self.count_bound, self.list_max_show_all + 1)
        return BoundedCountPaginator(queryset, per_page, orphans, allow_empty_first_page, page=page, bound=bound)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        change_list = context.get("cl")
        if change_list is not None and not change_list.paginator.exact:
            context["selection_note_all"] = _("All %(module_name)s selected (more than %(total_count)s)") % {
                "module_name": context["module_name"],
                "total_count": formats.localize(change_list.result_count),
            }
        return response
