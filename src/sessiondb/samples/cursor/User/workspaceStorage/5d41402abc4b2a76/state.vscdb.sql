-- Built into a SQLite database by `sessiondb demo`.
CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
INSERT INTO ItemTable (key, value) VALUES ('composer.composerData', '{"allComposers": [{"composerId": "3b9d6e2a-1c4f-4e8a-9b7d-5f2e1a0c8d64", "name": "Flaky network test", "createdAt": 1768496400000, "unifiedMode": "agent"}]}');
