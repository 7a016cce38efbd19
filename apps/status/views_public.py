from __future__ import annotations

from django.shortcuts import render


def page(request):
    return render(request, "status/page.html", {"organization": request.organization})
