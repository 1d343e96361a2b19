-- portolan registry, schema version 6: storage settings for the rows every agent report
-- touches (issue 18's fleet benchmark: 5,000 agents reporting every 30 s).
--
-- A report that changes nothing updates its host's `observations.at`, `history_agents`
-- and its drift findings' `at`. With full pages each such update wrote a new row version
-- elsewhere (a non-HOT update, plus index entries), and a host's listeners — kilobytes of
-- JSON, compressed but kept inside the row — were copied with it: the tables bloated by
-- gigabytes a day between autovacuum runs. Half-full pages leave room for the new version
-- next to the old one (a HOT update, pruned without vacuum), and `toast_tuple_target`
-- moves the listeners out of the row, so an update of `at` copies a pointer, not them.
-- Existing rows take the new layout when next written.
ALTER TABLE observations SET (fillfactor = 50, toast_tuple_target = 128);
ALTER TABLE history_agents SET (fillfactor = 50);
ALTER TABLE findings SET (fillfactor = 50);
