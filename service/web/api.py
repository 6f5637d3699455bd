"""The flask-smorest Api, adapted to problem+json, plus the cursor and ETag conventions."""

from __future__ import annotations

import copy
import functools
import http
import json
import re
from typing import Any, Callable

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_instance
from werkzeug.routing import BaseConverter
from webargs.flaskparser import FlaskParser, is_json_request
from flask import request
from flask_smorest import Api, Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response

from schemas.common import ProblemSchema, is_unicode_text
from schemas.vocabularies import Normalised
from service.repositories import vocabularies
from service.web import auth, get_graph, request_limits
from service.cursors import BY_CREATION, BY_NAME, BY_SEQ, decode_cursor, encode_cursor  # noqa: F401 (for the views)
from service.web.errors import PROBLEM_CONTENT_TYPE, Problem, field_error, from_http_exception, problem_response
from service.problems import stale


class NetweaveApi(Api):
    """Api whose errors, at run time and in the document, are RFC 9457 problems."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return problem_response(from_http_exception(error))

    def _register_responses(self):
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": request_limits.DESCRIPTIONS.get(status, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
                if status in (429, 503):
                    response["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                           "description": "seconds to wait before retrying"}}
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


_PATH_ID = re.compile(r"<(?:[^:>]+:)?([^>]+_id)>")


class BodyRequiredParser(FlaskParser):
    """Webargs' parser, except that a body-taking operation without a JSON body is an error.

    Webargs reads a missing or non-JSON body as `{}`, so a PUT with no body at all (or a form post)
    passed as an empty object: a schema whose fields are all optional then accepted it.
    """

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        """Webargs' parse; vocabulary filters (`term_filter`, in a query or a body such as a health snapshot's)
        then read as the vocabulary spells the word, so that ?kind=Co Teaching finds the co-teaching a write of
        "Co Teaching" stored."""
        data = super().parse(argmap, req, location=location, **kwargs)
        if location in ("query", "json") and isinstance(data, dict):
            # flask-smorest passes the schema class; its declared fields are the ones term_filter made.
            declared = getattr(argmap, "_declared_fields", None) or getattr(argmap, "fields", {})
            for name, spec in declared.items():
                if isinstance(spec, Normalised) and spec.vocabulary and data.get(name):
                    data[name] = vocabularies.listed_spelling(get_graph(), spec.vocabulary, data[name])
        return data

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not data:
            raise field_error("_schema", "a JSON body is required", location="json")
        if not is_json_request(req):
            raise Problem(415, f"send the body as application/json, not {req.mimetype or 'an unnamed type'}")
        return load_json_body(data)


class Unusable:
    """Stands in for a JSON value that Python parses but nothing downstream can hold: an integer longer than
    Python converts (4,300 digits), or a string with a lone surrogate ("\\ud800", which no UTF-8 encoder,
    the Neo4j driver's included, can write). The field that receives it fails as it would on a value of the
    wrong type: a 422 naming the field, or one failed record of a sync batch, never a crash."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


_MAX_INT_DIGITS = 4300
# Only a \u escape can put a surrogate into a parsed string (the UTF-8 decoder refuses encoded ones), so a
# body without one needs no search.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _json_int(text: str) -> int | Unusable:
    if len(text) - text.startswith("-") > _MAX_INT_DIGITS:
        return Unusable(f"an integer of more than {_MAX_INT_DIGITS} digits")
    return int(text)


def _not_json(constant: str):
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def _text_or_unusable(value: Any) -> Any:
    return value if type(value) is not str or is_unicode_text(value) else Unusable("text with a lone surrogate")


def _replace_lone_surrogates(document: Any) -> Any:
    """`document` with every string holding a lone surrogate replaced by Unusable (keys by their escaped
    spelling, which names no field); iterative, as the document may nest as deep as the parser allowed."""
    document = _text_or_unusable(document)
    stack = [document]
    while stack:
        container = stack.pop()
        if type(container) is dict:
            for key in [key for key in container if not is_unicode_text(key)]:
                container[key.encode("utf-8", "backslashreplace").decode("ascii")] = container.pop(key)
            items = container.items()
        elif type(container) is list:
            items = enumerate(container)
        else:
            continue
        for place, value in list(items):
            container[place] = _text_or_unusable(value)
            stack.append(value)
    return document


def load_json_body(data: bytes) -> Any:
    """A request body parsed as JSON (RFC 8259: UTF-8, no NaN or Infinity), unusable values marked.

    Nesting deep enough to exhaust the parser's recursion is a 400 naming the body, not a crash; webargs
    turns a JSONDecodeError or UnicodeDecodeError into its 400 "Invalid JSON body".
    """
    try:
        document = json.loads(data.decode("utf-8"), parse_int=_json_int, parse_constant=_not_json)
    except RecursionError:
        raise field_error("_schema", "nested too deeply", location="json", status=400) from None
    return _replace_lone_surrogates(document) if _SURROGATE_ESCAPE.search(data) else document


class Blueprint(SmorestBlueprint):
    """A blueprint whose query arguments, like bodies, reject unknown fields (webargs ignores them by default),
    and whose `*_id` path parameters are documented as the UUIDs `requires` checks them to be."""

    ARGUMENTS_PARSER = BodyRequiredParser(unknown=None)

    def route(self, rule, *, parameters=None, **options):
        documented = {p["name"] for p in parameters or [] if isinstance(p, dict)}
        ids = [{"in": "path", "name": name, "required": True, "schema": {"type": "string", "format": "uuid"},
                "description": "an id the API assigned (a UUID)"}
               for name in _PATH_ID.findall(rule) if name not in documented]
        return super().route(rule, parameters=[*(parameters or []), *ids], **options)


class NetweaveConverter(OpenAPIConverter):
    """Adds a schema's `json_schema_extra` (rules marshmallow checks in code, e.g. minProperties) to its document."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_attribute_function(_property_names)

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        jsonschema.update(getattr(schema, "json_schema_extra", {}))
        # A sync request documents its records as its resource's record (schemas.sync.sync_request_schema). Any
        # object is taken: a record that is not of that shape fails alone, its errors in its result (207), so
        # the document says "this shape, or another object", not "only this shape".
        record = getattr(schema, "record_schema", None)
        if record is not None and "records" in jsonschema.get("properties", {}):
            jsonschema["properties"]["records"]["items"] = {
                "anyOf": [self.resolve_nested_schema(record), {"type": "object"}],
                "description": "a record of this shape; one that is not fails alone, its result saying why"}
        return jsonschema

    def schema2parameters(self, schema, *, location, **kwargs):
        """A schema's parameters, less those it names in `undocumented_parameters` (query keys OpenAPI cannot
        name, such as `attr.NAME`; the operation's description documents them)."""
        parameters = super().schema2parameters(schema, location=location, **kwargs)
        hidden = getattr(resolve_schema_instance(schema), "undocumented_parameters", ())
        return [parameter for parameter in parameters if parameter.get("name") not in hidden]


def _property_names(converter, field, **kwargs) -> dict[str, Any]:
    """A Dict field's key rule (its metadata's `propertyNames`), which apispec does not carry by itself."""
    names = field.metadata.get("propertyNames")
    return {"propertyNames": names} if names else {}


class NetweavePlugin(MarshmallowPlugin):
    Converter = NetweaveConverter


class MemberIdConverter(BaseConverter):
    """A member id segment that is not the name of a route beside it (`/v1/members/duplicates`): without it,
    PATCH /v1/members/duplicates reached the member route and answered 422 instead of 405."""

    regex = r"(?!duplicates$)[^/]+"


def create_api(app) -> NetweaveApi:
    from service.web.bookmarks import BookmarkDocs

    app.url_map.converters["member"] = MemberIdConverter
    api = NetweaveApi(spec_kwargs={"marshmallow_plugin": NetweavePlugin(),
                                   "extra_plugins": [BookmarkDocs(), request_limits.RequestLimitDocs()]})
    api.register_converter(MemberIdConverter, lambda converter: {"type": "string"})
    return api


def errors(*statuses: int) -> Callable:
    """Document that an operation may answer these problem statuses."""

    def decorator(view: Callable) -> Callable:
        view._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        auth.add_error_responses(view._apidoc, *statuses)
        return view

    return decorator


def render(schema, status: int | Callable[[Any], int],
           headers: Callable[[Any], dict[str, str]] | None = None) -> Callable[[Any], Any]:
    """How a view shows the result of its write: the response an Idempotency-Key replays."""
    from flask import current_app

    def build(result: Any):
        response = current_app.json.response(schema.dump(result))
        response.status_code = status(result) if callable(status) else status
        if headers is not None:
            response.headers.update(headers(result))
        return response

    return build


# --- cursor pagination -------------------------------------------------------------------

def page(rows: list[dict[str, Any]], limit: int, item: str = "item") -> dict[str, Any]:
    """Rows fetched with LIMIT limit+1 (each with `item` and `sort_key`) as one page."""
    items = [row[item] for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]["sort_key"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


# --- optimistic concurrency ----------------------------------------------------------------

def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int | None:
    """The version If-Match asks for (None for `*`); 428 without the header.

    A weak or foreign tag can never match a strong ETag of ours, so it is a 412.
    """
    header = request.headers.get("If-Match")
    if header is None:
        raise Problem(428, "send If-Match with the ETag from GET, so concurrent edits are not lost",
                      slug="precondition-required")
    header = header.strip()
    if header == "*":
        return None
    if header.startswith('"') and header.endswith('"') and _VERSION.fullmatch(header[1:-1]):
        return int(header[1:-1])
    raise stale()


# ASCII digits only (str.isdigit also takes "²", which int() refuses), and no more than a 64-bit version holds.
_VERSION = re.compile(r"[0-9]{1,18}")


def created_headers(endpoint: str, id_arg: str) -> Callable[[dict[str, Any]], dict[str, str]]:
    """The ETag and Location of a resource a POST created (one function for the view and its replay)."""
    from flask import url_for

    def headers(resource: dict[str, Any]) -> dict[str, str]:
        return {"ETag": etag(resource["version"]), "Location": url_for(endpoint, **{id_arg: resource["id"]})}

    return headers


def if_match(view: Callable) -> Callable:
    """Pass the version If-Match names to the view as `expected_version`; documents 412/428.

    Place it under @blp.arguments: a malformed request is a 422 whatever version it names.
    """
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        return view(*args, expected_version=expected_version(), **kwargs)

    apidoc = wrapper._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["parameters"] = [*manual.get("parameters", []), {
        "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
        "description": "the ETag from GET (or `*`): the change applies only to that version"}]
    auth.add_error_responses(apidoc, 412, 428)
    return wrapper


# --- OpenAPI links: how one response leads to the next call --------------------------------

def operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of this document (`/v1/members/{member_id}`, `get`)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def item_links(path: str, id_param: str, *methods: str, source: str = "$response.body#/id",
               etag: str | None = "$response.header.ETag") -> dict[str, dict[str, Any]]:
    """Links from a response naming a resource to its item operations; PATCH and DELETE carry its ETag."""
    found: dict[str, dict[str, Any]] = {}
    for method in methods:
        parameters = {f"path.{id_param}": source}
        if method in ("patch", "delete") and etag is not None:
            parameters["header.If-Match"] = etag
        found[f"{method.capitalize()}{_camel(id_param.removesuffix('_id'))}"] = {
            "operationRef": operation_ref(path, method), "parameters": parameters}
    return found


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def links(status: int, **named: dict[str, Any]) -> Callable:
    """Document OpenAPI links on the `status` response (clients and schemathesis' stateful phase follow them)."""

    def decorator(view: Callable) -> Callable:
        view._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        response = view._apidoc.setdefault("manual_doc", {}).setdefault("responses", {}).setdefault(status, {})
        response.setdefault("links", {}).update(named)
        return view

    return decorator
