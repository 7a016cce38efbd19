"""A discussion goes with its incident or organization; an author's deletion is told from a
moderator's removal by a field, not by a reason text; marking affected moves the thread's
version, which a closed incident's discussion poll reads."""

from __future__ import annotations

from apps.forum import services
from apps.forum.models import AffectedMark, Comment, Thread
from apps.incidents.models import Incident
from apps.organizations.models import Organization
from apps.organizations.principals import Customer
from tests.factories import UserFactory


def discussed(incident, org, customer, as_editor):
    question = services.post_comment(incident, actor=Customer(customer, org), body="Is EU down?")
    answer = services.post_comment(incident, actor=as_editor, body="Yes.", reply_to=question)
    services.post_comment(incident, actor=as_editor, body="Fixed now.", reply_to=answer)
    services.mark_affected(incident, actor=Customer(customer, org))
    return question


def test_deleting_an_incident_deletes_its_discussion_with_every_reply(
    incident, org, customer, as_editor
):
    discussed(incident, org, customer, as_editor)
    assert Comment.objects.filter(depth=2).exists()
    Incident.objects.filter(pk=incident.pk).delete()
    assert not Thread.objects.exists()
    assert not Comment.objects.exists()
    assert not AffectedMark.objects.exists()


def test_deleting_an_organization_deletes_its_discussions(incident, org, customer, as_editor):
    discussed(incident, org, customer, as_editor)
    Organization.objects.filter(pk=org.pk).delete()
    assert not Comment.objects.exists()


def test_an_authors_deletion_is_a_tombstone_marked_as_theirs(incident, org, customer, as_editor):
    question = discussed(incident, org, customer, as_editor)
    services.delete_own_comment(question, actor=Customer(customer, org))
    question.refresh_from_db()
    assert question.status == Comment.Status.REMOVED
    assert question.deleted_by_author and question.hidden_reason == ""
    assert services.is_deleted_by_author(question)


def test_a_moderators_removal_is_never_taken_for_the_authors(incident, org, customer, as_editor):
    question = discussed(incident, org, customer, as_editor)
    services.remove_comment(question, actor=as_editor, reason=" deleted by its author")
    question.refresh_from_db()
    assert question.status == Comment.Status.REMOVED
    assert not services.is_deleted_by_author(question)


def test_marking_affected_and_undoing_it_move_the_threads_version(incident, org):
    person = Customer(UserFactory(), org)
    services.mark_affected(incident, actor=person)
    thread = Thread.objects.get(incident=incident)
    marked = thread.version
    services.unmark_affected(incident, actor=person)
    thread.refresh_from_db()
    assert thread.version == marked + 1
    assert marked > 1
