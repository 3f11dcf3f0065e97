// Package repo is inkwell's data layer: users with their email addresses and
// profiles, and a blog of posts and tags, stored in PostgreSQL.
//
// Every method returns plain structs that own their data: they stay valid
// after the transaction ends or the pool is closed, and related rows
// (User.Addresses, Post.Tags, ...) arrive with them, loaded in one round trip
// whatever the number of rows, never one query per row.
//
// Errors match the sentinels in errors.go with errors.Is.
//
// # Where things go
//
// The files by layer; new code goes beside its kind. The generated queries of
// internal/dbgen are reached only through the routing core (route.go).
//
// API methods, by table:
//   - users.go: users, their addresses and profiles (CreateUser, RegisterUser, GetUser, AddAddress, SetProfile, ...)
//   - posts.go: posts and their tags (CreatePost, GetPost, ListPosts, TagPost, ...)
//   - lists.go: lists of users, alone or with their addresses or posts; listing, the whole of a list method
//   - follows.go: follows between users, both rows of each edge (Follow, Unfollow, ListFollowing, ListFollowers); DeleteUser's part
//   - feed.go: ListFeed, the published posts of the users one follows
//   - page.go: keyset pages: UserQuery, PostQuery, Page and its cursor, Strategy
//   - reset.go: Reset, which empties every table of the schema
//   - oneshot.go: writeOne, deleteOne, readOne: a one-statement write or one-row read in one call
//
// The Repo, routing and transactions:
//   - repo.go: Repo, New, OpenPool, Connect, PoolConfig, Stats
//   - route.go: the routing core: reading, readingPipelined, writing, queries, handle; read-your-writes
//   - replicas.go: WithReplicas: replica health checks, WAL position sampling, the pick of a fresh replica
//   - tx.go: InTx and inTx, with retries of serialization failures
//   - lazytx.go: a transaction whose BEGIN travels with its first statement
//   - savepoint.go: a nested InTx, or a bulk load inside InTx, as a savepoint
//   - commit.go: a COMMIT whose answer may be lost (ErrCommitUnknown)
//   - server.go: what a Repo learned of its server (is it Citus)
//   - statements.go: the executor under every generated query, which puts the statement into its errors
//   - log.go: the query log (PoolConfig.Logger)
//   - otel.go: OpenTelemetry spans (PoolConfig.TracerProvider): a pgx tracer, transactions' spans, errors by sentinel
//   - metrics.go: the pool's OpenTelemetry metrics (PoolConfig.MeterProvider), read from pgxpool.Stat
//
// Pipelines:
//   - pipeline.go: statements known up front, sent together in one round trip (pipelined, readPipelined)
//
// Bulk and initial loads:
//   - bulk.go: batches (BulkOptions), BulkResult, RowError, COPY errors
//   - graph.go: BulkInsertGraphs (UserGraph), BulkCreatePosts
//   - extra.go: a user's own tables in both loads (ExtraTable, TableRow, Ref), typed from the catalog, encoded by pgx
//   - upsert.go: UpsertUsersByEmail
//   - initial.go: InitialLoadGraphs: into empty tables, keys and indexes built after the copy
//   - initial_schema.go: the keys, indexes and foreign keys an initial load takes off and puts back as they were
//   - initial_copy.go: the initial load's copy: a producer encodes parts, parents' before children's, while COPY sends them
//   - copy_binary.go: COPY's binary format, the encoder of the initial load's rows
//
// Errors and validation:
//   - errors.go: the sentinels, FieldError, and dbError, which maps driver errors to them
//   - citus_errors.go: Citus's errors read as one server's
//   - url.go: CheckURL; database URLs kept out of errors
//   - validate.go: checks of input before anything is sent (names, ages, emails, tags); emailKey
//   - rules.go: a CHECKed column's rule declared in one line (requiredText, optionalText, inRange), checked in Go and by FuzzChecksAgree
//   - streamsafe.go: the Unicode classes validate.go shares with the schema's CHECKs
//
// Conversion:
//   - models.go: the repository's own types (User, Post, ...), converted from dbgen rows by fromDB functions
//   - load.go: related rows attached to their parents (relation, attach, fold), for Joined and SelectIn
//   - derive.go: a keyset list's rows scanned into a struct by its field names (listOf, childOf)
//
// A new exported method also gets its declaration (its route, round trips
// and sample calls), with declare in its feature's own test file
// (methods_test.go), which the routing, round-trip, bad-input and
// empty-page tests read. TestDocMapsEveryFile keeps this map true.
package repo
