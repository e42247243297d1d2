-- The value columns are upsert._TYPES, in its order (tests/kit/test_sql_styles.py checks).
WITH inserted AS (
    INSERT INTO accounts (external_ref, name, classification, industry, source, street, city,
                          region, postal_code, country_code, phone, email, website, attributes,
                          tags, created_by_id)
    SELECT x.ext, x.name, x.classification, x.industry, x.source, x.street, x.city, x.region,
           x.postal_code, x.country_code, x.phone, x.email, x.website,
           coalesce(x.attributes, '{}'::jsonb), coalesce(x.tags, '{}'::varchar[]), :actor_id
    FROM json_to_recordset(CAST(:rows AS json)) AS x(ext varchar, parent_ref varchar,
        sent varchar[], name varchar, classification varchar, industry varchar, source varchar,
        street varchar, city varchar, region varchar, postal_code varchar,
        country_code varchar, phone varchar, email varchar, website varchar, attributes jsonb,
        tags varchar[])
    ORDER BY x.ext
    ON CONFLICT (external_ref) DO NOTHING
    RETURNING id
),
entered AS (
    INSERT INTO pipeline_entries (account_id, pipeline_id, stage, owner_id, entered_at)
    SELECT i.id, p.id, p.stages -> 0 ->> 'key', :owner_id, clock_timestamp()
    FROM inserted i CROSS JOIN pipelines p
    WHERE p.is_default
    ORDER BY i.id
    ON CONFLICT DO NOTHING
    RETURNING account_id, pipeline_id, stage, owner_id, entered_at
),
events AS (
    INSERT INTO stage_events (account_id, pipeline_id, from_stage, to_stage, trigger,
                              occurred_at, actor_id, to_owner_id, missing_recommended)
    SELECT account_id, pipeline_id, NULL, stage, 'enter', entered_at, :actor_id, owner_id,
           '{}'
    FROM entered
)
SELECT id FROM inserted
