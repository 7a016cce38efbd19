from __future__ import annotations

import pytest

from apps.forum import services as forum
from apps.integrations.alerts.services import create_alert_integration
from apps.notifications.models import NotificationSettings, Subscriber
from apps.organizations.principals import Customer, Member
from tests.factories import (
    ApiKeyFactory,
    ComponentFactory,
    ComponentGroupFactory,
    DomainFactory,
    IncidentFactory,
    IncidentTemplateFactory,
    IncidentUpdateFactory,
    InvitationFactory,
    MaintenanceFactory,
    UserFactory,
)
from tests.forum.factories import CommentFactory, ThreadFactory
from tests.incidents.factories import ActionItemFactory, PostmortemFactory
from tests.notifications.factories import (
    EmailSubscriberFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)

SLACK_STAFF_URL = "https://hooks.slack.com/services/TSTAFF/BSTAFF/staffsecretvalue1"


def fill(org, owner, *, tag: str) -> dict:
    """One row of every exported family in `org`, with `tag` in its texts; returns the known
    secret values and the objects tests look at."""
    actor = Member.of(owner, org)
    group = ComponentGroupFactory(organization=org, name=f"{tag} group")
    component = ComponentFactory(organization=org, group=group, name=f"{tag} API")
    incident = IncidentFactory(organization=org, name=f"{tag} outage")
    incident.components.add(component)
    update = IncidentUpdateFactory(incident=incident, body=f"{tag} update body")
    postmortem = PostmortemFactory(incident=incident, summary=f"{tag} postmortem summary")
    item = ActionItemFactory(postmortem=postmortem, title=f"{tag} follow-up")
    maintenance = MaintenanceFactory(organization=org, name=f"{tag} maintenance")
    template = IncidentTemplateFactory(organization=org, name=f"{tag} template")
    key = ApiKeyFactory(organization=org, name=f"{tag} key")
    integration, hook_token = create_alert_integration(
        org, actor=actor, kind="generic", name=f"{tag} alerts"
    )
    # Stored directly: the service resolves the Slack host, and tests never reach the internet.
    NotificationSettings.objects.update_or_create(
        organization=org, defaults={"staff_slack_url": SLACK_STAFF_URL}
    )
    invitation = InvitationFactory(organization=org, email=f"invitee-{tag.lower()}@example.com")
    domain = DomainFactory(organization=org, hostname=f"status.{tag.lower()}.example")
    email_subscriber = EmailSubscriberFactory(
        organization=org, email=f"reader-{tag.lower()}@example.com", components=[component]
    )
    webhook = WebhookSubscriberFactory(
        organization=org, url=f"https://hooks.{tag.lower()}.example/candor?token=webhooktoken1"
    )
    slack = SlackSubscriberFactory(
        organization=org, url=f"https://hooks.slack.com/services/T1/B1/{tag}slacksecret"
    )
    customer = UserFactory(email=f"customer-{tag.lower()}@example.com", display_name=f"{tag} Cu")
    comment = CommentFactory(
        thread=ThreadFactory(incident=incident),
        author=customer,
        author_name=customer.display_name,
        body_source=f"{tag} comment body",
    )
    flagger = UserFactory(email=f"flagger-{tag.lower()}@example.com")
    forum.flag_comment(comment, actor=Customer(flagger, org), reason="spam")
    forum.mark_affected(incident, actor=Customer(customer, org))
    forum.ban_user(org, UserFactory(email=f"banned-{tag.lower()}@example.com"), actor=actor)
    return {
        "component": component,
        "incident": incident,
        "update": update,
        "postmortem": postmortem,
        "item": item,
        "maintenance": maintenance,
        "template": template,
        "invitation": invitation,
        "domain": domain,
        "email_subscriber": email_subscriber,
        "comment": comment,
        "customer": customer,
        "secrets": [
            key.hashed_key,
            key.secret,
            hook_token,
            integration.token_hash,
            SLACK_STAFF_URL,
            slack.url,
            "webhooktoken1",
            webhook.webhook_secret,
            email_subscriber.webhook_secret,
            email_subscriber.manage_nonce,
            invitation.nonce,
            domain.verification_token,
        ],
        "subscriber_channels": {Subscriber.Channel.WEBHOOK, Subscriber.Channel.SLACK},
    }


@pytest.fixture
def filled(org, owner) -> dict:
    return fill(org, owner, tag="Acme")
