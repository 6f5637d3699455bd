"""Check-ins: surveys and their invitations (API keys), and answering by token (no key; /v1/respond and the
hosted page /respond)."""

from __future__ import annotations

import copy

from flask import Blueprint as FlaskBlueprint, request
from flask.views import MethodView

from schemas.surveys import (InvitationListArgsSchema, InvitationListSchema, InvitationRequestSchema,
                             IssuedInvitationsSchema, ReplayedInvitationsSchema, RespondPageSchema,
                             RespondResultSchema, ResponseBodySchema, SurveyListArgsSchema, SurveyPageSchema,
                             SurveyPatchSchema, SurveyResultsSchema, SurveySchema, WriteInListArgsSchema,
                             WriteInListSchema, WriteInMatchSchema, WriteInSchema)
from service.web.api import (BY_CREATION, Blueprint, created_headers, decode_cursor, errors, etag, if_match, page,
                         render)
from service.web.auth import add_error_responses, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import surveys
from service.views.explorer import static_asset, static_page

blp = Blueprint("surveys", __name__, url_prefix="/v1/surveys",
                description="Check-ins (relationship surveys): name generators (who do you go to for advice "
                            "about ...?) with trust, value and frequency scales, and questions that fill a "
                            "member's own fields. Invite members (a token each, shown once), follow who "
                            "answered, read the results; submitted names become ties with source "
                            "`survey:<id>`.")
respond_blp = Blueprint("respond", __name__, url_prefix="/v1/respond",
                        description="Answering a check-in with the token of its invitation, without an API key "
                                    "(rate-limited per address). The token is the whole credential: it answers "
                                    "its own check-in only, and stops working when the check-in closes.")
page_blp = FlaskBlueprint("respond_page", __name__)

_ETAG = {"ETag": {"schema": {"type": "string"}}}
_created = created_headers("surveys.Survey", "survey_id")


def _etag(survey: dict) -> dict[str, str]:
    return {"ETag": etag(survey["version"])}


@blp.route("")
class Surveys(MethodView):
    @requires("write")
    @idempotent(render(SurveySchema(), 201, _created))
    @blp.arguments(SurveySchema)
    @blp.response(201, SurveySchema, headers=_ETAG)
    def post(self, body):
        """Define a check-in"""
        survey = surveys.create(get_graph(), body)
        return survey, 201, _created(survey)

    @requires("read")
    @blp.arguments(SurveyListArgsSchema, location="query")
    @blp.response(200, SurveyPageSchema)
    def get(self, args):
        """List check-ins, newest first"""
        limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_CREATION)
        return page(surveys.list_page(get_graph(), limit=limit, after=after, status=args.get("status")), limit)


@blp.route("/<survey_id>")
class Survey(MethodView):
    @requires("read")
    @blp.response(200, SurveySchema, headers=_ETAG)
    @errors(404)
    def get(self, survey_id):
        """Get a check-in"""
        survey = surveys.get(get_graph(), survey_id)
        return survey, 200, _etag(survey)

    @requires("write")
    @blp.arguments(SurveyPatchSchema)
    @if_match
    @blp.response(200, SurveySchema, headers=_ETAG)
    @errors(404, 409)
    @blp.doc(description="Questions and opens_at change only while no one has saved an answer (409 "
                         "survey-answered); title and closes_at until the check-in closes.")
    def patch(self, changes, survey_id, expected_version):
        """Change a check-in"""
        survey = surveys.update(get_graph(), survey_id, changes, expected_version)
        return survey, 200, _etag(survey)


@blp.route("/<survey_id>/close")
class SurveyClose(MethodView):
    @requires("write")
    @blp.response(200, SurveySchema, headers=_ETAG)
    @errors(404, 409)
    @blp.doc(description="Its tokens stop working at once; raises the `survey.closed` alert (and webhook "
                         "event). Repeating it answers 409.")
    def post(self, survey_id):
        """Close a check-in now"""
        survey = surveys.close(get_graph(), survey_id)
        return survey, 200, _etag(survey)


# A retry under the same Idempotency-Key gets who was invited, without the tokens: they are shown once, and the
# stored response would otherwise keep them in the clear (invite again for new ones).
_SHOWN = render(IssuedInvitationsSchema(), 201)
_REPLAYED = render(ReplayedInvitationsSchema(), 201)


@blp.route("/<survey_id>/invitations")
class Invitations(MethodView):
    @requires("write")
    @idempotent(_SHOWN, replay=_REPLAYED)
    @blp.arguments(InvitationRequestSchema)
    @blp.response(201, IssuedInvitationsSchema)
    @errors(404, 409)
    @blp.doc(description="A token per member, single-respondent and unguessable, shown once (only its hash is "
                         "kept); it expires when the check-in closes. Inviting a member again replaces their "
                         "token (the old link stops working) and keeps their answers. Sending the links is the "
                         "partner app's or the CRM's.")
    def post(self, body, survey_id):
        """Invite members: a check-in link each"""
        return surveys.invite(get_graph(), survey_id, body["member_ids"], request.host_url.rstrip("/")), 201

    @requires("read")
    @blp.arguments(InvitationListArgsSchema, location="query")
    @blp.response(200, InvitationListSchema)
    @errors(404)
    def get(self, args, survey_id):
        """Who answered, who started, who has not (for reminders)"""
        return surveys.invitations(get_graph(), survey_id, args.get("status"))


@blp.route("/<survey_id>/results")
class Results(MethodView):
    @requires("analytics", "read")
    @blp.response(200, SurveyResultsSchema)
    @errors(404)
    def get(self, survey_id):
        """Response rates, nominations, reciprocity, trust and value, members never named"""
        return surveys.results(get_graph(), survey_id)


@blp.route("/<survey_id>/write-ins")
class WriteIns(MethodView):
    @requires("read")
    @blp.arguments(WriteInListArgsSchema, location="query")
    @blp.response(200, WriteInListSchema)
    @errors(404)
    def get(self, args, survey_id):
        """Names respondents wrote in, to match to members"""
        return {"items": surveys.write_ins(get_graph(), survey_id, args.get("status"))}


@blp.route("/<survey_id>/write-ins/<write_in_id>")
class WriteIn(MethodView):
    @requires("admin")
    @blp.arguments(WriteInMatchSchema)
    @blp.response(200, WriteInSchema)
    @errors(404, 409)
    @blp.doc(description="`member_id` matches it to a member; `create` makes a member of it. The respondent's "
                         "nomination and tie follow, as if the name had been picked from the list.")
    def post(self, body, survey_id, write_in_id):
        """Match a write-in to a member, or create one"""
        return surveys.match_write_in(get_graph(), survey_id, write_in_id, body)


def _token_errors(view):
    """A token route: no API key (security: []), and the problems a token can meet."""
    view._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
    view._apidoc.setdefault("manual_doc", {})["security"] = []
    add_error_responses(view._apidoc, 404, 409, 410, 429, 503)
    return view


@respond_blp.route("/<token>")
class Respond(MethodView):
    @_token_errors
    @respond_blp.response(200, RespondPageSchema)
    def get(self, token):
        """A check-in as its respondent sees it: questions, rosters (names only), their draft"""
        return surveys.respond_view(get_graph(), token)

    @_token_errors
    @respond_blp.arguments(ResponseBodySchema)
    @respond_blp.response(200, RespondResultSchema)
    @respond_blp.doc(description="`submit: false` saves a draft; `submit: true` submits, and a later submission "
                                 "replaces the earlier one (its ties updated, never doubled) until the check-in "
                                 "closes.")
    def put(self, body, token):
        """Save a draft, or submit"""
        return surveys.respond(get_graph(), token, body)


@page_blp.get("/respond/<token>")
def respond_page(token: str):
    """The hosted check-in page (static; its script reads the token from the address and calls /v1/respond)."""
    return static_page("respond.html", "no-store")


@page_blp.get("/respond/assets/<name>")
def respond_asset(name: str):
    """The page's own script and style sheet."""
    return static_asset(name, ("respond.js", "respond.css"))
