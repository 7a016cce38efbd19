"""Management API: the incident forum, for staff tooling (scripts, chat-ops, moderation bots).

- `/api/v1/incidents/<id>/comments/` (and `/api/v1/maintenances/<id>/comments/`): the thread's
  comments, paginated; POST posts a reply in the organization's name (services.post_team_reply:
  an API key is not a person, so the author is "<organization> team", with the Staff badge).
- `/api/v1/incidents/<id>/thread/` (and maintenances'): lock state, slow mode, comment and
  "affected too" counts; PATCH locks, unlocks and sets slow mode.
- `/api/v1/comments/`: every comment of the organization (the moderation queue is
  `?status=pending`), each one's edit (PATCH), revisions and moderation actions (hide, unhide,
  remove, pin, unpin, answer, unanswer).

Hidden, removed and pending comments are listed with their body: this is staff tooling, and
`status` and `public` say plainly what readers of the status page see instead. Every write goes
through apps.forum.services; their ForumErrors (ValidationErrors) are 400s with the message
(apps.api.exceptions), and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.base import OrgViewSetMixin
from apps.api.fields import PUBLIC_ID, StrictSerializer
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, error_responses
from apps.incidents.models import Incident, Kind
from apps.status.models import Component

from . import markup, services
from .models import Comment, CommentRevision, Thread

TAGS = ["forum"]
TEAM_AUTHOR_RULE = (
    "An API key is not a person, so a comment posted with one is written in the "
    "organization's name: its author is “<organization> team”, with the Staff badge, and the "
    "audit log records which key posted it."
)


def _reply_count() -> Coalesce:
    """Replies that answer each comment (`in_reply_to`), in one subquery for the whole page."""
    replies = (
        Comment.objects.filter(in_reply_to=OuterRef("pk"))
        .order_by()
        .values("in_reply_to")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(replies, output_field=IntegerField()), 0)


def comments_for_api(queryset: QuerySet) -> QuerySet:
    """What CommentSerializer reads, fetched with the comments (no query per row)."""
    return queryset.select_related("thread__incident", "parent", "in_reply_to").annotate(
        reply_count=_reply_count()
    )


# --- serializers -------------------------------------------------------------------------------


class CommentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(
        source="thread.incident.public_id",
        read_only=True,
        help_text="The incident or maintenance whose discussion it is in.",
    )
    parent = serializers.CharField(
        source="parent.public_id",
        read_only=True,
        allow_null=True,
        help_text="The comment it is nested under; null for a top-level comment. Threads are "
        "two replies deep: a reply to a deeper comment is nested under that comment's parent.",
    )
    in_reply_to = serializers.CharField(
        source="in_reply_to.public_id",
        read_only=True,
        allow_null=True,
        help_text="The comment it answers (differs from `parent` when nesting was capped).",
    )
    depth = serializers.IntegerField(read_only=True, help_text="0 top-level, 1 or 2 a reply.")
    author_name = serializers.CharField(
        read_only=True,
        help_text="The name readers see. " + TEAM_AUTHOR_RULE,
    )
    is_staff = serializers.BooleanField(
        read_only=True,
        help_text="Shown with the “Staff · <organization>” badge: decided from membership "
        "when it was written, never from a name.",
    )
    status = serializers.ChoiceField(
        choices=Comment.Status.choices,
        read_only=True,
        help_text="`visible`; `pending` review (only its author sees it); `hidden` (readers see "
        "`hidden_reason` instead of the body); `removed` (readers see a tombstone).",
    )
    public = serializers.SerializerMethodField(
        help_text="Whether readers of the status page see the body. False for hidden, removed "
        "and pending comments, whose body is given here for staff only."
    )
    hidden_reason = serializers.CharField(
        read_only=True, help_text="Why it was hidden or removed, as readers see it."
    )
    body = serializers.CharField(
        source="body_source", read_only=True, help_text="The Markdown the author wrote."
    )
    body_html = serializers.CharField(
        read_only=True, help_text="The body as readers see it: rendered and sanitised HTML."
    )
    edited_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Last edit; null if never edited."
    )
    reply_count = serializers.IntegerField(
        read_only=True, help_text="Comments answering this one (`in_reply_to`), any status."
    )

    class Meta:
        model = Comment
        fields = [
            "id",
            "incident_id",
            "parent",
            "in_reply_to",
            "depth",
            "author_name",
            "is_staff",
            "status",
            "public",
            "hidden_reason",
            "pinned",
            "is_answer",
            "body",
            "body_html",
            "created_at",
            "edited_at",
            "reply_count",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "pinned": {"help_text": "Shown at the top of the discussion (top-level only)."},
            "is_answer": {"help_text": "Marked by staff as the answer to its question."},
        }

    def get_public(self, comment: Comment) -> bool:
        return comment.status == Comment.Status.VISIBLE


class RevisionSerializer(serializers.ModelSerializer):
    body = serializers.CharField(source="body_source", read_only=True)
    edited_by = serializers.CharField(
        source="edited_by.email",
        read_only=True,
        allow_null=True,
        help_text="Who replaced this text; null for an API key or a deleted account.",
    )

    class Meta:
        model = CommentRevision
        fields = ["body", "body_html", "edited_by", "created_at"]
        read_only_fields = fields
        extra_kwargs = {"created_at": {"help_text": "When this text was replaced."}}


class AffectedComponentCountSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The component id.")
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="People who said this component affects them.")


class CommentCountsSerializer(serializers.Serializer):
    visible = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Awaiting review: the moderation queue.")
    hidden = serializers.IntegerField()
    removed = serializers.IntegerField()


class ThreadSerializer(serializers.Serializer):
    id = serializers.CharField(
        allow_null=True, help_text="Null until the discussion's first comment or setting."
    )
    incident_id = serializers.CharField()
    locked = serializers.BooleanField(help_text="Locked by staff: no new comments.")
    auto_lock_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the discussion locks by itself (the organization's auto-lock days "
        "after resolution); null while unresolved or when auto-lock is off.",
    )
    accepting_comments = serializers.BooleanField(
        help_text="False when locked by staff or past `auto_lock_at`."
    )
    slow_mode_seconds = serializers.IntegerField(
        help_text="Customers wait this long between two comments; 0 = off. Staff are exempt."
    )
    version = serializers.IntegerField(help_text="Grows with every change readers can see.")
    comment_counts = CommentCountsSerializer()
    affected_count = serializers.IntegerField(
        help_text="People who marked “I'm affected too” (one per person)."
    )
    affected_components = AffectedComponentCountSerializer(
        many=True, help_text="Of those, how many named each component."
    )


class ThreadChangeSerializer(StrictSerializer):
    locked = serializers.BooleanField(required=False, help_text="Lock or unlock the discussion.")
    slow_mode_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 60 * 60,
        help_text="Seconds customers wait between two comments; 0 turns slow mode off.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.MAX_HIDDEN_REASON,
        help_text="Recorded in the audit log.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "locked" not in attrs and "slow_mode_seconds" not in attrs:
            raise serializers.ValidationError("Give `locked`, `slow_mode_seconds` or both.")
        return attrs


class ReplySerializer(StrictSerializer):
    body = serializers.CharField(
        max_length=markup.MAX_SOURCE_LENGTH,
        help_text="Markdown: paragraphs, emphasis, links, lists, code and quotes (no images, "
        "no HTML).",
    )
    parent = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=32,
        help_text="Id of the comment it answers, in this discussion; leave out for a "
        "top-level comment.",
    )


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.MAX_HIDDEN_REASON,
        help_text="Recorded in the audit log.",
    )


class HideSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=services.MAX_HIDDEN_REASON,
        help_text="Readers see it in place of the comment (e.g. “Off-topic”).",
    )


class RemoveSerializer(StrictSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.MAX_HIDDEN_REASON,
        help_text="Recorded in the audit log; readers see a tombstone.",
    )


class EditSerializer(StrictSerializer):
    body = serializers.CharField(max_length=markup.MAX_SOURCE_LENGTH, help_text="The new Markdown.")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.MAX_HIDDEN_REASON,
        help_text="Recorded in the audit log with the text before and after.",
    )


class QueryBooleanField(serializers.BooleanField):
    # DRF reads a boolean left out of a query string as false; here it means "either".
    default_empty_html = empty


class CommentFilterSerializer(ListFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=Comment.Status.choices,
        required=False,
        help_text="Only these statuses (`pending` is the moderation queue).",
    )
    staff = QueryBooleanField(
        required=False, help_text="true: only staff comments; false: only customers'."
    )
    top_level = QueryBooleanField(
        required=False, help_text="true: only top-level comments; false: only replies."
    )


class ThreadCommentFilterSerializer(CommentFilterSerializer):
    ordering = ordering_field(["created_at"], "created_at")


class OrgCommentFilterSerializer(CommentFilterSerializer):
    incident = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Only the discussion of this incident or maintenance id.",
    )
    ordering = ordering_field(["created_at"], "-created_at")


def _apply_comment_filters(queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
    if params.get("status"):
        queryset = queryset.filter(status__in=params["status"])
    if "staff" in params:
        queryset = queryset.filter(is_staff=params["staff"])
    if "top_level" in params:
        queryset = queryset.filter(depth=0) if params["top_level"] else queryset.filter(depth__gt=0)
    if "incident" in params:
        queryset = queryset.filter(thread__incident__public_id=params["incident"])
    if "created_after" in params:
        queryset = queryset.filter(created_at__gte=params["created_after"])
    if "created_before" in params:
        queryset = queryset.filter(created_at__lt=params["created_before"])
    return queryset


def _validated(view: OrgViewSetMixin, serializer_class: type[serializers.Serializer]) -> Any:
    serializer = serializer_class(data=view.request.data, context=view.get_serializer_context())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- an incident's discussion --------------------------------------------------------------------


class DiscussionMixin:
    """Finds the incident (or maintenance) named in the URL, in the key's organization."""

    kind = Kind.INCIDENT
    incident_kwarg = "incident_id"
    noun = "incident"

    def find_incident(self) -> Incident:
        view: Any = self
        cached = getattr(view, "_incident", None)
        if cached is not None:
            return cached
        public_id = str(view.kwargs.get(self.incident_kwarg, ""))
        incident = None
        if PUBLIC_ID.match(public_id):
            # SECURITY: through the key's organization: another organization's id is a 404.
            incident = (
                Incident.objects.for_org(view.organization)
                .filter(kind=self.kind, public_id=public_id)
                .select_related("organization")
                .first()
            )
        if incident is None:
            raise Http404(f"No {self.noun} matches the given query.")
        view._incident = incident
        return incident

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        # SECURITY: 404 before 405 on another organization's incident (as OrgViewSetMixin does
        # for object URLs), so no method tells it apart from a missing one.
        self.find_incident()
        return super().http_method_not_allowed(request, *args, **kwargs)  # type: ignore[misc]


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _thread_schema(noun: str) -> dict[str, Any]:
    return {
        "list": extend_schema(
            summary=f"List the comments on {_a(noun)}",
            description="The discussion's comments, oldest first by default, with hidden, "
            "removed and pending ones (see `status` and `public`). Rebuild the tree with "
            "`parent`.",
            tags=TAGS,
            parameters=[ThreadCommentFilterSerializer],
            responses={200: CommentSerializer(many=True), **error_responses(400, 404)},
        ),
        "create": extend_schema(
            summary=f"Post a staff reply on {_a(noun)}",
            description="Posts a comment, or a reply to `parent`, visible at once. "
            + TEAM_AUTHOR_RULE
            + " Needs a write or admin key. A locked discussion, an unknown `parent` or one "
            "from another discussion, and an empty or oversized body are 400s.",
            tags=TAGS,
            request=ReplySerializer,
            parameters=[IDEMPOTENCY_KEY],
            responses={201: CommentSerializer, **error_responses(*WRITE_ERRORS, 404)},
        ),
    }


@extend_schema_view(**_thread_schema("incident"))
class IncidentCommentViewSet(
    DiscussionMixin, OrgViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    filter_serializer_class = ThreadCommentFilterSerializer
    ordering = "created_at"
    http_method_names = ["get", "post", "head"]

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        incident = self.find_incident()
        return comments_for_api(queryset.filter(thread__incident=incident))

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        return _apply_comment_filters(queryset, params)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.find_incident()
        data = _validated(self, ReplySerializer)
        reply_to = None
        if data.get("parent") is not None:
            parent_id = data["parent"]
            if PUBLIC_ID.match(parent_id):
                reply_to = (
                    Comment.objects.for_org(self.organization).filter(public_id=parent_id).first()
                )
            if reply_to is None:
                # Another organization's comment is unknown here, exactly like a missing one.
                raise ValidationError({"parent": [f"Unknown comment “{parent_id}”."]})
        comment = services.post_team_reply(
            incident, actor=self.principal, body=data["body"], reply_to=reply_to
        )
        fresh = comments_for_api(Comment.objects.filter(pk=comment.pk)).get()
        return Response(CommentSerializer(fresh).data, status=201)


@extend_schema_view(**_thread_schema("maintenance"))
class MaintenanceCommentViewSet(IncidentCommentViewSet):
    kind = Kind.MAINTENANCE
    incident_kwarg = "maintenance_id"
    noun = "maintenance"


def thread_state(incident: Incident) -> dict[str, Any]:
    """The discussion's settings and counts (a few queries whatever its size)."""
    thread = Thread.objects.filter(incident=incident).first()
    forum_settings = services.forum_settings(incident.organization)
    counts = dict.fromkeys(Comment.Status.values, 0)
    if thread is not None:
        rows = Comment.objects.filter(thread=thread).order_by().values("status")
        counts.update({row["status"]: row["n"] for row in rows.annotate(n=Count("pk"))})
    total, by_component = services.affected_counts(incident)
    components = (
        Component.objects.for_org(incident.organization)
        .filter(pk__in=list(by_component))
        .order_by("name")
    )
    # Not created until its first comment or setting: the defaults, unsaved.
    state = thread or Thread(organization=incident.organization, incident=incident)
    state.incident = incident
    return {
        "id": thread.public_id if thread is not None else None,
        "incident_id": incident.public_id,
        "locked": state.locked,
        "auto_lock_at": services.auto_lock_at(incident, forum_settings),
        "accepting_comments": not services.is_locked(state, forum_settings),
        "slow_mode_seconds": state.slow_mode_seconds,
        "version": thread.version if thread is not None else 0,
        "comment_counts": counts,
        "affected_count": total,
        "affected_components": [
            {"id": c.public_id, "name": c.name, "count": by_component[c.pk]} for c in components
        ],
    }


def _thread_state_schema(noun: str) -> Any:
    def decorate(function: Any) -> Any:
        function = extend_schema(
            summary=f"Get the discussion settings and counts of {_a(noun)}",
            description="Whether it is locked (by staff or by itself after resolution), slow "
            "mode, how many comments it has in each status, and how many people marked "
            "“I'm affected too”, in all and per component.",
            tags=TAGS,
            responses={200: ThreadSerializer, **error_responses(404)},
            methods=["GET"],
        )(function)
        return extend_schema(
            summary=f"Lock, unlock or slow down the discussion of {_a(noun)}",
            description="`locked` stops new comments (staff's too); `slow_mode_seconds` makes "
            "customers wait between two comments. Audited with `reason`. Needs a write or "
            "admin key.",
            tags=TAGS,
            request=ThreadChangeSerializer,
            responses={200: ThreadSerializer, **error_responses(*WRITE_ERRORS, 404)},
            methods=["PATCH"],
        )(function)

    return decorate


# `incidents/<id>/thread/` only: registered on the nested router, with detail routes alone.
class IncidentThreadViewSet(OrgViewSetMixin, viewsets.GenericViewSet):
    queryset = Incident.objects.all()
    serializer_class = ThreadSerializer
    lookup_url_kwarg = "incident_id"
    kind = Kind.INCIDENT
    http_method_names = ["get", "patch", "head"]
    pagination_class = None

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=self.kind).select_related("organization")

    def state(self, request: Request) -> Response:
        incident = self.get_object()
        if request.method == "PATCH":
            data = _validated(self, ThreadChangeSerializer)
            services.moderate_thread(incident, actor=self.principal, **data)
        return Response(ThreadSerializer(thread_state(incident)).data)

    @_thread_state_schema("incident")
    @action(detail=True, methods=["get", "patch"], url_path="thread")
    def thread(self, request: Request, incident_id: str) -> Response:
        return self.state(request)


class MaintenanceThreadViewSet(IncidentThreadViewSet):
    lookup_url_kwarg = "maintenance_id"
    kind = Kind.MAINTENANCE

    @_thread_state_schema("maintenance")
    @action(detail=True, methods=["get", "patch"], url_path="thread")
    def thread(self, request: Request, maintenance_id: str) -> Response:  # type: ignore[override]
        return self.state(request)


# --- the organization's comments and their moderation ------------------------------------------


def _moderation_schema(summary: str, description: str, request: Any) -> Any:
    return extend_schema(
        summary=summary,
        description=description + " Needs a write or admin key.",
        tags=TAGS,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: CommentSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the organization's comments",
        description="Every discussion's comments, newest first by default; `?status=pending` "
        "is the moderation queue.",
        tags=TAGS,
        parameters=[OrgCommentFilterSerializer],
        responses={200: CommentSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="Get a comment",
        tags=TAGS,
        responses={200: CommentSerializer, **error_responses(404)},
    ),
    partial_update=extend_schema(
        summary="Edit a comment",
        description="Replaces the body as a moderator: the previous text is kept as a revision "
        "and the edit is audited with `reason`. A removed comment cannot be edited. Needs a "
        "write or admin key.",
        tags=TAGS,
        request=EditSerializer,
        responses={200: CommentSerializer, **error_responses(*WRITE_ERRORS, 404)},
    ),
)
class CommentViewSet(
    OrgViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    lookup_url_kwarg = "comment_id"
    filter_serializer_class = OrgCommentFilterSerializer
    ordering = "-created_at"
    http_method_names = ["get", "patch", "post", "head"]

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return comments_for_api(queryset)

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        return _apply_comment_filters(queryset, params)

    def respond(self, comment: Comment) -> Response:
        fresh = comments_for_api(Comment.objects.filter(pk=comment.pk)).get()
        return Response(CommentSerializer(fresh).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        comment = self.get_object()
        data = _validated(self, EditSerializer)
        services.edit_comment(
            comment, actor=self.principal, body=data["body"], reason=data.get("reason", "")
        )
        return self.respond(comment)

    @extend_schema(
        summary="List a comment's earlier versions",
        description="The text before each edit, oldest first (kept for staff; readers only "
        "see that it was edited).",
        tags=TAGS,
        responses={200: RevisionSerializer(many=True), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def revisions(self, request: Request, comment_id: str) -> Response:
        comment = self.get_object()
        revisions = (
            CommentRevision.objects.for_org(self.organization)
            .filter(comment=comment)
            .select_related("edited_by")
            .order_by("created_at", "pk")
        )
        return Response(RevisionSerializer(revisions, many=True).data)

    def _act(self, serializer_class: type[serializers.Serializer] | None, service: Any) -> Response:
        comment = self.get_object()
        data = _validated(self, serializer_class) if serializer_class is not None else {}
        service(comment, actor=self.principal, **data)
        return self.respond(comment)

    @_moderation_schema(
        "Hide a comment",
        "Readers see `reason` in place of the comment; staff still see it here.",
        HideSerializer,
    )
    @action(detail=True, methods=["post"])
    def hide(self, request: Request, comment_id: str) -> Response:
        return self._act(HideSerializer, services.hide_comment)

    @_moderation_schema(
        "Show a hidden comment again, or approve a pending one",
        "The comment becomes visible to readers.",
        ReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def unhide(self, request: Request, comment_id: str) -> Response:
        return self._act(ReasonSerializer, services.unhide_comment)

    @_moderation_schema(
        "Remove a comment",
        "Leaves a tombstone: replies keep their place, readers no longer see the body. It "
        "cannot be undone.",
        RemoveSerializer,
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, comment_id: str) -> Response:
        return self._act(RemoveSerializer, services.remove_comment)

    @_moderation_schema(
        "Pin a comment",
        f"Shows a visible top-level comment at the top of the discussion (at most "
        f"{services.MAX_PINNED} per discussion).",
        None,
    )
    @action(detail=True, methods=["post"])
    def pin(self, request: Request, comment_id: str) -> Response:
        return self._act(None, services.pin_comment)

    @_moderation_schema("Unpin a comment", "It goes back to its place in time.", None)
    @action(detail=True, methods=["post"])
    def unpin(self, request: Request, comment_id: str) -> Response:
        return self._act(None, lambda c, **kw: services.pin_comment(c, pinned=False, **kw))

    @_moderation_schema(
        "Mark a reply as the answer",
        "Marks a visible reply as the answer to its question (one per question: another "
        "answer there is unmarked).",
        None,
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, comment_id: str) -> Response:
        return self._act(None, services.mark_answer)

    @_moderation_schema("Unmark the answer", "The reply is no longer shown as the answer.", None)
    @action(detail=True, methods=["post"])
    def unanswer(self, request: Request, comment_id: str) -> Response:
        return self._act(None, lambda c, **kw: services.mark_answer(c, is_answer=False, **kw))
