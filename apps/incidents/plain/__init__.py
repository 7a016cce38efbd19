"""Plain-language help for the public text staff write (issue 12).

A sub-package of incidents (docs/architecture.md, "one sub-package per sub-domain"): the checker
(`checker.py`: reading ease from textstat, overlong sentences, jargon, words that play the impact
down), the organization's own word lists (`models.py`, `services.py`, `forms.py`), the dashboard's
findings panel and settings page (`views.py`) and `POST /api/v1/text-check/` (`api.py`).

Guidance only: nothing here is ever asked before publishing, and no service refuses text for it.
"""
