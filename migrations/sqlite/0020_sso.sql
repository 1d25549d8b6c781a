-- Single sign-on: a person at an OpenID Connect provider is (issuer, subject); the email is only
-- an attribute, kept as the provider last sent it.
-- Keep in step with migrations/postgres/0020_sso.sql (a test compares both schemas).

CREATE TABLE user_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    email_verified INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    CONSTRAINT user_identities_issuer UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user_id_idx ON user_identities (user_id);
