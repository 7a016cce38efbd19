"""Dashboard import: upload, dry run, confirm; broken files import nothing."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.integrations.models import StagedImport

from .test_import import INCIDENTS, SUMMARY, counts


def upload(name: str, data) -> SimpleUploadedFile:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return SimpleUploadedFile(name, raw, content_type="application/json")


def test_it_works_dry_run_then_confirm(client, admin, org):
    client.force_login(admin)

    dry = client.post(
        f"/dashboard/{org.slug}/import/",
        {"summary": upload("summary.json", SUMMARY), "incidents": upload("i.json", INCIDENTS)},
    )

    page = dry.content.decode()
    assert dry.status_code == 200
    assert "Ready to import" in page
    assert "SMS Delivery Delays from Subset" in page
    assert counts(org) == (0, 0, 0, 0)

    staged = StagedImport.objects.get()
    confirmed = client.post(f"/dashboard/{org.slug}/import/{staged.public_id}/confirm/")

    assert confirmed.status_code == 302
    assert counts(org) == (1, 3, 2, 5)
    again = client.post(f"/dashboard/{org.slug}/import/{staged.public_id}/confirm/")
    assert again.status_code == 302
    assert counts(org) == (1, 3, 2, 5)


def test_a_broken_file_shows_the_problems_and_offers_no_import(client, admin, org):
    client.force_login(admin)
    broken = json.loads(json.dumps(SUMMARY))
    broken["components"][3]["status"] = "on_fire"

    response = client.post(
        f"/dashboard/{org.slug}/import/", {"summary": upload("summary.json", broken)}
    )

    page = response.content.decode()
    assert "cannot be imported" in page
    assert "on_fire" in page
    assert "Import now" not in page
    assert StagedImport.objects.count() == 0


def test_not_json_is_a_form_error(client, admin, org):
    client.force_login(admin)

    response = client.post(
        f"/dashboard/{org.slug}/import/", {"summary": upload("summary.json", b"<html>")}
    )

    assert "not valid JSON" in response.content.decode()
    assert counts(org) == (0, 0, 0, 0)


def test_an_editor_gets_403_and_an_outsider_404(client, editor, outsider, org):
    client.force_login(editor)
    assert client.get(f"/dashboard/{org.slug}/import/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/dashboard/{org.slug}/import/").status_code == 404


def test_uploading_imported_files_again_says_nothing_new(client, admin, org):
    client.force_login(admin)
    files = {"summary": upload("summary.json", SUMMARY), "incidents": upload("i.json", INCIDENTS)}
    client.post(f"/dashboard/{org.slug}/import/", files)
    client.post(f"/dashboard/{org.slug}/import/{StagedImport.objects.get().public_id}/confirm/")

    again = client.post(
        f"/dashboard/{org.slug}/import/",
        {"summary": upload("summary.json", SUMMARY), "incidents": upload("i.json", INCIDENTS)},
    )

    page = again.content.decode()
    assert "Nothing new to import" in page
    assert "Import now" not in page
    assert StagedImport.objects.count() == 1
