"""The dashboard's Scorecard page: the organization's figures over a window, week by week.

Read-only, for every member (`org.view`). `?days=` picks the window (7 to 365 days, 90 by
default); a bad value is a 400 with the form's message and no figures.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from apps.organizations.tenancy import org_view

from . import chart, figures

PRESETS = (30, 90, 180, 365)


class WindowForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Period"),
        min_value=figures.MIN_DAYS,
        max_value=figures.MAX_DAYS,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        message = _("Choose a number of days from %(min)s to %(max)s.") % {
            "min": figures.MIN_DAYS,
            "max": figures.MAX_DAYS,
        }
        self.fields["days"].error_messages.update(
            dict.fromkeys(("required", "invalid", "min_value", "max_value"), message)
        )


def _minutes_axis(value: float) -> str:
    return _("%(minutes)s min") % {"minutes": chart.number_text(value)}


def charts(card: figures.Scorecard) -> list[dict]:
    """The two trends that say whether the team talks to customers sooner and more reliably."""
    first_label, last_label = card.periods[0].label, card.periods[-1].label
    return [
        {
            "id": "chart-first-update",
            "heading": _("Time to first public update"),
            "svg": chart.line_chart(
                chart_id="chart-first-update",
                title=_("Median time to first public update, per week"),
                desc=_(
                    "Median minutes from an incident's start to its first public update, per "
                    "week, from %(first)s to %(last)s. Lower is better. Hollow dots on the "
                    "baseline mark weeks with no incident. The table below lists every figure."
                )
                % {"first": first_label, "last": last_label},
                points=[
                    chart.Point(
                        p.label,
                        p.first_update_minutes,
                        figures.duration_text(p.median_first_update)
                        if p.median_first_update is not None
                        else _("no incidents"),
                    )
                    for p in card.periods
                ],
                axis_label=_minutes_axis,
            ),
        },
        {
            "id": "chart-on-time",
            "heading": _("Updates on time"),
            "svg": chart.line_chart(
                chart_id="chart-on-time",
                title=_("Share of promised updates that came on time, per week"),
                desc=_(
                    "Percentage of updates that came by the time the previous update promised, "
                    "per week, from %(first)s to %(last)s. Higher is better. Hollow dots on the "
                    "baseline mark weeks where no promised time came due. The table below lists "
                    "every figure."
                )
                % {"first": first_label, "last": last_label},
                points=[
                    chart.Point(
                        p.label,
                        p.on_time_percent,
                        p.on_time_label if p.updates_promised else _("no promised update times"),
                    )
                    for p in card.periods
                ],
                axis_label=lambda value: f"{chart.number_text(value)}%",
                fixed_max=100,
            ),
        },
    ]


@org_view("org.view")
@require_safe
def scorecard(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]  # set by org_view
    form = WindowForm(request.GET or {"days": figures.DEFAULT_DAYS})
    context: dict = {
        "org": organization,
        "form": form,
        "presets": PRESETS,
        "target_days": figures.POSTMORTEM_TARGET_DAYS,
    }
    status = 200
    if form.is_valid():
        days = form.cleaned_data["days"]
        card = figures.organization_scorecard(organization, days=days)
        context.update(
            card=card,
            charts=charts(card) if card.incidents else [],
            # A period typed into the address (?days=14) is offered too, so it shows selected.
            presets=sorted({*PRESETS, days}),
        )
    else:
        status = 400
    with timezone.override(organization.tzinfo):
        return render(request, "incidents/dashboard/scorecard.html", context, status=status)
