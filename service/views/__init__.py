"""The blueprints, one per resource, registered from one list."""

from service.views import api_keys, collaborations, members, organizations

BLUEPRINTS = (members.blp, organizations.blp, collaborations.blp, api_keys.blp)
