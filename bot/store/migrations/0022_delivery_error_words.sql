-- A delivery's error as a message id and its parameters (JSON), rendered in the reader's
-- language (the review post in the server's, the reporter's outcome in theirs);
-- last_error keeps the English for logs, exports and the delivery logic. NULL for rows
-- written before: they show last_error as it is.
ALTER TABLE deliveries ADD COLUMN last_error_words TEXT;
