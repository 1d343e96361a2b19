-- portolan registry, schema version 6: PostgreSQL storage settings for the rows every agent
-- report touches (see migrations/postgres/0006_hot_rows.sql). SQLite updates a row in
-- place and has no such settings: nothing changes here. (Version 5 is another change's.)
SELECT 1;
