"""The dashboard's plain-language help: the findings panel in every form where staff write
public text, and the organization's word lists.

Without JavaScript the forms' "Check wording" button posts the whole form back: the incident
views see `check_requested(request)`, write nothing and render the same page with the text kept
and `plain_findings(request)` in the panel. With htmx the panel posts the form here as staff
type and swaps in the findings. Guidance only: nothing here stops a form from being published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.organizations.tenancy import org_view

from ..models import Postmortem
from . import checker
from .forms import PlainLanguageSettingsForm
from .models import PlainLanguageSettings
from .services import FIELDS, save_plain_language_settings

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The submit button's name in every form that has the panel.
CHECK_BUTTON = "check_wording"
# The public text fields of the incident forms, with the names staff see.
TEXT_FIELDS: dict[str, StrOrPromise] = {
    "name": gettext_lazy("Name"),
    "body": gettext_lazy("Message"),
    **dict(Postmortem.SECTIONS),
}


@dataclass(frozen=True)
class Part:
    label: StrOrPromise
    findings: checker.Findings


@dataclass(frozen=True)
class PanelFindings:
    overall: checker.Findings  # every field's text together: the score and the counts
    parts: list[Part]  # each field with text, and its hints

    @property
    def hint_count(self) -> int:
        return sum(part.findings.hint_count for part in self.parts)


def check_requested(request: HttpRequest) -> bool:
    """True when the form was posted with "Check wording" (nothing is saved then)."""
    return request.method == "POST" and CHECK_BUTTON in request.POST


def plain_findings(request: HttpRequest) -> PanelFindings:
    """The findings for the public text fields of the posted form, with the organization's
    lists."""
    lists = PlainLanguageSettings.for_org(request.organization).word_lists()
    texts = [
        (label, request.POST[name][: checker.MAX_TEXT_CHARS])
        for name, label in TEXT_FIELDS.items()
        if request.POST.get(name, "").strip()
    ]
    return PanelFindings(
        overall=checker.check_text("\n\n".join(text for _label, text in texts), lists),
        parts=[Part(label, checker.check_text(text, lists)) for label, text in texts],
    )


@org_view("incidents.edit")
@require_POST
def check(request: HttpRequest) -> HttpResponse:
    """The findings panel for the posted form (htmx, as staff type). Writes nothing."""
    return render(
        request,
        "incidents/plain/_findings.html",
        {"org": request.organization, "plain": plain_findings(request)},
    )


@org_view("org.view", write_permission="incidents.edit")
def settings_page(request: HttpRequest) -> HttpResponse:
    """The organization's word lists: members read them, editors and up change them."""
    organization = request.organization
    current = PlainLanguageSettings.for_org(organization)
    form = PlainLanguageSettingsForm(
        request.POST or None, initial={name: getattr(current, name) for name in FIELDS}
    )
    if request.method == "POST" and form.is_valid():
        try:
            save_plain_language_settings(organization, actor=request.principal, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, _("Word lists saved. Checks use them from now on."))
            return redirect("incidents:plain_settings", organization.slug)
    return render(
        request,
        "incidents/plain/settings.html",
        {
            "org": organization,
            "form": form,
            "can_edit": request.membership.can("incidents.edit"),
            "builtin_jargon": checker.BUILTIN_JARGON,
            "lists": current.word_lists(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )
