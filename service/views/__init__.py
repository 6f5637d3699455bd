"""The blueprints, one per resource, registered from one list."""

from service.views import (activities, alerts, analytics, api_keys, collaborations, ego, exports, maps, members,
                           organizations, recommendations, surveys, sync, vocabularies, webhooks)

BLUEPRINTS = (members.blp, organizations.blp, collaborations.blp, sync.blp, recommendations.blp, api_keys.blp,
              analytics.blp, exports.blp, maps.blp, ego.blp, vocabularies.blp, alerts.blp,
              webhooks.blp, activities.blp, surveys.blp, surveys.respond_blp)
