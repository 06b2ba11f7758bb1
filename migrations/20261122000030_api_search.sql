-- Relevance of GET /v1/listings?q=…: a listing whose head — title and category, the lexemes of
-- weights A and B in `search` — satisfies the query ranks above one that needs its description
-- (weight C) to match; ties go to the newer listing. This index answers the head condition
-- exactly, so the first tier is read from the index (or along listings_pkey when the term is
-- frequent) without ranking every match. See api/README.md, "Search".
CREATE INDEX listings_search_head ON listings USING GIN (ts_filter(search, '{a,b}'));
