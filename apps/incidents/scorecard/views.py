"""The dashboard's Scorecard page: the organization's figures over a window, week by week.

Read-only, for every member (`org.view`). `?days=` picks the window (7 to 365 days, 90 by
default); a bad value is a 400 with the form's message and no figures.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.organizations.tenancy import org_view

from . import chart, figures

PRESETS = (30, 90, 180, 365)


class WindowForm(forms.Form):
    days = forms.IntegerField(
        label="Period",
        min_value=figures.MIN_DAYS,
        max_value=figures.MAX_DAYS,
        error_messages={
            key: f"Choose a number of days from {figures.MIN_DAYS} to {figures.MAX_DAYS}."
            for key in ("required", "invalid", "min_value", "max_value")
        },
    )


def _minutes_axis(value: float) -> str:
    return f"{chart.number_text(value)} min"


def charts(card: figures.Scorecard) -> list[dict]:
    """The two trends that say whether the team talks to customers sooner and more reliably."""
    first_label, last_label = card.periods[0].label, card.periods[-1].label
    span = f"per week, from {first_label} to {last_label}"
    return [
        {
            "id": "chart-first-update",
            "heading": "Time to first public update",
            "svg": chart.line_chart(
                chart_id="chart-first-update",
                title="Median time to first public update, per week",
                desc=f"Median minutes from an incident's start to its first public update, "
                f"{span}. Lower is better. Hollow dots on the baseline mark weeks with no "
                "incident. The table below lists every figure.",
                points=[
                    chart.Point(
                        p.label,
                        p.first_update_minutes,
                        figures.duration_text(p.median_first_update)
                        if p.median_first_update is not None
                        else "no incidents",
                    )
                    for p in card.periods
                ],
                axis_label=_minutes_axis,
            ),
        },
        {
            "id": "chart-on-time",
            "heading": "Updates on time",
            "svg": chart.line_chart(
                chart_id="chart-on-time",
                title="Share of promised updates that came on time, per week",
                desc=f"Percentage of updates that came by the time the previous update promised, "
                f"{span}. Higher is better. Hollow dots on the baseline mark weeks where no "
                "promised time came due. The table below lists every figure.",
                points=[
                    chart.Point(
                        p.label,
                        p.on_time_percent,
                        p.on_time_label if p.updates_promised else "no promised update times",
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
