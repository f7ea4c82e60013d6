-- A delivery's error as a message id and its parameters (SQLite 0022): the same column.
ALTER TABLE deliveries ADD COLUMN last_error_words TEXT;
