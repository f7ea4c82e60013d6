-- An attempt's claim names its process and lasts a lease: a process that starts
-- recovers only attempts whose lease ran out, never another live process's work.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until REAL;
