-- Built into a SQLite database by `sessiondb demo`.
CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  session_type TEXT NOT NULL DEFAULT 'user', working_dir TEXT NOT NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  extension_data TEXT DEFAULT '{}', total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
  accumulated_total_tokens INTEGER, schedule_id TEXT, recipe_json TEXT, provider_name TEXT,
  model_config_json TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT,
  session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL, content_json TEXT NOT NULL,
  created_timestamp INTEGER NOT NULL, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tokens INTEGER,
  metadata_json TEXT);
INSERT INTO sessions (id, name, session_type, working_dir, created_at, updated_at, provider_name, model_config_json) VALUES ('20260115_1', 'Rate limiter for the API gateway', 'user', '/home/demo/gateway', '2026-01-15 15:00:00', '2026-01-15 15:04:00', 'anthropic', '{"model_name": "claude-sonnet-4-5", "context_limit": 200000}');
INSERT INTO messages (message_id, session_id, role, content_json, created_timestamp, metadata_json) VALUES ('msg_g1', '20260115_1', 'user', '[{"type": "text", "text": "Add a token bucket rate limiter to the gateway; 100 requests a minute per key."}]', 1768489200, '{"userVisible": true, "agentVisible": true}');
INSERT INTO messages (message_id, session_id, role, content_json, created_timestamp, metadata_json) VALUES ('msg_g2', '20260115_1', 'assistant', '[{"type": "thinking", "thinking": "Look for the middleware chain first.", "signature": "s"}, {"type": "text", "text": "Let me find where middleware is registered."}, {"type": "toolRequest", "id": "toolu_g1", "toolCall": {"status": "success", "value": {"name": "developer__shell", "arguments": {"command": "rg -n ''use_middleware'' src"}}}}]', 1768489208, '{"userVisible": true, "agentVisible": true}');
INSERT INTO messages (message_id, session_id, role, content_json, created_timestamp, metadata_json) VALUES ('msg_g3', '20260115_1', 'user', '[{"type": "toolResponse", "id": "toolu_g1", "toolResult": {"status": "success", "value": {"content": [{"type": "text", "text": "src/app.rs:14: app.use_middleware(auth)"}], "isError": false}}}]', 1768489209, '{"userVisible": true, "agentVisible": true}');
INSERT INTO messages (message_id, session_id, role, content_json, created_timestamp, metadata_json) VALUES ('msg_g4', '20260115_1', 'assistant', '[{"type": "text", "text": "Added `TokenBucket` in src/limit.rs (refill 100/min, burst 20) and registered it after auth; a 429 carries Retry-After."}]', 1768489230, '{"userVisible": true, "agentVisible": true}');
