"""A member's ego network: the members around it and the ties among them."""

from __future__ import annotations

from flask import url_for

from schemas.ego import EgoArgsSchema, EgoNetworkSchema
from service.web.api import Blueprint, errors
from service.web.auth import requires
from service.web import get_graph
from service.repositories import ego

blp = Blueprint("ego", __name__, url_prefix="/v1/members",
                description="A member's ego network: its collaborators (and theirs), with the ties among them.")


@blp.route("/<member_id>/network")
@requires("read")
@blp.arguments(EgoArgsSchema, location="query")
@blp.response(200, EgoNetworkSchema)
@errors(404)
def network(args, member_id):
    """A member's ego network: the members within one or two steps and the ties among them"""
    found = ego.ego_network(get_graph(), member_id, **args)
    picture = url_for("maps.MapSvg", member_id=member_id, depth=found["depth"],
                      **({"as_of": args["as_of"].isoformat()} if args.get("as_of") else {}))
    return {**found, "picture": picture}
