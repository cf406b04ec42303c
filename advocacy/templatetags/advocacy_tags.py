"""The call to action shown beside a story."""

from django import template
from django.utils import translation

from advocacy.models import Action, Campaign

register = template.Library()

# Where each kind of action leads from the box beside a story: giving links are counted on the way.
COUNTED_KINDS = {Action.Kind.DONATE, Action.Kind.MONTHLY}


@register.inclusion_tag("advocacy/includes/call_to_action.html")
def call_to_action(story) -> dict:
    """Show the story's live campaigns, or the site-wide featured one, each with its actions."""
    language = translation.get_language()
    campaigns = Campaign.objects.beside_story(story, language) if story is not None else []
    boxes = []
    for campaign in campaigns:
        actions = [action for action in campaign.actions.all() if action.is_available(language)]
        boxes.append(
            {
                "campaign": campaign,
                "actions": actions,
                "counted_kinds": COUNTED_KINDS,
            }
        )
    return {"boxes": boxes}
