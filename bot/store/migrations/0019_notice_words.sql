-- A question's or decision's words as a message id and its parameters (JSON), rendered in
-- the reporter's language when told; title and body stay for notices queued before.
ALTER TABLE reporter_notices ADD COLUMN words TEXT;
