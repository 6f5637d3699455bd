"""Webhooks: delivering the change feed and alerts to subscribed endpoints, signed as Standard Webhooks,
over outbound connections that refuse private addresses, with signing secrets sealed at rest."""
