INSERT INTO bench (v) VALUES ('row');
