CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 10000)
INSERT INTO t(name, v) SELECT 'n' || (x % 97), x * 1.5 FROM c;
SELECT count(*), sum(v), min(name), max(name) FROM t;
SELECT name, count(*) AS n, round(avg(v), 3) FROM t GROUP BY name ORDER BY n DESC, name LIMIT 5;
CREATE INDEX i ON t(name);
SELECT count(*) FROM t WHERE name = 'n42';
