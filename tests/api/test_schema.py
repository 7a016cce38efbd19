from __future__ import annotations

from django.core.management import call_command


def test_the_openapi_schema_generates_without_warnings_and_validates(db, tmp_path):
    schema = tmp_path / "schema.yml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(schema))

    text = schema.read_text()
    assert "/api/v1/organization/:" in text
    assert "ApiKeyAuth:" in text
    assert "scheme: bearer" in text


def test_the_schema_is_public(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/organization/" in response.content


def test_the_schema_ignores_a_bad_key_rather_than_refusing(client, db):
    response = client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer cnd_revoked")

    assert response.status_code == 200


def test_the_docs_page_is_public_and_lists_every_operation(client, db):
    response = client.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/api/v1/organization/" in page
    assert "Authorization: Bearer" in page
    assert 'id="schema-Organization"' in page


def test_the_docs_page_needs_no_third_party_script(client, db):
    response = client.get("/api/docs/")

    assert b"cdn." not in response.content
    assert b'src="http' not in response.content


def test_the_redoc_page_is_public(client, db):
    response = client.get("/api/redoc/")

    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def test_every_operation_documents_the_errors_it_can_answer_with(client, db):
    """Each operation lists 401/429 (any request) and 400 wherever input is read: a body, query
    filters or an Idempotency-Key header (a bad key is a 400 even on a body-less POST)."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    missing = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = set(operation.get("responses", {}))
            needed = {"401", "429"}
            parameters = {p["name"] for p in operation.get("parameters", [])}
            if "requestBody" in operation or "Idempotency-Key" in parameters:
                needed.add("400")
            missing += [f"{method.upper()} {path}: {code}" for code in sorted(needed - codes)]

    assert missing == []
