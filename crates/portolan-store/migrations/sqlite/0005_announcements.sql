-- portolan registry, schema version 5: which periodic webhook events were announced, so a
-- restarted server does not announce them again and several servers on one database
-- announce each once. `event` is the event name (`agent-stale`, `lease-expiring`),
-- `subject` what it is about (a host, a leased service), `mark` the fact announced (the
-- host's last report time, the lease's end): a new mark is a new announcement. The first
-- server to insert a row announces; the others find it there.
CREATE TABLE webhook_announcements (
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    mark INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (event, subject, mark)
);
