# inkwell: run `make help` for the targets.
#
# Targets that need a database use $DATABASE_URL when it is set, and otherwise
# the development cluster in .pgdata/, which they start when needed.
# Recipes pass the URL through the shell, never through make, so that make
# does not echo a password.

GO ?= go

# Shell expressions for the URLs of the targets that need a database: the
# application's (DATABASE_URL, or the development cluster's app role, starting
# it when needed), the schema owner's for migrations (MIGRATE_URL, else
# DATABASE_URL, else the owner role), and a superuser's (benchmarks make databases).
DB_URL := $${DATABASE_URL:-$$($(GO) run ./cmd/devdb start)}
OWNER_URL := $${MIGRATE_URL:-$${DATABASE_URL:-$$($(GO) run ./cmd/devdb start >/dev/null && $(GO) run ./cmd/devdb url owner)}}
ADMIN_URL := $${DATABASE_URL:-$$($(GO) run ./cmd/devdb start >/dev/null && $(GO) run ./cmd/devdb url admin)}

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate internal/dbgen from db/schema and db/queries (sqlc); on a SQL error it stays as it was
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp -r sqlc.yaml db "$$tmp"/ && \
	$(GO) tool sqlc generate -f "$$tmp/sqlc.yaml" && \
	rm -rf internal/dbgen && mv "$$tmp/internal/dbgen" internal/dbgen

.PHONY: check-generated
check-generated: ## Fail if internal/dbgen is not exactly what sqlc generates now
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp -r sqlc.yaml db "$$tmp"/ && \
	$(GO) tool sqlc generate -f "$$tmp/sqlc.yaml" && \
	if ! diff -r internal/dbgen "$$tmp/internal/dbgen"; then \
		echo "internal/dbgen is stale or hand-edited: run make generate and commit the result" >&2; exit 1; \
	fi

.PHONY: db
db: ## Start the development PostgreSQL in .pgdata/ and print its URL
	@$(GO) run ./cmd/devdb start

.PHONY: db-stop
db-stop: ## Stop the development PostgreSQL (its data stays in .pgdata/)
	@$(GO) run ./cmd/devdb stop

.PHONY: migrate
migrate: ## Apply pending migrations (as the schema owner)
	@url="$(OWNER_URL)" && $(GO) run ./cmd/migrate -database-url "$$url" up

.PHONY: migration
migration: ## Create a migration: make migration name=add_things
	@test -n "$(name)" || { echo "usage: make migration name=add_things" >&2; exit 2; }
	$(GO) run ./cmd/migrate create $(name)

.PHONY: seed
seed: ## Migrate and seed, then print the tutorials' output (ARGS="--users 100000" for more)
	@url="$(DB_URL)" && owner="$(OWNER_URL)" && DATABASE_URL="$$url" MIGRATE_URL="$$owner" $(GO) run ./cmd/seed $(ARGS)

.PHONY: psql
psql: ## Open psql on the database, as the schema owner
	@url="$(OWNER_URL)" && psql "$$url"

.PHONY: bench-deps
bench-deps: # SQLAlchemy 1.4 and psycopg2 for the Python peer, from Debian's packages
	@/usr/bin/python3 -c 'import sqlalchemy, psycopg2' 2>/dev/null || { \
		echo "installing python3-sqlalchemy and python3-psycopg2"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sqlalchemy python3-psycopg2; }

.PHONY: bench
bench: bench-deps ## Compare inkwell with pgx, GORM, bun, ent and SQLAlchemy, on loopback and at 1 ms RTT with commits flushed and not (about twenty minutes on a quiet 2-core machine, 2026-12-05); writes its section of BENCHMARKS.md and docs/bench.svg
	@url="$(ADMIN_URL)" && cd bench && $(GO) run ./cmd/bench -database-url "$$url" -rtt 1ms -synchronous-commit on,off -out ../BENCHMARKS.md -chart ../docs/bench.svg

.PHONY: bench-full
bench-full: bench-deps ## The same at the targets' sizes (loads of 100k and 1M users), 10 rounds in each pass, 3 of them with the bulk loads (51 to 57 minutes on a quiet 2-core machine, 2026-12-05)
	@url="$(ADMIN_URL)" && cd bench && $(GO) run ./cmd/bench -full -database-url "$$url" -rtt 1ms -rtt-rounds 10 -bulk-rounds 3 -synchronous-commit on,off -out ../BENCHMARKS.md -chart ../docs/bench.svg

.PHONY: bench-repo
bench-repo: ## Go benchmarks of the repository against hand-written pgx and the N+1 loop
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/repo/

USERS ?= 1000000
ROUNDS ?= 3

.PHONY: bench-seed
bench-seed: ## Seed USERS users (default 1M), ROUNDS times (default 3; medians), with cmd/seed, plain pgx COPY and the server's own COPY; compare rows/s, CPU and memory
	$(GO) build -o bin/seed ./cmd/seed
	$(GO) build -o bin/benchseed ./cmd/benchseed
	@url="$(ADMIN_URL)" && bin/benchseed -database-url "$$url" -seed-bin bin/seed -users $(USERS) -rounds $(ROUNDS)

OPS ?= 200

.PHONY: bench-citus
bench-citus: ## Start a Citus cluster (a coordinator and two workers) and one server, load USERS users (default 1M, with their follows) into each, then time point reads, registrations, a cross-shard list, Follow, a list of followers and the feed (OPS calls each per round, default 200) as ratios with round trips, then add a third worker and move shards onto it under traffic (time to move, p99 before and during, every row checked); needs the citus extension
	$(GO) run ./cmd/benchcitus -users $(USERS) -ops $(OPS)

.PHONY: lint
lint: ## gofmt, go vet, staticcheck (pinned in go.mod as a tool), and squawk over db/schema/ (pinned in tools/squawk/: migrations that would block a live table)
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	tools/squawk/lint db/schema

.PHONY: prereqs
prereqs: ## Check for the PostgreSQL server binaries, PgBouncer, a C compiler and the pinned squawk (npm); install what is missing (Debian/Ubuntu) or say how
	@.ci/prereqs

.PHONY: test
test: prereqs ## Check the prerequisites, lint, check the generated code, run every test with the race detector, then the repo's through PgBouncer, then the bench's (its latency proxy)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check-generated
	$(GO) test -race -count=1 ./...
	INKWELL_TEST_PGBOUNCER=1 $(GO) test -race -count=1 ./internal/repo/
	cd bench && $(GO) test -race -count=1 ./...

# The Citus suite: the packages whose tests take their databases from pgtest,
# and cmd/benchcitus, whose test starts its own Citus cluster and server.
# The repository's tests take longer than go test's default 10 minutes there
# (each statement crosses the coordinator to the workers; 2 cores for 3 servers).
CITUS_PACKAGES := ./internal/repo/ ./internal/migrate/ ./cmd/migrate/ ./cmd/seed/ ./cmd/benchcitus/

.PHONY: test-citus
test-citus: ## Run the repository, migrate, seed and benchcitus tests against a Citus cluster (a coordinator and two workers) they start; needs the citus extension
	INKWELL_TEST_CITUS=1 $(GO) test -race -count=1 -timeout 40m -tags citus ./internal/pgcluster/ $(CITUS_PACKAGES)
