"""factory_boy factories for the foundation. Apps add theirs in tests/<app>/factories.py."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.models import User
from apps.integrations.models import ApiKey, hash_key
from apps.organizations.models import Domain, Invitation, Membership, Organization
from apps.organizations.principals import Member
from apps.organizations.roles import Role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        """Users have a verified primary address unless verified=False is passed."""
        if not create:
            return
        from allauth.account.models import EmailAddress

        self.save()
        EmailAddress.objects.get_or_create(
            user=self,
            email=self.email,
            defaults={"verified": extracted is not False, "primary": True},
        )


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Acme {n}")
    slug = factory.Sequence(lambda n: f"acme-{n}")
    timezone = "UTC"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EDITOR


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.EDITOR


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    hostname = factory.Sequence(lambda n: f"status{n}.example.org")


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """ApiKeyFactory(organization=org) — the plain secret is on `.secret` after creation."""

    class Meta:
        model = ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    name = "Deploy script"
    scope = ApiKey.Scope.WRITE
    secret = factory.LazyFunction(ApiKey.generate_secret)
    prefix = factory.LazyAttribute(lambda o: o.secret[:12])
    hashed_key = factory.LazyAttribute(lambda o: hash_key(o.secret))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        secret = kwargs.pop("secret", None)
        obj = super()._create(model_class, *args, **kwargs)
        obj.secret = secret
        return obj


# --- status pages and incidents -------------------------------------------------------------

from apps.incidents.models import (  # noqa: E402
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
)
from apps.status.models import Component, ComponentGroup, UptimeDay  # noqa: E402


class ComponentGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComponentGroup

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Region {n}")
    position = factory.Sequence(lambda n: n + 1)


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    position = factory.Sequence(lambda n: n + 1)


class UptimeDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UptimeDay

    component = factory.SubFactory(ComponentFactory)
    organization = factory.SelfAttribute("component.organization")
    operational_seconds = 86400


class IncidentFactory(factory.django.DjangoModelFactory):
    """An incident with no updates; use IncidentUpdateFactory(incident=...) to add some."""

    class Meta:
        model = Incident

    organization = factory.SubFactory(OrganizationFactory)
    kind = Kind.INCIDENT
    name = factory.Sequence(lambda n: f"Elevated error rates {n}")
    status = IncidentStatus.INVESTIGATING
    impact = Impact.MINOR


class MaintenanceFactory(IncidentFactory):
    kind = Kind.MAINTENANCE
    name = factory.Sequence(lambda n: f"Database upgrade {n}")
    status = MaintenanceStatus.SCHEDULED
    impact = Impact.MAINTENANCE
    scheduled_for = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    scheduled_until = factory.LazyAttribute(lambda o: o.scheduled_for + timedelta(hours=2))


class IncidentUpdateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncidentUpdate

    incident = factory.SubFactory(IncidentFactory)
    organization = factory.SelfAttribute("incident.organization")
    status = factory.SelfAttribute("incident.status")
    body = "We are currently investigating this issue."


class IncidentTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncidentTemplate

    organization = factory.SubFactory(OrganizationFactory)
    name = "Degraded performance"
    title = "Degraded performance"
    body = "Some requests are slower than usual. We are investigating."


def member(user: User, organization: Organization | None = None) -> Member:
    """The principal of `user` acting as a member of `organization` (by default, of their only
    organization: the conftest users belong to one), for calling services directly."""
    if organization is None:
        organization = Membership.objects.get(user=user).organization
    return Member.of(user, organization)
