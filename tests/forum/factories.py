"""Forum factories. Comments made here skip the services' rules: use them for fixtures of
existing threads (and bulk_create for big ones), and the services for what is under test."""

from __future__ import annotations

import factory

from apps.forum.markup import render
from apps.forum.models import Comment, Thread
from tests.factories import IncidentFactory, UserFactory


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    incident = factory.SubFactory(IncidentFactory)
    organization = factory.SelfAttribute("incident.organization")


class CommentFactory(factory.django.DjangoModelFactory):
    """A top-level visible comment; pass parent=... for a reply (root and depth follow)."""

    class Meta:
        model = Comment

    thread = factory.SubFactory(ThreadFactory)
    organization = factory.SelfAttribute("thread.organization")
    author = factory.SubFactory(UserFactory)
    author_name = factory.LazyAttribute(lambda o: o.author.display_name or "Customer")
    parent = None
    in_reply_to = factory.SelfAttribute("parent")
    root = factory.LazyAttribute(lambda o: (o.parent.root or o.parent) if o.parent else None)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 0)
    body_source = factory.Sequence(lambda n: f"Still seeing errors from eu-west ({n}).")
    body_html = factory.LazyAttribute(lambda o: render(o.body_source))
