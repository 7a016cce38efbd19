"""Inbound alerts: Alertmanager, Grafana and generic JSON webhooks open, update and resolve
incidents (docs/inbound-alerts.md). Dashboard views in views.py, the webhook receiver in
views_hooks.py, the management API in api.py; the URLs are the app's urls_dashboard.py and
urls_hooks.py.
"""
