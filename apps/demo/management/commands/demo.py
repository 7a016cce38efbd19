"""`manage.py demo`: the `demo` organization with realistic content, idempotently.

Run twice, it changes nothing the second time (it only prints the URLs and login again);
`--reset` deletes the demo organization and builds it anew. The content has the depth the
status page is tested against: 50 components in groups, about 500 past incidents over two
years with their uptime history (the latest outage and sign-in incidents with published
postmortems and action items), an incident in progress and an upcoming maintenance.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.demo import cadence, embed
from apps.demo.plain import add_plain_language_demo
from apps.demo.postmortem import add_postmortem_follow_through
from apps.demo.scorecard import add_scorecard_history
from apps.forum import services as forum
from apps.forum.models import MAX_DEPTH, Comment
from apps.incidents import services as incidents
from apps.incidents.models import Incident, IncidentStatus
from apps.integrations.alerts.services import create_alert_integration
from apps.notifications import services as notifications
from apps.organizations.models import Membership, Organization
from apps.organizations.principals import Customer, Member
from apps.organizations.roles import Role
from apps.organizations.services import create_organization
from apps.status import services as status
from apps.status.models import Component, ComponentStatus

SLUG = "demo"
PASSWORD = "candor-demo"  # noqa: S105 (printed for the local demo login on purpose)
USERS = [
    ("demo@example.test", "Dana Demo", Role.OWNER),
    ("editor@example.test", "Eli Editor", Role.EDITOR),
    ("viewer@example.test", "Vic Viewer", Role.VIEWER),
]

CATALOGUE: list[tuple[str | None, list[str]]] = [
    (None, ["Website", "Documentation", "Support portal", "Community forum", "Status API"]),
    (
        "Core platform",
        ["API", "Web app", "Dashboard", "Authentication", "Webhooks", "Background jobs",
         "Scheduler", "Realtime events"],
    ),
    (
        "Data and storage",
        ["Primary database", "Read replicas", "Search", "File storage", "Backups", "Analytics",
         "Data export"],
    ),
    (
        "Integrations",
        ["Slack", "GitHub", "Jira", "PagerDuty", "Zapier", "Email delivery", "SMS delivery",
         "Microsoft Teams"],
    ),
    (
        "Regions",
        ["US East (Virginia)", "US West (Oregon)", "Canada (Montreal)", "EU West (Dublin)",
         "EU Central (Frankfurt)", "UK (London)", "Asia Pacific (Singapore)",
         "Asia Pacific (Tokyo)", "Asia Pacific (Sydney)", "South America (São Paulo)",
         "India (Mumbai)", "Africa (Cape Town)"],
    ),
    ("Payments", ["Checkout", "Invoicing", "Card processing", "Payouts", "Tax calculation"]),
    ("Apps", ["iOS app", "Android app", "Desktop app", "CLI", "Browser extension"]),
]  # fmt: skip

# (name, status the components get, [(status, body)...]) in plain words.
SCENARIOS = [
    (
        "Slow page loads for some customers",
        ComponentStatus.DEGRADED_PERFORMANCE,
        [
            (
                "investigating",
                "Some pages are taking longer than usual to load. We are looking into why.",
            ),
            (
                "identified",
                "A database query became slow after this morning's release. We "
                "are rolling the release back.",
            ),
            (
                "monitoring",
                "The rollback is done and pages load at normal speed again. We are "
                "watching to make sure it stays that way.",
            ),
            (
                "resolved",
                "Pages have loaded normally for an hour. Sorry for the wait you had "
                "while this lasted.",
            ),
        ],
    ),
    (
        "Errors when signing in",
        ComponentStatus.PARTIAL_OUTAGE,
        [
            (
                "investigating",
                "Some people cannot sign in and see an error instead. We know "
                "and we are working on it.",
            ),
            (
                "identified",
                "An expired certificate between two of our services is causing "
                "this. We are replacing it.",
            ),
            (
                "resolved",
                "Signing in works again for everyone. We have added an alert so an "
                "expiring certificate warns us weeks ahead.",
            ),
        ],
    ),
    (
        "Service unavailable",
        ComponentStatus.MAJOR_OUTAGE,
        [
            (
                "investigating",
                "The service is down for everyone. We are on it and will post "
                "an update within 30 minutes.",
            ),
            (
                "identified",
                "A network change at our hosting provider cut off our servers. We "
                "are working with them to undo it.",
            ),
            (
                "monitoring",
                "Service is back. Some requests made during the outage may need to be retried.",
            ),
            (
                "resolved",
                "Everything has worked normally for two hours. This outage stopped "
                "your work, and we are sorry. A written review will follow.",
            ),
        ],
    ),
    (
        "Delayed notifications",
        ComponentStatus.DEGRADED_PERFORMANCE,
        [
            ("investigating", "Notifications are arriving late, some by up to 20 minutes."),
            ("monitoring", "We added capacity and the backlog is clearing."),
            ("resolved", "All delayed notifications have been delivered."),
        ],
    ),
    (
        "Failed payments",
        ComponentStatus.PARTIAL_OUTAGE,
        [
            ("investigating", "Some card payments are failing. No one has been charged twice."),
            (
                "identified",
                "Our payment provider is having problems; we are switching to the backup route.",
            ),
            ("resolved", "Payments work normally. If a payment failed, please try it again."),
        ],
    ),
]

# Published postmortems for the latest incident of these scenarios: what happened in plain
# words, an honest acknowledgement, the cause, the fix, and what is changing.
POSTMORTEMS: dict[str, dict] = {
    "Service unavailable": {
        "summary": "While this outage lasted, the whole service was unreachable: the "
        "website, the dashboard and the API all answered with errors or not at all.",
        "customer_impact": "Everyone was affected. If you were in the middle of work, you could "
        "not save it or reach it until service came back, and some requests made during the "
        "outage had to be sent again. This stopped many of you from working, and we are sorry.",
        "cause": "Our hosting provider made a planned change to its network. The change cut "
        "the connection between our servers and the internet, and our own checks did not "
        "tell the two apart at first.",
        "resolution": "Together with the provider we undid the change. Service came back "
        "within minutes of that, and we watched it for two more hours before calling it over.",
        "items": [
            ("Get notice of our provider's network changes in advance", "done"),
            (
                "Serve the website from a second provider when the first one is unreachable",
                "in_progress",
            ),
            ("Tell provider outages apart from our own in our alerts", "planned"),
        ],
    },
    "Errors when signing in": {
        "summary": "While this lasted, some people who tried to sign in saw an error page "
        "instead of their account.",
        "customer_impact": "Roughly one sign-in attempt in three failed. If you were signed in "
        "already nothing changed, but if you were not, you were locked out until it was "
        "fixed. We know how frustrating that is, and we are sorry.",
        "cause": "Two of our internal services prove who they are to each other with a "
        "certificate. That certificate expired, and nothing warned us beforehand.",
        "resolution": "We issued a new certificate and sign-ins worked again right away.",
        "items": [
            ("Alert weeks before any certificate expires", "done"),
            ("Renew internal certificates automatically", "in_progress"),
        ],
    },
}

IMPACT = {
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}

# Customers of Demo Cloud who take part in the active incident's discussion (email, name).
CUSTOMERS = [
    ("priya@example.test", "Priya (Acme Retail)"),
    ("tom@example.test", "Tom (Nordlicht GmbH)"),
    ("marco@example.test", "Marco (Fresco Foods)"),
    ("aoife@example.test", "Aoife (Kinsella Print)"),
    ("kenji@example.test", "Kenji (Sakura Travel)"),
    ("lena@example.test", "Lena (Brightwater Labs)"),
    ("sam@example.test", "Sam (Orbit Apps)"),
    ("rob@example.test", "Rob (Atlas Freight)"),
    ("grace@example.test", "Grace (Lumen Health)"),
    ("omar@example.test", "Omar (Dune Analytics)"),
]
# Further readers who only marked themselves affected.
AFFECTED_ONLY = 20

# The discussion of the incident in progress, in the order it happened: (minutes after the
# incident started, key, who, replying to, body). Who is a customer's email or "staff:<email>";
# keys name comments that others reply to or that staff moderate below.
DISCUSSION: list[tuple[int, str, str, str | None, str]] = [
    (4, "checkout", "priya@example.test", None,
     "Our checkout calls to the API from Frankfurt take 6 to 8 seconds since about 10 minutes "
     "ago. Is this the same problem, or should we open a support ticket?"),
    (6, "webhooks", "marco@example.test", None,
     "Same here from Milan: API calls that usually take 200 ms now take several seconds."),
    (9, "checkout-answer", "staff:editor@example.test", "checkout",
     "Yes, it is the same problem: requests from Frankfurt enter through our Dublin region. "
     "No ticket needed; we will post every update here and on this page."),
    (12, "checkout-thanks", "tom@example.test", "checkout-answer",
     "Good to know. We see the same from Hamburg and have told our own customers to expect "
     "slow saves for now."),
    (14, "pinned", "staff:demo@example.test", None,
     "We read every comment here. If your requests **time out** rather than only run slowly, "
     "tell us which endpoint and roughly when: it helps us find the worst paths. Use "
     "*I'm affected too* rather than a \"same here\" comment, so we can see how many of you "
     "are hit."),
    (15, "webhooks-reply", "aoife@example.test", "webhooks",
     "For us only the API is slow; webhooks arrive on time."),
    (20, "tokyo", "kenji@example.test", None,
     "Does this affect Asia Pacific (Tokyo) too, or only Europe?"),
    (26, "tokyo-answer", "staff:editor@example.test", "tokyo",
     "Only traffic that enters through Dublin. Tokyo is not affected; if you see slow "
     "requests there, tell us here."),
    (29, "tokyo-confirm", "lena@example.test", "tokyo-answer",
     "Confirming from Singapore and Tokyo: response times are normal for us."),
    (33, "off-topic", "sam@example.test", None,
     "While you are at it, could the dashboard get a dark mode?"),
    (41, "workaround", "rob@example.test", None,
     "We routed our EU traffic through US East for now, which brings calls back under a "
     "second: https://example.com/atlas-freight/eu-routing"),
    (52, "eta", "grace@example.test", None,
     "Is there an estimate for when this is fixed? Our patients in Ireland notice it."),
    (58, "eta-answer", "staff:demo@example.test", "eta",
     "Traffic is moving to the second link now. We expect normal speed within the hour and "
     "will post an update here before then."),
    (66, "better", "omar@example.test", None,
     "Response times from Amsterdam look better over the last few minutes."),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create (or show) the demo organization with realistic content."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo organization and rebuild it."
        )
        parser.add_argument(
            "--incidents", type=int, default=500, help="Past incidents to generate (default 500)."
        )
        parser.add_argument(
            "--history-days", type=int, default=730, help="Days of history (default 730)."
        )

    def handle(
        self, *args, reset: bool = False, incidents: int = 500, history_days: int = 730, **options
    ):
        if reset:
            delete_demo_organization()
        users = [self.ensure_user(email, name) for email, name, _role in USERS]
        organization = Organization.objects.filter(slug=SLUG).first()
        if organization is None:
            self.stdout.write("Building the demo organization (this takes a few seconds)…")
            organization = self.build(users, past_incidents=incidents, days=history_days)
        ensure_memberships(organization, users)
        self.report(organization)

    def ensure_user(self, email: str, name: str, *, password: str | None = PASSWORD) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, display_name=name)
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    @transaction.atomic
    def build(self, users: list[User], *, past_incidents: int, days: int) -> Organization:
        owner = users[0]
        rng = random.Random(2026)  # noqa: S311 (demo data, not security)
        now = timezone.now()
        organization = create_organization(
            actor=owner, name="Demo Cloud", slug=SLUG, timezone="Europe/Amsterdam"
        )
        ensure_memberships(organization, users)
        actor = Member.of(owner, organization)
        organization.website_url = "https://example.com/"
        organization.support_url = "https://example.com/support"
        organization.footer_text = "Demo Cloud is a made-up company for trying Candor."
        organization.save(update_fields=["website_url", "support_url", "footer_text"])

        components = []
        for group_name, names in CATALOGUE:
            group = None
            if group_name:
                group = status.create_component_group(organization, actor=actor, name=group_name)
            for name in names:
                components.append(
                    status.create_component(
                        organization,
                        actor=actor,
                        name=name,
                        group=group,
                        start_date=(now - timedelta(days=days + 30)).date(),
                    )
                )

        history_start = now - timedelta(days=days)
        outages: dict[int, list[tuple[datetime, datetime, str]]] = {c.pk: [] for c in components}
        by_pk = {c.pk: c for c in components}
        starts = sorted(
            history_start + timedelta(seconds=rng.randrange(0, (days - 1) * 86400))
            for _ in range(past_incidents)
        )
        latest: dict[str, Incident] = {}
        for started in starts:
            name, severity, steps = rng.choice(SCENARIOS)
            affected = rng.sample(components, k=rng.choice([1, 1, 1, 2, 3]))
            duration = timedelta(minutes=rng.randrange(15, 240))
            step_gap = duration / (len(steps) - 1)
            updates = [
                (step_status, body, started + step_gap * i)
                for i, (step_status, body) in enumerate(steps)
            ]
            latest[name] = incidents.backfill_incident(
                organization,
                actor=actor,
                name=name,
                impact=IMPACT[severity],
                components=affected,
                updates=updates,
            )
            for component in affected:
                outages[component.pk].append((started, started + duration, severity))

        for name, text in POSTMORTEMS.items():
            if name in latest:
                self.add_postmortem(latest[name], text, actor=actor)

        history_end = now - timedelta(hours=2)
        for pk, component_outages in outages.items():
            timeline = _status_timeline(history_start, component_outages)
            status.backfill_uptime(by_pk[pk], timeline, until=history_end)
        add_postmortem_follow_through(organization, actor=actor)

        api, eu_west = by_pk[components[5].pk], next(c for c in components if "Dublin" in c.name)
        # The incident in progress started 80 minutes ago; its discussion happened meanwhile.
        began = now - timedelta(minutes=80)
        with _clock(began):
            incident = incidents.open_incident(
                organization,
                actor=actor,
                name="Slow API responses in Europe",
                status=IncidentStatus.INVESTIGATING,
                body="Some API requests from Europe take several seconds. We know and are "
                "investigating. Next update within 30 minutes.",
                components={api: ComponentStatus.DEGRADED_PERFORMANCE},
                next_update_due=now + timedelta(minutes=30),
                deliver_notifications=False,
            )
        with _clock(began + timedelta(minutes=45)):
            incidents.post_update(
                incident,
                actor=actor,
                status=IncidentStatus.IDENTIFIED,
                body="A network link into our Dublin region is overloaded. We are moving "
                "traffic to a second link. Requests still work, but slowly.",
                components={
                    api: ComponentStatus.DEGRADED_PERFORMANCE,
                    eu_west: ComponentStatus.PARTIAL_OUTAGE,
                },
                next_update_due=now + timedelta(minutes=30),
                deliver_notifications=False,
            )
        self.add_discussion(incident, began, components=[api, eu_west], rng=rng)
        cadence.show_update_promises(organization, actor=actor, incident=incident, now=now)
        start = (now + timedelta(days=3)).astimezone(organization.tzinfo)
        start = start.replace(hour=6, minute=0, second=0, microsecond=0)
        incidents.schedule_maintenance(
            organization,
            actor=actor,
            name="Database upgrade",
            body="We are upgrading our primary database to a newer version. The dashboard "
            "will be read-only for up to 30 minutes; the API keeps working.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=[c for c in components if c.name in ("Primary database", "Dashboard")],
            reminder_hours=24,
            deliver_notifications=False,
        )
        incidents.ensure_default_templates(organization, actor=actor)
        add_plain_language_demo(organization, actor=actor)
        add_scorecard_history(organization, actor=actor, now=now)

        # Readers who subscribed (and confirmed) by email: their mail goes to the console in
        # the quick start. No webhook subscribers: the quick start must not call out.
        for n, component_names in enumerate([[], ["API"], ["Checkout", "Card processing"]]):
            subscriber = notifications.subscribe_email(
                organization,
                email=f"reader{n + 1}@example.test",
                component_ids=[c.public_id for c in components if c.name in component_names],
            )
            notifications.confirm_subscriber(subscriber)
        create_alert_integration(
            organization, actor=actor, kind="alertmanager", name="Prometheus (production)"
        )
        return organization

    def add_discussion(
        self,
        incident: Incident,
        began: datetime,
        *,
        components: list[Component],
        rng: random.Random,
    ) -> None:
        """A lively discussion on the incident in progress, written through the forum's
        services as its people would: questions, staff answers (one marked as the answer), a
        pinned staff comment, replies two levels deep, a comment hidden with a public reason,
        one waiting in the moderation queue (a new commenter's first comment with a link, held
        by the default pre-moderation), and readers marking themselves affected."""
        organization = incident.organization
        # No password: customers sign in with a code sent by email (printed by `make run`).
        people = {email: self.ensure_user(email, name, password=None) for email, name in CUSTOMERS}
        posted: dict[str, Comment] = {}
        for minutes, key, who, reply_to, body in DISCUSSION:
            if who.startswith("staff:"):
                author: Member | Customer = Member.of(
                    User.objects.get(email=who.removeprefix("staff:")), organization
                )
            else:
                author = Customer(people[who], organization)
            with _clock(began + timedelta(minutes=minutes, seconds=rng.randrange(60))):
                posted[key] = forum.post_comment(
                    incident, actor=author, body=body, reply_to=posted.get(reply_to or "")
                )
        owner = Member.of(User.objects.get(email=USERS[0][0]), organization)
        editor = Member.of(User.objects.get(email=USERS[1][0]), organization)
        with _clock(began + timedelta(minutes=16)):
            forum.pin_comment(posted["pinned"], actor=owner)
        with _clock(began + timedelta(minutes=27)):
            forum.mark_answer(posted["tokyo-answer"], actor=editor)
        with _clock(began + timedelta(minutes=35)):
            forum.hide_comment(
                posted["off-topic"],
                actor=editor,
                reason="Off-topic here: this discussion is about the incident. Feature "
                "requests are welcome at our support address.",
            )
        # Readers who marked themselves affected: most name the API, some the Dublin region.
        readers = list(people.values()) + [
            self.ensure_user(f"affected{n + 1}@example.test", "", password=None)
            for n in range(AFFECTED_ONLY)
        ]
        for n, reader in enumerate(readers[:28]):
            component = components[0] if n % 3 else (components[1] if n % 2 else None)
            with _clock(began + timedelta(minutes=rng.randrange(2, 75))):
                forum.mark_affected(
                    incident, actor=Customer(reader, organization), component=component
                )

    def add_postmortem(self, incident: Incident, text: dict, *, actor: Member) -> None:
        sections = {key: value for key, value in text.items() if key != "items"}
        postmortem = incidents.save_postmortem(incident, actor=actor, **sections)
        for title, item_status in text["items"]:
            incidents.add_action_item(postmortem, actor=actor, title=title, status=item_status)
        incidents.publish_postmortem(incident, actor=actor, notify_subscribers=False)

    def report(self, organization: Organization) -> None:
        # Every address from apps.core.links, like the links in mail (SITE_URL: make run sets it).
        from django.urls import reverse

        from apps.core.links import absolute_url

        page = organization.public_path_url
        self.stdout.write(
            self.style.SUCCESS(f"\nDemo organization “{organization.name}” is ready.\n")
            + f"  Status page:  {page}\n"
            + f"  Also at:      {organization.subdomain_url}  (browsers resolve *.localhost)\n"
            + f"  Status API:   {page}api/v2/summary.json\n"
            + f"  Dashboard:    {absolute_url(f'/dashboard/{organization.slug}/')}\n"
            + f"  Log in at:    {absolute_url(reverse('account_login'))}\n"
            + f"  Log in as:    {USERS[0][0]} / {PASSWORD}"
            + f"  (also {USERS[1][0]} and {USERS[2][0]}, same password)\n"
        )
        self.stdout.write(embed.show(organization))


@transaction.atomic
def delete_demo_organization() -> None:
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None:
        return
    # A comment's parent and root are PROTECTed foreign keys, so a thread with replies does not
    # go in one cascade: the deepest comments go first.
    comments = Comment.objects.for_org(organization)
    for depth in range(MAX_DEPTH, -1, -1):
        comments.filter(depth=depth).delete()
    organization.delete()


def ensure_memberships(organization: Organization, users: list[User]) -> None:
    for user, (_email, _name, role) in zip(users, USERS, strict=True):
        Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": role}
        )


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """Run services as if at `moment`: they read timezone.now() for the times they record
    (an update's, a comment's), so the demo's incident in progress and its discussion unfold
    over its first hour and a half rather than in the second the command runs."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _status_timeline(
    start: datetime, outages: list[tuple[datetime, datetime, str]]
) -> list[tuple[datetime, str]]:
    """[(when, status)] for a component from its outage intervals; overlaps take the worst."""
    from apps.status.models import SEVERITY

    timeline = [(start, str(ComponentStatus.OPERATIONAL))]
    boundaries = sorted({t for begin, end, _s in outages for t in (begin, end)})
    for moment in boundaries:
        covering = [s for begin, end, s in outages if begin <= moment < end]
        current = max(covering, key=lambda s: SEVERITY[s], default=ComponentStatus.OPERATIONAL)
        if current != timeline[-1][1]:
            timeline.append((moment, str(current)))
    return timeline
