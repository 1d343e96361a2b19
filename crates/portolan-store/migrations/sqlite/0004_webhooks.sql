-- portolan registry, schema version 4: alerts through webhooks. An admin registers a URL
-- and the events it wants; the server POSTs each event as JSON signed with the webhook's
-- secret (HMAC-SHA256), retrying with backoff, and logs every delivery here.

-- one row per webhook; `events` is the sorted, space-separated event names; `secret`
-- is kept in clear because signing needs it (the API never returns it after creation)
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    label TEXT NOT NULL,
    created INTEGER NOT NULL
);

-- one row per event sent to a webhook: its body, where the delivery stands, how many
-- attempts it took, the last HTTP status and the last error
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    response INTEGER,
    error TEXT
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, id);
