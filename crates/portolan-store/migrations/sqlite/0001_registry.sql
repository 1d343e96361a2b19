-- portolan registry, schema version 1 (SQLite). Times are seconds since the Unix epoch;
-- `doc` columns hold an entity's spec table as JSON, exactly as written.

-- [spec], [environments], [[routes]], [[flows]], [lint]: kept whole
CREATE TABLE spec_sections (
    key TEXT PRIMARY KEY NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE networks (
    name TEXT PRIMARY KEY NOT NULL,
    cidrs TEXT NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE hosts (
    name TEXT PRIMARY KEY NOT NULL,
    environment TEXT NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE projects (
    name TEXT PRIMARY KEY NOT NULL,
    port_range TEXT,
    doc TEXT NOT NULL
);

CREATE TABLE blocks (
    project TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    ports TEXT NOT NULL,
    purpose TEXT,
    PRIMARY KEY (project, name)
);

CREATE TABLE services (
    name TEXT PRIMARY KEY NOT NULL,
    project TEXT,
    block TEXT,
    status TEXT NOT NULL,
    lease_until INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX services_lease ON services (lease_until) WHERE lease_until IS NOT NULL;

-- every binding of every service expanded onto its hosts
CREATE TABLE bindings (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL REFERENCES services (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    environment TEXT NOT NULL,
    transport TEXT NOT NULL,
    port_lo INTEGER NOT NULL,
    port_hi INTEGER NOT NULL,
    bind TEXT NOT NULL,
    app TEXT,
    publisher TEXT NOT NULL,
    exposure TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX bindings_service ON bindings (service);
CREATE INDEX bindings_host_port ON bindings (host, transport, port_lo);

-- ports handed out by the registry (a lease is an allocation with an end)
CREATE TABLE allocations (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL UNIQUE REFERENCES services (name) ON DELETE CASCADE,
    project TEXT NOT NULL,
    block TEXT,
    host TEXT,
    transport TEXT NOT NULL,
    port_lo INTEGER NOT NULL,
    port_hi INTEGER NOT NULL,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    who TEXT NOT NULL
);

-- one row per allocated port: the unique key makes a concurrent duplicate fail
CREATE TABLE allocated_ports (
    host TEXT NOT NULL,
    transport TEXT NOT NULL,
    port INTEGER NOT NULL,
    allocation INTEGER NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    PRIMARY KEY (host, transport, port)
);
CREATE INDEX allocated_ports_allocation ON allocated_ports (allocation);

CREATE TABLE reservations (
    id INTEGER PRIMARY KEY,
    ports TEXT NOT NULL,
    project TEXT,
    host TEXT,
    why TEXT NOT NULL,
    until_date TEXT
);

-- the last listeners an agent reported per host
CREATE TABLE observations (
    host TEXT PRIMARY KEY NOT NULL,
    listeners TEXT NOT NULL,
    at INTEGER NOT NULL
);

CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    doc TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX findings_source ON findings (source);

-- the fields of portolan-alloc's log Entry
CREATE TABLE log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    service TEXT,
    project TEXT,
    block TEXT,
    host TEXT,
    transport TEXT,
    ports TEXT NOT NULL,
    lease_until TEXT,
    why TEXT
);

-- bearer tokens: only the SHA-256 of the token is kept
CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    label TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER,
    revoked INTEGER
);
