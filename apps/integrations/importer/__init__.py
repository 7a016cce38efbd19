"""Import from another status page (Statuspage's summary.json and incidents.json): a dry run,
then the import. Dashboard views in views.py; the URLs are the app's urls_dashboard.py; the
command is management/commands/import_statuspage.py.
"""
