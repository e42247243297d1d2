CREATE TEMP TABLE activity_staging (
    item int NOT NULL,
    id bigint NOT NULL DEFAULT nextval('activities_id_seq'),
    account_id bigint NOT NULL,
    kind text NOT NULL,
    occurred_at timestamptz NOT NULL,
    user_id bigint,
    contact_id bigint,
    amount numeric(14, 2),
    summary text,
    source text,
    external_id text,
    logged_by_id bigint
) ON COMMIT DROP
