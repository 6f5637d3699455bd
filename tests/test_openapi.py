"""The committed openapi.yaml is what the code generates, and documents security and errors."""

from pathlib import Path

import yaml

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"
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
        assert op.get("security") == [{"bearerAuth": []}], where
        assert {"401", "403", "503"} <= set(map(str, op["responses"])), where
        assert op.get("summary"), where
        # Affiliations and keys carry no version: PUT replaces, DELETE removes or revokes.
        if method in {"patch", "delete"} and "api-keys" not in path and "affiliations" not in path:
            assert {"412", "428"} <= set(map(str, op["responses"])), where
    for name, response in spec["components"]["responses"].items():
        if name in {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "UNPROCESSABLE_CONTENT", "DEFAULT_ERROR"}:
            assert list(response["content"]) == ["application/problem+json"], name
