"""The call to action shown beside a story."""

from django import template

from advocacy.models import Action

register = template.Library()

# Where each kind of action leads from the box beside a story: giving links are counted on the way.
COUNTED_KINDS = {Action.Kind.DONATE, Action.Kind.MONTHLY}


@register.inclusion_tag("advocacy/includes/call_to_action.html")
def call_to_action(boxes: list[dict]) -> dict:
    """Show the campaigns the view gathered beside a story (``stories.views.campaign_boxes``), each with its actions."""
    return {"boxes": boxes}


@register.inclusion_tag("advocacy/includes/press_strip.html")
def press_strip(mentions: list[dict]) -> dict:
    """Show the press mentions the view gathered (``advocacy.services.press_strip``): logos linking to reports."""
    return {"mentions": mentions}
