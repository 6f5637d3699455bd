"""The committed openapi.yaml is what the code generates, and documents security and errors."""

import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from marshmallow import ValidationError

from schemas.common import LINE_PATTERN, TEXT_PATTERN, trimmed

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"
README = Path(__file__).resolve().parent.parent / "README.md"
UNAUTHENTICATED = {"/healthz", "/readyz", "/openapi.yaml", "/docs", "/openapi.json"}


def _generated(app) -> str:
    return app.extensions["netweave.api"].spec.to_yaml()


def test_committed_openapi_matches_the_code(app):
    assert COMMITTED.read_text(encoding="utf-8") == _generated(app), (
        "openapi.yaml drifted from the code: regenerate it with `netweave openapi -o openapi.yaml`")


def test_openapi_is_3_1_and_served(client, app):
    spec = yaml.safe_load(_generated(app))
    assert spec["openapi"] == "3.1.0"
    served = client.get("/openapi.yaml")
    assert served.status_code == 200 and yaml.safe_load(served.data) == spec
    assert client.get("/docs").status_code == 200
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.data


def test_every_operation_documents_security_and_problem_errors(app):
    spec = yaml.safe_load(_generated(app))
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
                  if method in {"get", "post", "put", "patch", "delete"}]
    assert len(operations) >= 22
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        if path.startswith("/v1/respond/"):      # the invitation's token in the path is the credential
            assert op.get("security") == [], where
            assert {"404", "410", "429", "503"} <= set(map(str, op["responses"])), where
        else:
            assert op.get("security") == [{"bearerAuth": []}], where
            assert {"401", "403", "503"} <= set(map(str, op["responses"])), where
        assert op.get("summary"), where
        # Affiliations and keys carry no version: PUT replaces, DELETE removes or revokes.
        if method in {"patch", "delete"} and "api-keys" not in path and "affiliations" not in path:
            assert {"412", "428"} <= set(map(str, op["responses"])), where
    for name, response in spec["components"]["responses"].items():
        if name in {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "UNPROCESSABLE_CONTENT", "DEFAULT_ERROR"}:
            assert list(response["content"]) == ["application/problem+json"], name


def test_every_operation_declares_the_answers_any_request_can_get_before_its_view(app):
    """414 and 431 from the size limits and 400 for a malformed request: problem+json, from the app or
    from gunicorn itself (service/web/request_limits.py), on any operation."""
    spec = yaml.safe_load(_generated(app))
    refs = {"400": "BAD_REQUEST", "414": "REQUEST_URI_TOO_LONG", "431": "REQUEST_HEADER_FIELDS_TOO_LARGE"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                for status, name in refs.items():
                    assert op["responses"][status] == {"$ref": f"#/components/responses/{name}"}, (method, path)
    for status, name in refs.items():
        response = spec["components"]["responses"][name]
        assert list(response["content"]) == ["application/problem+json"], name
    assert "4,094 bytes" in spec["components"]["responses"]["REQUEST_URI_TOO_LONG"]["description"]


def test_the_document_and_docs_show_the_package_version(app, client):
    version = metadata.version("netweave")
    assert _spec(app)["info"]["version"] == version
    assert client.get("/openapi.json").get_json()["info"]["version"] == version


def test_readme_names_the_document_paths_the_docs_page_reads(client):
    readme = README.read_text(encoding="utf-8")
    page = client.get("/docs").get_data(as_text=True)
    # The page starts Swagger UI from a script file of its own (no inline script under its policy).
    scripts = "".join(client.get(src).get_data(as_text=True) for src in re.findall(r'<script src="([^"]+)"', page)
                      if src.startswith("/docs/assets/netweave"))
    [spec_url] = re.findall(r'url: "([^"]+)"', scripts)
    for path in ("/openapi.yaml", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path
        assert f"`{path}`" in readme or f"GET {path}`" in readme, f"the README does not name {path}"
    assert spec_url in ("/openapi.yaml", "/openapi.json")
    assert re.search(rf"`/docs`[^.]*`{re.escape(spec_url)}`|`{re.escape(spec_url)}`[^.]*`/docs`", readme), (
        f"the README does not say /docs reads {spec_url}")


def _spec(app) -> dict:
    return yaml.safe_load(_generated(app))


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_path_ids_are_documented_as_uuids(app):
    """Found by schemathesis: any string was a valid `*_id` in the document, while the API wants a UUID."""
    spec = _spec(app)
    ids = [(path, p) for path, item in spec["paths"].items()
           for p in [*item.get("parameters", []), *(p for op in item.values() if isinstance(op, dict)
                                                    for p in op.get("parameters", []))]
           if p.get("in") == "path" and p["name"].endswith("_id")]
    assert len(ids) >= 12
    for path, parameter in ids:
        assert parameter["schema"] == {"type": "string", "format": "uuid"}, (path, parameter["name"])


def test_document_states_the_rules_the_api_checks(app):
    """Rules found by schemathesis that marshmallow checked but the document did not say."""
    spec = _spec(app)
    schemas = spec["components"]["schemas"]
    for patch in ("MemberPatch", "OrganizationPatch", "CollaborationPatch"):
        assert schemas[patch]["minProperties"] == 1, patch
    assert schemas["Member"]["properties"]["name"]["pattern"] == LINE_PATTERN
    assert schemas["Collaboration"]["properties"]["note"]["pattern"] == TEXT_PATTERN
    clusters = {p["name"]: p for p in spec["paths"]["/v1/analytics/clusters"]["get"]["parameters"] if "name" in p}
    assert clusters["resolution"]["schema"]["exclusiveMinimum"] == 0
    compare = {p["name"]: p for p in spec["paths"]["/v1/analytics/health/compare"]["get"]["parameters"] if "name" in p}
    assert {s["format"] for s in compare["from"]["schema"]["anyOf"]} == {"uuid", "date"}
    post = {p["name"]: p for p in spec["paths"]["/v1/members"]["post"]["parameters"] if "name" in p}
    assert post["Idempotency-Key"]["schema"]["pattern"] == r"^[!-~]([ -~]*[!-~])?$"


@pytest.mark.parametrize("collection, item, id_param, methods", [
    ("/v1/members", "/v1/members/{member_id}", "member_id", {"get", "patch", "delete"}),
    ("/v1/organizations", "/v1/organizations/{organization_id}", "organization_id", {"get", "patch", "delete"}),
    ("/v1/collaborations", "/v1/collaborations/{collaboration_id}", "collaboration_id", {"get", "patch", "delete"}),
    ("/v1/introductions", "/v1/introductions/{introduction_id}", "introduction_id", {"get", "patch"}),
    ("/v1/api-keys", "/v1/api-keys/{key_id}", "key_id", {"delete"}),
])
def test_create_links_to_get_patch_and_delete_with_the_etag(app, collection, item, id_param, methods):
    spec = _spec(app)
    links = spec["paths"][collection]["post"]["responses"]["201"]["links"].values()
    pointer = "#/paths/" + item.replace("/", "~1") + "/"
    linked = {link["operationRef"].removeprefix(pointer): link["parameters"] for link in links
              if link["operationRef"].startswith(pointer)}
    assert set(linked) == methods
    for method, parameters in linked.items():
        assert parameters[f"path.{id_param}"] == "$response.body#/id"
        assert method in spec["paths"][item]
        if method in ("patch", "delete") and "api-keys" not in item:
            assert parameters["header.If-Match"] == "$response.header.ETag"


@pytest.mark.parametrize("text", ["Ada", " Ada\u3000", "Ada\u2028Byron", "Ada\n", "\tAda", "Ctl\u000bVt", "Nul\u0000",
                                  "\u0085Ada", "Ada\u001c", "Del\u007f", " ", "\u00a0", "first\r\nsecond", "a\tb"])
@pytest.mark.parametrize("multiline", [False, True])
def test_the_documented_text_pattern_and_the_check_agree(text, multiline):
    """What the document's pattern allows (read as ECMAScript: `$` is the end of the string) loads, and only that."""
    pattern = (TEXT_PATTERN if multiline else LINE_PATTERN).removesuffix("$") + r"\Z"
    field = trimmed(200, multiline=multiline)
    try:
        field.deserialize(text)
        loads = True
    except ValidationError:
        loads = False
    assert loads == (re.search(pattern, text) is not None)
