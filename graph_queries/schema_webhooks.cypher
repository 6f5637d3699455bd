// Webhook endpoints and their deliveries (service/repositories/webhooks.py), applied at start-up; every
// statement is idempotent.

// name: schema_webhook_id
CREATE CONSTRAINT webhook_id IF NOT EXISTS FOR (w:Webhook) REQUIRE w.id IS UNIQUE

// name: schema_webhook_delivery_id
CREATE CONSTRAINT webhook_delivery_id IF NOT EXISTS FOR (d:WebhookDelivery) REQUIRE d.id IS UNIQUE

// name: schema_webhook_delivery_webhook
// An endpoint's deliveries: listed, replayed and deleted with it.
CREATE INDEX webhook_delivery_webhook IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.webhook_id)

// name: schema_webhook_delivery_created
// Deliveries past retention are purged oldest first.
CREATE INDEX webhook_delivery_created IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.created_at)
