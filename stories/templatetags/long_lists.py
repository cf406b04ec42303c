"""The rows of the back office's long change lists (parts, storytellers), drawn without per-cell lookups.

Django's ``result_list`` works out, for every cell of every row, which field or method the column is, its
empty value, its CSS classes and, for the link column, the change page's address by a ``reverse()`` and
the list's filters by parsing that address again. On a page of 25 rows that cost more than the rest of
the list together. ``long_result_list`` works each of those out once per column and once per page, then
draws each row with the same functions Django uses for a value (``display_for_field``,
``display_for_value``), so the markup is the same byte for byte (tests/stories/test_admin_scale.py holds
it to ``items_for_result``). A list it was not written for (editable, a non-integer key) is drawn by
Django's own code.
"""

import datetime
import html
from collections.abc import Callable, Iterator

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString

register = template.Library()

# Stands for the object's key while the change page's address is reversed once for the whole page.
KEY = "__archive_row_key__"


def _html(value) -> str:
    """``conditional_escape(value)`` without its lazy-argument wrappers: the same text, a cell at a time."""
    if isinstance(value, Promise):
        value = str(value)
    as_html = getattr(value, "__html__", None)
    return as_html() if as_html is not None else html.escape(str(value))


class _Column:
    """What a column of the list is, worked out once for the page; ``cell(row)`` draws it for a row."""

    def __init__(self, change_list, index: int, name, is_link: bool) -> None:
        self.change_list = change_list
        self.name = name
        self.is_link = is_link
        self.admin = change_list.model_admin
        self.empty = self.admin.get_empty_value_display()
        self.classes = [f"field-{admin_list._coerce_field_name(name, index)}"]
        self.field = None
        self.value_of: Callable | None = None
        # A field with choices: its labels in the page's language, looked up once for the page.
        self.choices: dict | None = None
        # A text field without choices: a non-blank value is shown as it is (display_for_field's last case).
        self.plain_text = False
        opts = change_list.lookup_opts
        try:
            field = _get_non_gfk_field(opts, name) if isinstance(name, str) else None
        except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
            field = None
        if field is not None and not field.auto_created:
            self.field = field
            if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
                self.classes.append("nowrap")
            if isinstance(field.remote_field, models.ManyToOneRel):
                pass
            elif getattr(field, "flatchoices", None):
                try:
                    self.choices = {value: str(label) for value, label in field.flatchoices}
                except TypeError:
                    self.choices = None  # list-like choices: display_for_field's own way, each row
            elif isinstance(field, (models.CharField, models.TextField)) and not isinstance(
                field, (models.FileField, models.URLField, models.JSONField)
            ):
                self.plain_text = True
            return
        # A method of the model admin, called with the row (lookup_field's own order of looking).
        if isinstance(name, str) and name != "__str__" and field is None and hasattr(self.admin, name):
            attr = getattr(self.admin, name)
            self.value_of = attr
            self._callable_column(attr)

    def _callable_column(self, attr) -> None:
        self.empty = getattr(attr, "empty_value_display", self.empty)
        self.boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            self.boolean = getattr(attr.fget, "boolean", False)
        if self.name == "action_checkbox":
            self.classes = ["action-checkbox"]

    def cell(self, row) -> tuple[list[str], object]:
        """The cell's CSS classes and what it shows, as ``items_for_result`` would."""
        if self.field is not None:
            field = self.field
            if isinstance(field.remote_field, models.ManyToOneRel):
                shown = getattr(row, field.name)
                return self.classes, self.empty if shown is None else shown
            value = getattr(row, self.name)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if self.choices is not None:
                try:
                    return self.classes, self.choices.get(value, self.empty)
                except TypeError:
                    pass  # an unhashable value: display_for_field's own way
            elif self.plain_text and isinstance(value, str) and value:
                return self.classes, value
            return self.classes, display_for_field(value, field, self.empty, avoid_link=self.is_link)
        if self.value_of is not None:
            value = self.value_of(row)
            empty, boolean = self.empty, self.boolean
        elif self.name == "__str__":
            # lookup_field calls the row's __str__; its bound method names no empty value and no boolean.
            value, empty, boolean = str(row), self.empty, False
        else:
            # Anything else (a property, a callable): Django's own lookup, each row.
            try:
                field, attr, value = lookup_field(self.name, row, self.admin)
            except ObjectDoesNotExist:
                return self.classes, self.empty
            if field is not None and not field.auto_created:
                return self.classes, display_for_field(value, field, self.empty, avoid_link=self.is_link)
            empty = getattr(attr, "empty_value_display", self.empty)
            boolean = getattr(attr, "boolean", False)
            if isinstance(attr, property) and hasattr(attr, "fget"):
                boolean = getattr(attr.fget, "boolean", False)
        if isinstance(value, str) and not boolean:
            # display_for_value shows a string as it is, and a blank one as the empty value.
            return self.classes, empty if value.strip() == "" else value
        classes = self.classes
        if isinstance(value, (datetime.date, datetime.time)):
            classes = [*classes, "nowrap"]
        return classes, display_for_value(value, empty, boolean)


def _is_link(change_list, index: int, name) -> bool:
    links = change_list.list_display_links
    if links is None:
        return False
    return name in links if links else index == 0


def _change_url(change_list) -> Callable[[object], str] | None:
    """The address of a row's change page with the list's filters kept, from one reverse for the page.

    Escaped for an attribute already: the key, an integer, needs no escaping.
    """
    opts = change_list.opts
    try:
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=(KEY,),
            current_app=change_list.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    url = add_preserved_filters({"preserved_filters": change_list.preserved_filters, "opts": opts}, url)
    # The key is in the path, which comes before the query the filters (and a search) are kept in.
    before, found, after = url.partition(KEY)
    if not found:
        return None
    before, after = html.escape(before), html.escape(after)
    return lambda key: f"{before}{key}{after}"


def fast_rows(change_list) -> Iterator[admin_list.ResultList]:
    """Each row of the page as ``admin_list.results`` gives it, for a list of integer keys that is not editable.

    Each cell is written as ``items_for_result`` formats it, from strings worked out once for the page.
    """
    names = list(change_list.list_display)
    columns = [
        _Column(change_list, index, name, _is_link(change_list, index, name)) for index, name in enumerate(names)
    ]
    link_at = next((index for index, column in enumerate(columns) if column.is_link), None)
    change_url = _change_url(change_list) if link_at is not None else None
    key_name = str(change_list.to_field) if change_list.to_field else change_list.lookup_opts.pk.attname
    # Field names only in the classes, as Django's; the same list of classes gives the same opening.
    opening: dict[tuple, str] = {}
    for row in change_list.result_list:
        cells = []
        for index, column in enumerate(columns):
            classes, shown = column.cell(row)
            tag = "th" if index == link_at else "td"
            start = opening.get((tag, *classes))
            if start is None:
                start = opening[(tag, *classes)] = f'<{tag} class="{" ".join(classes)}">'
            if index != link_at:
                cells.append(SafeString(f"{start}{_html(shown)}</td>"))
                continue
            # The one link column is the first, drawn as the row's header as Django draws it.
            if change_url is None:
                link = _html(shown)
            else:
                popup = (
                    f' data-popup-opener="{_html(row.serializable_value(key_name))}"' if change_list.is_popup else ""
                )
                link = f'<a href="{change_url(row.pk)}"{popup}>{_html(shown)}</a>'
            cells.append(SafeString(f"{start}{link}</th>"))
        yield admin_list.ResultList(None, cells)


def _fast_enough(change_list) -> bool:
    """Whether ``fast_rows`` draws this list: not editable, integer keys, one link column at most."""
    if change_list.formset is not None:
        return False
    if not isinstance(change_list.lookup_opts.pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
        return False
    links = change_list.list_display_links
    return links is None or len(links) <= 1


def long_result_list(change_list) -> dict:
    """``admin_list.result_list``, with the rows drawn by ``fast_rows`` where it can."""
    headers = list(admin_list.result_headers(change_list))
    rows = fast_rows(change_list) if _fast_enough(change_list) else admin_list.results(change_list)
    return {
        "cl": change_list,
        "result_hidden_fields": list(admin_list.result_hidden_fields(change_list)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": list(rows),
    }


@register.tag(name="long_result_list")
def long_result_list_tag(parser, token):
    """``{% long_result_list cl %}``: as ``{% result_list cl %}``, with the same templates, drawn faster."""
    return InclusionAdminNode(
        parser, token, func=long_result_list, template_name="change_list_results.html", takes_context=False
    )
