-- rg-core: accounts, resumes and their version history, sharing.
-- Applied by `resumego migrate` inside one transaction; never edit an applied migration,
-- add a new numbered file instead.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    -- lower-cased e-mail: the unique key, so that concurrent registrations of one address
    -- (in any letter case) end in exactly one account.
    email_norm    text NOT NULL UNIQUE,
    name          text,
    password_hash text NOT NULL,                 -- argon2id, PHC string format
    totp_secret   text,                          -- base32; set once two-factor is enabled
    totp_pending  text,                          -- base32; between setup and enable
    totp_last_step bigint,                       -- last accepted RFC 6238 step: no replays
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    user_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash text NOT NULL,                     -- hex SHA-256 of the normalised code
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE resumes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title       text NOT NULL,
    -- json, not jsonb: jsonb reorders keys and rejects \u0000; people expect their
    -- document back in the order they wrote it.
    data        json NOT NULL,
    -- write counter: every write (content, delete, restore) bumps it; it is the ETag.
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,                     -- soft delete, restorable for 30 days
    share_slug  text UNIQUE,                     -- public read-only link when not NULL
    share_views bigint NOT NULL DEFAULT 0,
    shared_at   timestamptz
);
CREATE INDEX resumes_user_created ON resumes (user_id, created_at DESC, id DESC);
CREATE INDEX resumes_deleted ON resumes (deleted_at) WHERE deleted_at IS NOT NULL;

-- One row per content change; restoring an old version copies it into a new row.
CREATE TABLE resume_versions (
    resume_id  uuid NOT NULL REFERENCES resumes(id) ON DELETE CASCADE,
    version    integer NOT NULL,
    title      text NOT NULL,
    data       json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resume_id, version)
);
