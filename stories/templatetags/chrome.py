"""``{% constant %}``: markup every page of a language repeats, written once per process and language.

The site's header and footer (the quick exit, the brand, the navigation, the search box, the catalogue's
sentences) depend on nothing but the active language, the URLconf and the values the tag names, which
are all in the key: rendering them again on every page, a few dozen template nodes, cost about a tenth
of a part page's CPU. Like Django's cached template loader, what is kept is a pure function of the
deployment, the same on every app server, and nothing a write can make stale. With ``DEBUG`` on (a
developer editing templates) nothing is kept.

Only for markup that reads no request, no object and no variable but those named::

    {% constant QUICK_EXIT_URL %}…{% endconstant %}
"""

import weakref

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()

# Enough for every language and a few values of the named variables; never grows with the traffic.
MAX_KEPT = 64
_nodes: "weakref.WeakSet[ConstantNode]" = weakref.WeakSet()


class ConstantNode(template.Node):
    def __init__(self, nodelist: template.NodeList, names: list[template.base.FilterExpression]) -> None:
        self.nodelist = nodelist
        self.names = names
        self.kept: dict[tuple, str] = {}
        _nodes.add(self)

    def render(self, context: template.Context) -> str:
        if settings.DEBUG:
            return self.nodelist.render(context)
        # The script prefix and the URLconf are set for the request before any template renders: read once
        # a render. The language is read each time, as a {% language %} block may change it.
        deployment = context.render_context.get(ConstantNode)
        if deployment is None:
            deployment = context.render_context[ConstantNode] = (
                get_script_prefix(),
                get_urlconf(settings.ROOT_URLCONF),
            )
        key = (translation.get_language(), *deployment, *(str(name.resolve(context)) for name in self.names))
        rendered = self.kept.get(key)
        if rendered is None:
            rendered = self.nodelist.render(context)
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            self.kept[key] = rendered
        return mark_safe(rendered)  # noqa: S308 - the template's own output, escaped when it was rendered


@register.tag
def constant(parser: template.base.Parser, token: template.base.Token) -> ConstantNode:
    """``{% constant NAME … %}…{% endconstant %}``: see the module's docstring."""
    names = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endconstant",))
    parser.delete_first_token()
    return ConstantNode(nodelist, names)


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    """A changed setting (tests' ``override_settings``: a static storage, a URL) may change the markup."""
    for node in list(_nodes):
        node.kept.clear()


# ``{% language_switcher language_links %}``: the header's links to the page in each language.
SWITCHER = (
    '<nav class="language-switcher" aria-label="{}">\n  <ul class="language-switcher__list">\n    {}\n  </ul>\n</nav>\n'
)
SWITCHER_CURRENT = '<span class="language-switcher__current" lang="{code}" aria-current="true">{name}</span>'
SWITCHER_LINK = '<a class="language-switcher__link" href="{url}" hreflang="{code}" lang="{code}">{name}</a>'
SWITCHER_ITEM = "\n      <li>\n        \n          {}\n        \n      </li>\n    "


@register.simple_tag
def language_switcher(links) -> SafeString:
    """Each language's name, a link to the page in it, the current one marked: what the include wrote.

    On every page, so written in Python (tests/stories/test_chrome.py compares it with the include it
    replaced): a loop of conditions and lookups cost more than the rest of the header.
    """
    items = []
    for link in links:
        values = {name: conditional_escape(link[name]) for name in ("code", "name", "url")}
        items.append(SWITCHER_ITEM.format((SWITCHER_CURRENT if link["is_current"] else SWITCHER_LINK).format(**values)))
    # The catalogue's text trusted as {% translate %} trusts it; every value escaped above.
    return mark_safe(SWITCHER.format(gettext("Language"), "".join(items)))  # noqa: S308
