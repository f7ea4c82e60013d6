-- Report numbers per server come from a counter row (several processes on one
-- database must never compute MAX()+1 at the same time); seeded from the numbers used.
CREATE TABLE report_counters (
    guild_id    BIGINT PRIMARY KEY,
    last_number INTEGER NOT NULL
);
INSERT INTO report_counters (guild_id, last_number)
    SELECT guild_id, MAX(number) FROM reports GROUP BY guild_id;
