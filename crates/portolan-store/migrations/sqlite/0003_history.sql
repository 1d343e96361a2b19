-- portolan registry, schema version 3: listener history. Agents send numbered reports
-- (full, or a delta against the last one the server acknowledged); each accepted report
-- appends what changed to history_events. Compaction folds events older than the
-- retention into one baseline per host (the listeners at that instant) and deletes them.

-- the sequence state of each host's agent: which agent instance, which report was last
-- acknowledged, and when it was observed
CREATE TABLE history_agents (
    host TEXT PRIMARY KEY NOT NULL,
    agent TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL
);

-- one row per listener that opened, closed or changed (owners, uid, inode)
CREATE TABLE history_events (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    at INTEGER NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('opened', 'closed', 'changed')),
    transport TEXT NOT NULL,
    addr TEXT NOT NULL,
    port INTEGER NOT NULL,
    listener TEXT NOT NULL,
    previous TEXT
);
CREATE INDEX history_events_host_at ON history_events (host, at, id);

-- the listeners of a host at the instant history was last compacted (events before it
-- are gone)
CREATE TABLE history_baselines (
    host TEXT PRIMARY KEY NOT NULL,
    at INTEGER NOT NULL,
    listeners TEXT NOT NULL
);
