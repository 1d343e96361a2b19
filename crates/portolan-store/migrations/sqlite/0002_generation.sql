-- portolan registry, schema version 2: a generation counter, bumped by every write
-- transaction that changes the spec entities (import, allocate, release, reserve, gc). A
-- process caches the model of the generation it last wrote and reuses it while the counter
-- says nobody else (no other process, no other server on the same database) wrote since.
CREATE TABLE store_generation (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO store_generation (id, generation) VALUES (1, 0);
