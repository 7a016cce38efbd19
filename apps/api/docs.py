"""/api/docs/: the API reference as a plain server-rendered page, built from the OpenAPI schema.

drf-spectacular's Redoc and Swagger UI load their JavaScript from a CDN, which fails on
air-gapped installs, tells a third party who reads the docs and runs unpinned code on the origin
of the signed-in dashboard; this page needs neither JavaScript nor the network and looks like the
rest of Candor. Redoc stays available at /api/redoc/ for those who prefer it (`RedocView`), from
a pinned copy in our own static files (static/vendor/README.md). There is no Swagger UI.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularRedocView

# The vendored bundle (static/vendor/README.md records its version and hash).
REDOC_BUNDLE = "vendor/redoc/redoc.standalone.js"
METHODS = ("get", "post", "put", "patch", "delete")
INLINE_CODE = re.compile(r"`([^`]+)`")


def inline_markdown(text: str) -> SafeString:
    """Escape text, then turn `code` into <code>code</code> (the only Markdown our docs use)."""
    return mark_safe(INLINE_CODE.sub(r"<code>\1</code>", escape(text)))  # noqa: S308 (escaped)


def type_label(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "allOf" in schema:
        return type_label(schema["allOf"][0])
    if "oneOf" in schema:
        return " or ".join(type_label(option) for option in schema["oneOf"])
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"] if value is not None)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {type_label(schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def schema_ref(content: dict[str, Any] | None) -> str:
    """The component name of a JSON body, or ''."""
    schema = (content or {}).get("application/json", {}).get("schema", {})
    return type_label(schema) if schema else ""


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    return {
        "description": inline_markdown(schema.get("description", "")),
        "properties": [
            {
                "name": name,
                "type": type_label(prop),
                "required": name in required,
                "read_only": prop.get("readOnly", False),
                "description": inline_markdown(prop.get("description", "")),
            }
            for name, prop in schema.get("properties", {}).items()
        ],
    }


def build_reference(spec: dict[str, Any]) -> dict[str, Any]:
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            operations.append(
                {
                    "anchor": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": inline_markdown(op.get("description", "")),
                    "parameters": [
                        {
                            "name": param["name"],
                            "location": param["in"],
                            "type": type_label(param.get("schema", {})),
                            "required": param.get("required", False),
                            "description": inline_markdown(param.get("description", "")),
                        }
                        for param in op.get("parameters", [])
                    ],
                    "request": schema_ref(op.get("requestBody", {}).get("content")),
                    "responses": [
                        {
                            "status": status,
                            "description": inline_markdown(response.get("description", "")),
                            "schema": schema_ref(response.get("content")),
                        }
                        for status, response in sorted(op.get("responses", {}).items())
                    ],
                    "read_only_ok": method == "get",
                }
            )
    components = spec.get("components", {})
    info = spec["info"]
    return {
        "info": {**info, "description": inline_markdown(info.get("description", ""))},
        "operations": operations,
        "schemas": {name: describe(body) for name, body in components.get("schemas", {}).items()},
        "security": [
            {"name": name, "description": inline_markdown(scheme.get("description", ""))}
            for name, scheme in components.get("securitySchemes", {}).items()
        ],
    }


@cache
def _cached_reference() -> dict[str, Any]:
    return build_reference(SchemaGenerator().get_schema(request=None, public=True))


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    # The schema only changes with the code, so each process builds the page data once: this is
    # a public page, and generating the schema takes most of a second on a large API. In DEBUG it
    # is rebuilt every time, so edits show up without a restart.
    if settings.DEBUG:
        reference = build_reference(SchemaGenerator().get_schema(request=None, public=True))
    else:
        reference = _cached_reference()
    return render(request, "api/docs.html", {"ref": reference})


class RedocView(SpectacularRedocView):
    """Redoc, served from our static files with a page of our own: drf-spectacular's page
    loads web fonts from Google and starts Redoc with an inline script, which the
    Content-Security-Policy refuses. Redoc searches in a web worker it makes from a blob: URL,
    so the route allows `worker-src blob:` for this page only (config/api_urls.py)."""

    template_name = "api/redoc.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return static(REDOC_BUNDLE)
