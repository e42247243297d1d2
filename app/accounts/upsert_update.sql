-- Each field is written only when the item sent it; a row is updated only when a sent field
-- differs. The fields are upsert._TYPES, and parent_id (tests/kit/test_sql_styles.py checks).
UPDATE accounts a
SET name = CASE WHEN 'name' = ANY(x.sent) THEN x.name ELSE a.name END,
    classification = CASE WHEN 'classification' = ANY(x.sent) THEN x.classification ELSE a.classification END,
    industry = CASE WHEN 'industry' = ANY(x.sent) THEN x.industry ELSE a.industry END,
    source = CASE WHEN 'source' = ANY(x.sent) THEN x.source ELSE a.source END,
    street = CASE WHEN 'street' = ANY(x.sent) THEN x.street ELSE a.street END,
    city = CASE WHEN 'city' = ANY(x.sent) THEN x.city ELSE a.city END,
    region = CASE WHEN 'region' = ANY(x.sent) THEN x.region ELSE a.region END,
    postal_code = CASE WHEN 'postal_code' = ANY(x.sent) THEN x.postal_code ELSE a.postal_code END,
    country_code = CASE WHEN 'country_code' = ANY(x.sent) THEN x.country_code ELSE a.country_code END,
    phone = CASE WHEN 'phone' = ANY(x.sent) THEN x.phone ELSE a.phone END,
    email = CASE WHEN 'email' = ANY(x.sent) THEN x.email ELSE a.email END,
    website = CASE WHEN 'website' = ANY(x.sent) THEN x.website ELSE a.website END,
    attributes = CASE WHEN 'attributes' = ANY(x.sent) THEN x.attributes ELSE a.attributes END,
    tags = CASE WHEN 'tags' = ANY(x.sent) THEN x.tags ELSE a.tags END,
    parent_id = CASE WHEN 'parent_id' = ANY(x.sent) THEN p.id ELSE a.parent_id END,
    version = a.version + CASE WHEN a.id = ANY(:created) THEN 0 ELSE 1 END
FROM json_to_recordset(CAST(:rows AS json)) AS x(ext varchar, parent_ref varchar,
    sent varchar[], name varchar, classification varchar, industry varchar, source varchar,
    street varchar, city varchar, region varchar, postal_code varchar,
    country_code varchar, phone varchar, email varchar, website varchar, attributes jsonb,
    tags varchar[])
LEFT JOIN accounts p ON p.external_ref = x.parent_ref
WHERE a.external_ref = x.ext AND (
    ('name' = ANY(x.sent) AND x.name IS DISTINCT FROM a.name)
    OR ('classification' = ANY(x.sent) AND x.classification IS DISTINCT FROM a.classification)
    OR ('industry' = ANY(x.sent) AND x.industry IS DISTINCT FROM a.industry)
    OR ('source' = ANY(x.sent) AND x.source IS DISTINCT FROM a.source)
    OR ('street' = ANY(x.sent) AND x.street IS DISTINCT FROM a.street)
    OR ('city' = ANY(x.sent) AND x.city IS DISTINCT FROM a.city)
    OR ('region' = ANY(x.sent) AND x.region IS DISTINCT FROM a.region)
    OR ('postal_code' = ANY(x.sent) AND x.postal_code IS DISTINCT FROM a.postal_code)
    OR ('country_code' = ANY(x.sent) AND x.country_code IS DISTINCT FROM a.country_code)
    OR ('phone' = ANY(x.sent) AND x.phone IS DISTINCT FROM a.phone)
    OR ('email' = ANY(x.sent) AND x.email IS DISTINCT FROM a.email)
    OR ('website' = ANY(x.sent) AND x.website IS DISTINCT FROM a.website)
    OR ('attributes' = ANY(x.sent) AND x.attributes IS DISTINCT FROM a.attributes)
    OR ('tags' = ANY(x.sent) AND x.tags IS DISTINCT FROM a.tags)
    OR ('parent_id' = ANY(x.sent) AND p.id IS DISTINCT FROM a.parent_id))
RETURNING a.id
