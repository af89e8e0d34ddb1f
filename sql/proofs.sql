-- Merkle trees against the RFC 6962 / Certificate Transparency reference
-- vectors, and inclusion / consistency proofs of the trail.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;

-- The reference leaves: '', 00, 10, 2021, 3031, 40414243, 5051..57, 6061..6f.
CREATE TEMP TABLE ct_leaf AS
SELECT i, sha256('\x00'::bytea || decode(d, 'hex')) AS h
  FROM unnest(ARRAY['', '00', '10', '2021', '3031', '40414243',
                    '5051525354555657', '606162636465666768696a6b6c6d6e6f'])
       WITH ORDINALITY AS t(d, i);

-- Roots of the trees of 1..8 leaves, as published.
SELECT n, encode(audit.merkle_root(ARRAY(SELECT h FROM ct_leaf WHERE i <= n ORDER BY i)), 'hex') AS root
  FROM generate_series(1, 8) n;
SELECT encode(audit.merkle_root('{}'), 'hex') AS empty_root;

-- Audit paths of leaf 0 and leaf 5 in the tree of 8, as published.
SELECT encode(p, 'hex') FROM unnest(audit.merkle_inclusion_path(ARRAY(SELECT h FROM ct_leaf ORDER BY i), 0)) p;
SELECT encode(p, 'hex') FROM unnest(audit.merkle_inclusion_path(ARRAY(SELECT h FROM ct_leaf ORDER BY i), 5)) p;
-- Consistency proofs 1->8, 6->8, 2->5, as published.
SELECT encode(p, 'hex') FROM unnest(audit.merkle_consistency_path(ARRAY(SELECT h FROM ct_leaf ORDER BY i), 1)) p;
SELECT encode(p, 'hex') FROM unnest(audit.merkle_consistency_path(ARRAY(SELECT h FROM ct_leaf ORDER BY i), 6)) p;
SELECT encode(p, 'hex') FROM unnest(audit.merkle_consistency_path(ARRAY(SELECT h FROM ct_leaf WHERE i <= 5 ORDER BY i), 2)) p;

-- Every inclusion and consistency proof of every tree of up to 20 leaves
-- verifies, and fails with a wrong leaf, index or root.  (Like every RFC
-- 9162 verifier, a path alone does not pin the tree size: the size is bound
-- by the signed checkpoint, which the trail proofs check.)
CREATE TEMP TABLE many AS
SELECT i, sha256(int4send(i)) AS h FROM generate_series(1, 20) i;
CREATE FUNCTION pg_temp.leaves(n int) RETURNS bytea[] LANGUAGE sql AS
  $$ SELECT ARRAY(SELECT h FROM many WHERE i <= n ORDER BY i) $$;
SELECT count(*) AS proofs,
       count(*) FILTER (WHERE audit.merkle_verify_inclusion(l[k + 1], k, n, p, r)) AS good_ok,
       count(*) FILTER (WHERE audit.merkle_verify_inclusion(sha256('x'), k, n, p, r)) AS wrong_leaf_ok,
       count(*) FILTER (WHERE n > 1 AND audit.merkle_verify_inclusion(l[k + 1], (k + 1) % n, n, p, r)) AS wrong_index_ok,
       count(*) FILTER (WHERE audit.merkle_verify_inclusion(l[k + 1], k, n, p, sha256('y'))) AS wrong_root_ok
  FROM generate_series(1, 20) n,
       LATERAL (SELECT pg_temp.leaves(n) AS l, audit.merkle_root(pg_temp.leaves(n)) AS r) t,
       LATERAL generate_series(0, n - 1) k,
       LATERAL (SELECT audit.merkle_inclusion_path(l, k) AS p) q;
SELECT count(*) AS proofs,
       count(*) FILTER (WHERE audit.merkle_verify_consistency(m, n, audit.merkle_root(pg_temp.leaves(m)), audit.merkle_root(pg_temp.leaves(n)), p)) AS good_ok,
       count(*) FILTER (WHERE audit.merkle_verify_consistency(m, n, sha256('z'), audit.merkle_root(pg_temp.leaves(n)), p)) AS wrong_old_ok,
       count(*) FILTER (WHERE m < n AND audit.merkle_verify_consistency(m, n, audit.merkle_root(pg_temp.leaves(m)), audit.merkle_root(pg_temp.leaves(n - 1)), p)) AS wrong_new_ok
  FROM generate_series(1, 20) n, generate_series(1, 20) m,
       LATERAL (SELECT audit.merkle_consistency_path(pg_temp.leaves(n), m) AS p) q
 WHERE m <= n;

-- Bad input to the primitives.
SELECT audit.merkle_root(ARRAY['\x01'::bytea]);
SELECT audit.merkle_root(ARRAY[NULL::bytea]);
SELECT audit.merkle_root(ARRAY[[sha256('a')], [sha256('b')]]);
SELECT audit.merkle_inclusion_path(ARRAY[sha256('a')], 1);
SELECT audit.merkle_consistency_path(ARRAY[sha256('a')], 0);
SELECT audit.merkle_verify_inclusion('\x00', 0, 1, '{}', sha256('a'));
SELECT audit.merkle_verify_inclusion(sha256('a'), -1, 1, '{}', sha256('a'));

-- Proofs of the trail: every sealed event has one that verifies.
CREATE TABLE regress_p (id int PRIMARY KEY, note text);
INSERT INTO regress_p VALUES (1, 'one'), (2, NULL);
BEGIN;
UPDATE regress_p SET note = 'uno' WHERE id = 1;
DELETE FROM regress_p WHERE id = 2;
INSERT INTO regress_p VALUES (3, 'tres');
COMMIT;
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT count(*) > 5 AS enough,
       bool_and(audit.verify_inclusion_proof(audit.inclusion_proof(event_id))) AS all_verify
  FROM audit.events;

SELECT max(event_id) AS ev FROM audit.events WHERE object_name = 'public.regress_p' \gset
SELECT audit.inclusion_proof(:ev) AS proof \gset
-- Each element of the proof matters.
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,statement}', '"INSERT INTO regress_p VALUES (4)"')) AS content_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,rows_affected}', '2')) AS count_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,client_addr}', 'null')) AS null_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{transaction,index}', '0')) AS index_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{transaction,position}', '999999')) AS position_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{block,sealed_at_us}', '0')) AS block_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{tree,size}', '1000')) AS size_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{checkpoint,root_hash}', to_jsonb(encode(sha256('x'), 'hex')))) AS root_edited,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{chain_id}', '"00000000000000000000000000000000"')) AS chain_edited,
       audit.verify_inclusion_proof(:'proof') AS untouched;
-- The checkpoint of a proof is the one audit.digest() gives for that block.
SELECT (:'proof'::jsonb -> 'checkpoint') = audit.digest() AS same_checkpoint;

-- Consistency between every pair of checkpoints so far.
SELECT count(*) = max(b) * (max(b) + 1) / 2 AS all_pairs,
       bool_and(audit.verify_consistency_proof(audit.consistency_proof(a, b))) AS all_verify,
       bool_and((audit.consistency_proof(a, b) -> 'to' ->> 'root_hash') =
                (SELECT encode(tree_root, 'hex') FROM audit.blocks WHERE block_id = b)) AS roots_are_stored
  FROM generate_series(1, (SELECT max(block_id) FROM audit.blocks)) a,
       generate_series(1, (SELECT max(block_id) FROM audit.blocks)) b
 WHERE a <= b;
SELECT audit.verify_consistency_proof(jsonb_set(audit.consistency_proof(1), '{from,root_hash}', to_jsonb(encode(sha256('x'), 'hex')))) AS old_root_edited;

-- Bad input to the proof functions.
SELECT audit.inclusion_proof(-5);
SELECT audit.inclusion_proof(:ev, 0);
SELECT audit.consistency_proof(0);
SELECT audit.consistency_proof(1, 100000);
SELECT audit.verify_inclusion_proof('[]');
SELECT audit.verify_inclusion_proof('{"format": 1}');
SELECT audit.verify_inclusion_proof(:'proof'::jsonb - 'event');
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{leaf_hash}', '"zz"'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{transaction,path}', '"not an array"'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{transaction,path,0}', '42'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,statement}', '42'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{format}', '2'));
SELECT audit.verify_consistency_proof('{"from": {"tree_size": 1}}');
-- Numbers are never silently truncated to their column's width.
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,backend_pid}', to_jsonb((:'proof'::jsonb #>> '{event,backend_pid}')::bigint + 4294967296)));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,format_version}', '65537'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{transaction,event_count}', '4294967297'));
SELECT audit.verify_inclusion_proof(jsonb_set(:'proof', '{block,txn_count}', '0'));
-- A signature this server cannot check is not taken as good.
SELECT audit.verify_inclusion_proof(jsonb_set(jsonb_set(:'proof', '{checkpoint,signature}',
           to_jsonb(repeat('00', 64))), '{checkpoint,key_id}', '"0000000000000000"'));
-- A consistency proof needs from_block <= to_block.
SELECT audit.consistency_proof(3, 1);

-- An event not sealed yet cannot be proven (no seal in between).
BEGIN;
INSERT INTO regress_p VALUES (5, 'in progress');
SELECT max(event_id) AS open_ev FROM audit.events \gset
SELECT audit.inclusion_proof(:open_ev);
ROLLBACK;

DROP TABLE regress_p;
