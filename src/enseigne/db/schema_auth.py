"""Users, API tokens, web sessions and application settings (migration 2).

Secrets are never stored in clear: passwords as argon2 hashes, API tokens and session ids as
sha256 digests (they are 32 random bytes, so a fast hash is enough). ``stores`` is NULL for
roles that see every store, the list of store codes for a store manager.
"""

from __future__ import annotations

AUTH_DDL = """
CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    stores VARCHAR[],
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    disabled BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE api_tokens (
    name VARCHAR PRIMARY KEY,
    token_hash VARCHAR NOT NULL UNIQUE,
    role VARCHAR NOT NULL,
    stores VARCHAR[],
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    last_used_at TIMESTAMP
);

CREATE TABLE web_sessions (
    session_hash VARCHAR PRIMARY KEY,
    user_name VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE app_settings (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""
