-- Each accepted report gets a random id (UUID4) that travels upstream beside its number.
-- Numbers and row ids restart from the backup's last one after a restore, so a new report
-- could take the number of one the game backend already holds; reconciliation after an
-- ambiguous send matches on this id instead, which no restore can repeat.
ALTER TABLE reports ADD COLUMN uuid TEXT;
-- Existing rows get one too: version-4 format (random bits, the "4" and the variant).
UPDATE reports SET uuid = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6)))
WHERE uuid IS NULL;
CREATE UNIQUE INDEX reports_by_uuid ON reports (uuid);
