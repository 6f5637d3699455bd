"""Vocabularies and custom attributes: each network's own words and fields."""

from __future__ import annotations

import functools
import re

from flask import request
from flask.views import MethodView

from schemas.attributes import (NAME_PATTERN, TARGETS, AttributeDefinitionListSchema, AttributeDefinitionSchema,
                                AttributeListArgsSchema)
from schemas.common import ATTRIBUTE_NAME_RULE
from schemas.vocabularies import (NAMES, VocabularyListSchema, VocabularyMergeResultSchema, VocabularyMergeSchema,
                                  VocabularySchema)
from service.web.api import Blueprint, errors, etag, expected_version, if_match, render
from service.web.auth import requires
from service.web import get_graph
from service.problems import field_error
from service.web.idempotency import idempotent
from service.repositories import attributes, vocabularies

blp = Blueprint("vocabularies", __name__, url_prefix="/v1",
                description="A network's own words (member roles, organization kinds, collaboration kinds, "
                            "affiliation roles) and its own typed fields on members, organizations and "
                            "collaborations.")

_ETAG = {"ETag": {"schema": {"type": "string"}}}
_NAME = {"in": "path", "name": "name", "required": True, "schema": {"type": "string", "enum": list(NAMES)}}
_TARGET = {"in": "path", "name": "target", "required": True, "schema": {"type": "string", "enum": list(TARGETS)}}
_ATTRIBUTE = {"in": "path", "name": "name", "required": True,
              "schema": {"type": "string", "pattern": NAME_PATTERN}}


def _vocabulary_path(view):
    """A 404 naming `name` unless the path names a vocabulary, before If-Match or the body are looked at."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if kwargs["name"] not in NAMES:
            raise field_error("name", f"one of {', '.join(NAMES)}", location="path", status=404)
        return view(*args, **kwargs)

    return checked


def _attribute_path(view):
    """A problem naming `target` or `name` unless the path names an attribute, before If-Match or the body."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if kwargs["target"] not in TARGETS:
            raise field_error("target", f"one of {', '.join(TARGETS)}", location="path", status=404)
        if not re.fullmatch(NAME_PATTERN, kwargs["name"]):
            raise field_error("name", ATTRIBUTE_NAME_RULE, location="path")
        return view(*args, **kwargs)

    return checked


@blp.route("/vocabularies")
@requires("read")
@blp.response(200, VocabularyListSchema)
def list_vocabularies():
    """List the vocabularies with their values"""
    return {"items": vocabularies.list_all(get_graph())}


@blp.route("/vocabularies/<name>", parameters=[_NAME])
class Vocabulary(MethodView):
    @requires("read")
    @_vocabulary_path
    @blp.response(200, VocabularySchema, headers=_ETAG)
    @errors(404)
    def get(self, name):
        """Get a vocabulary"""
        vocabulary = vocabularies.get(get_graph(), name)
        return vocabulary, 200, {"ETag": etag(vocabulary["version"])}

    @requires("admin")
    @_vocabulary_path
    @blp.arguments(VocabularySchema)
    @if_match
    @blp.response(200, VocabularySchema, headers=_ETAG)
    @errors(404, 409)
    def put(self, body, name, expected_version):
        """Set a vocabulary's policy and values"""
        vocabulary = vocabularies.replace(get_graph(), name, body["policy"], body["values"],
                                          expected_version)
        return vocabulary, 200, {"ETag": etag(vocabulary["version"])}


@blp.route("/vocabularies/<name>/merge", methods=["POST"], parameters=[_NAME])
@requires("admin")
@_vocabulary_path
@idempotent(render(VocabularyMergeResultSchema(), 200))
@blp.arguments(VocabularyMergeSchema)
@blp.response(200, VocabularyMergeResultSchema)
@errors(404)
def merge_values(body, name):
    """Fold values into one, rewriting the graph"""
    return vocabularies.merge(get_graph(), name, body["from_"], body["into"])


@blp.route("/attributes")
@requires("read")
@blp.arguments(AttributeListArgsSchema, location="query")
@blp.response(200, AttributeDefinitionListSchema)
def list_attributes(args):
    """List the custom attribute definitions"""
    return {"items": attributes.list_definitions(get_graph(), args.get("target"))}


@blp.route("/attributes/<target>/<name>", parameters=[_TARGET, _ATTRIBUTE])
class Attribute(MethodView):
    @requires("read")
    @_attribute_path
    @blp.response(200, AttributeDefinitionSchema, headers=_ETAG)
    @errors(404)
    def get(self, target, name):
        """Get a custom attribute definition"""
        definition = attributes.get_definition(get_graph(), target, name)
        return definition, 200, {"ETag": etag(definition["version"])}

    @requires("admin")
    @_attribute_path
    @blp.arguments(AttributeDefinitionSchema)
    @blp.response(200, AttributeDefinitionSchema, headers=_ETAG)
    @blp.alt_response(201, schema=AttributeDefinitionSchema, success=True, description="the attribute was defined")
    @errors(404, 409, 412)
    def put(self, body, target, name):
        """Define or change a custom attribute (If-Match optional)"""
        version = expected_version() if "If-Match" in request.headers else None
        definition, created = attributes.put_definition(get_graph(), target, name, body, version)
        return definition, 201 if created else 200, {"ETag": etag(definition["version"])}

    @requires("admin")
    @_attribute_path
    @if_match
    @blp.response(204)
    @errors(404)
    def delete(self, target, name, expected_version):
        """Remove a custom attribute and every value of it"""
        attributes.delete_definition(get_graph(), target, name, expected_version)
