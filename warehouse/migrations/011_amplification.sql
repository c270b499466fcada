-- Amplification (issue 31): who stands behind each source, who each text credits, and
-- the identifiers that tie sites to one operator. No keys or indexes (the warehouse is
-- moving to DuckLake, which has none): the single writer keeps the rows unique.

-- The state behind a state-affiliated or state-funded outlet (ISO code), why the owner
-- label was given, and the names other outlets credit it by ("Sputnik", "Спутник"),
-- with their comparable keys (monitor.judging.attribution.name_key).
ALTER TABLE sources ADD COLUMN state VARCHAR;
ALTER TABLE sources ADD COLUMN owner_reason VARCHAR;
ALTER TABLE sources ADD COLUMN cited_as VARCHAR[];
ALTER TABLE sources ADD COLUMN cite_keys VARCHAR[];

-- What a stored text says about where it came from: its script, its title's comparison
-- form, and the credits in its head and tail (monitor.judging.attribution). One row per
-- article, written with it; replaced by reextract when the text changes.
CREATE TABLE article_provenance (
    article_id  VARCHAR NOT NULL,
    script      VARCHAR,          -- cyrillic | latin | mixed
    title_key   VARCHAR,          -- the title as dedup compares text: case, accents, script folded
    credits     STRUCT(name VARCHAR, "key" VARCHAR, cue VARCHAR, evidence VARCHAR)[]
);

-- Operator identifiers seen on each source's pages (monitor.reading.sitefingerprint):
-- one row per source and identifier, merged by the writer after each batch and rebuilt
-- from the kept raw pages by reextract.
CREATE TABLE site_identifiers (
    source         VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,   -- ga | ga4 | gtm | adsense | yandex_metrica | fb_pixel | fb_app | verification
    identifier     VARCHAR NOT NULL,
    pages          INTEGER NOT NULL,   -- pages of the source that carried it
    first_seen_at  TIMESTAMPTZ,        -- fetch time of the first such page
    last_seen_at   TIMESTAMPTZ,
    example_url    VARCHAR,
    evidence       VARCHAR             -- the markup it sat in, on the example page
);
