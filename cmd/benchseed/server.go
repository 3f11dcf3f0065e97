package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkwell-dev/inkwell/internal/repo"
)

// copyColumns are the columns cmd/seed writes, per table, in the order the
// tables are loaded (each after those it refers to).
var copyColumns = []struct{ table, columns string }{
	{"users", "id, name, age"},
	{"addresses", "id, user_id, email"},
	{"email_owners", "email_key, user_id, address_id"},
	{"profiles", "user_id, bio, website"},
	{"posts", "id, user_id, title, content, published, rating"},
	{"tags", "id, name"},
	{"post_tags", "user_id, post_id, tag_id"},
}

// exportRows writes the rows of a seeded database to server-side files in
// dir, in COPY's binary format: the rows the server's own loads read.
func exportRows(ctx context.Context, dbURL, dir string) error {
	conn, err := repo.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, c := range copyColumns {
		file := filepath.Join(dir, c.table+".bin")
		sql := fmt.Sprintf("COPY %s (%s) TO %s WITH (FORMAT binary)", c.table, c.columns, quote(file))
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// serverLoad loads the exported rows into a fresh migrated database with the
// server's own binary COPY FREEZE from files, in one transaction that
// truncates the tables first (so that COPY may freeze, and at wal_level
// minimal skip the WAL): (A) into the indexed tables as they are; (B, bare)
// with the keys, indexes and foreign keys taken off first (definitions from
// the catalog) and put back after, built with the settings the seed's
// initial load uses, then ANALYZE.
func serverLoad(ctx context.Context, dbURL, dir string, bare bool) (measurement, error) {
	conn, err := repo.Connect(ctx, dbURL)
	if err != nil {
		return measurement{}, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var tables []string
		for _, c := range copyColumns {
			tables = append(tables, c.table)
		}
		var drops, creates []string
		if bare {
			rows, err := tx.Query(ctx, `
SELECT 'ALTER TABLE ' || conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(conname),
       'ALTER TABLE ' || conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid),
       contype = 'f'
FROM pg_constraint
WHERE contype IN ('p', 'u', 'f', 'x') AND (conrelid = ANY($1::text[]::regclass[]) OR confrelid = ANY($1::text[]::regclass[]))
UNION ALL
SELECT 'DROP INDEX ' || indexrelid::regclass, pg_get_indexdef(indexrelid), false
FROM pg_index i WHERE indrelid = ANY($1::text[]::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))`, tables)
			if err != nil {
				return err
			}
			var fkDrops, fkCreates []string
			for rows.Next() {
				var d, c string
				var fk bool
				if err := rows.Scan(&d, &c, &fk); err != nil {
					return err
				}
				if fk { // off first, back last
					fkDrops, fkCreates = append(fkDrops, d), append(fkCreates, c)
				} else {
					drops, creates = append(drops, d), append(creates, c)
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			drops, creates = append(fkDrops, drops...), append(creates, fkCreates...)
			for _, s := range drops {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
		}
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")); err != nil {
			return err
		}
		for _, c := range copyColumns {
			sql := fmt.Sprintf("COPY %s (%s) FROM %s WITH (FORMAT binary, FREEZE)", c.table, c.columns, quote(filepath.Join(dir, c.table+".bin")))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", sql, err)
			}
		}
		if bare {
			if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL max_parallel_maintenance_workers = 2"); err != nil {
				return err
			}
			for _, s := range creates {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
			if _, err := tx.Exec(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
				return err
			}
		}
		return nil
	})
	return measurement{elapsed: time.Since(start)}, err
}

// sameRows checks that two seeded databases hold the same rows (tags by
// name: the paths hand tag ids out differently) and that every constraint
// and index of both is valid.
func sameRows(ctx context.Context, a, b string) error {
	digest := func(dbURL string) (string, error) {
		conn, err := repo.Connect(ctx, dbURL)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		var invalid int
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND NOT convalidated)
			+ (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			   WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisvalid)`).Scan(&invalid); err != nil {
			return "", err
		}
		if invalid > 0 {
			return "", fmt.Errorf("%d constraints or indexes not valid", invalid)
		}
		var d string
		err = conn.QueryRow(ctx, `SELECT concat_ws(' ',
			(SELECT md5(string_agg(format('%s %s %s', id, name, age), ',' ORDER BY id)) FROM users),
			(SELECT md5(string_agg(format('%s %s %s', id, user_id, email), ',' ORDER BY id)) FROM addresses),
			(SELECT md5(string_agg(format('%s %s %s', email_key, user_id, address_id), ',' ORDER BY email_key)) FROM email_owners),
			(SELECT md5(string_agg(format('%s %s %s', user_id, bio, website), ',' ORDER BY user_id)) FROM profiles),
			(SELECT md5(string_agg(format('%s %s %s %s %s %s', id, user_id, title, content, published, rating), ',' ORDER BY id)) FROM posts),
			(SELECT md5(string_agg(name, ',' ORDER BY name)) FROM tags),
			(SELECT md5(string_agg(format('%s %s %s', pt.user_id, pt.post_id, t.name), ',' ORDER BY pt.post_id, t.name))
			 FROM post_tags pt JOIN tags t ON t.id = pt.tag_id))`).Scan(&d)
		return d, err
	}
	da, err := digest(a)
	if err != nil {
		return err
	}
	db, err := digest(b)
	if err != nil {
		return err
	}
	if da != db {
		return fmt.Errorf("the initial load and the batched path differ: %s vs %s", da, db)
	}
	return nil
}

// serverDir makes a folder the server (a local one, possibly running as
// another user) can write and read.
func serverDir() (string, error) {
	dir, err := os.MkdirTemp("", "inkwell-benchseed-")
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o777)
}
