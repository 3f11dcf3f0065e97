package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/inkwell-dev/inkwell/internal/citusgrow"
)

// writeReport renders res as markdown.
func writeReport(w io.Writer, res *results) {
	cfg := res.cfg
	one, dist := res.backends[0], res.backends[1]
	fmt.Fprintf(w, "## inkwell on Citus against one node\n\n")
	fmt.Fprintf(w, "`benchcitus -users %d -ops %d -rounds %d -load %s -seed %d` (%d addresses, %d posts and %d follows on average per user), %s, took %v.\n\n",
		cfg.users, cfg.ops, cfg.rounds, cfg.load, cfg.seed, cfg.addressesPerUser, cfg.postsPerUser, cfg.followsPerUser,
		res.started.UTC().Format("2006-01-02 15:04 UTC"), res.took.Round(time.Second))
	fmt.Fprintf(w, "Machine: %d CPUs; load average (1, 5, 15 min) %s at the start, %s at the end.\n", res.cpus, res.loadStart, res.loadEnd)
	fmt.Fprintf(w, "Every server started with %s, the same on both backends; Citus is a coordinator and %d workers, "+
		"each its own server on this machine.\n\n", durabilityName, len(dist.facts)-1)
	fmt.Fprintln(w, "| backend | server | PostgreSQL | Citus | fsync | synchronous_commit | wal_level | shared_buffers | citus.shard_count |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, b := range res.backends {
		for _, f := range b.facts {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b.name, f.role, f.version, dash(f.citusVersion),
				f.fsync, f.syncCommit, f.walLevel, f.sharedBuffers, dash(f.shardCount))
		}
	}
	if c := dist.facts[0]; c.multiShardMode != "" {
		fmt.Fprintf(w, "\nThe Citus database (migration 00008): citus.multi_shard_modify_mode %s, citus.enable_local_execution %s.\n",
			c.multiShardMode, c.localExec)
	}
	fmt.Fprintf(w, "\n> Not scaling figures: here the coordinator, %d workers and this client share %d cores and one disk. "+
		"Citus pays for its extra hop (client to coordinator to worker) and its planning, and gets none of the "+
		"machines that would pay it back. What carries over to real machines is the round trips per call and "+
		"which calls touch one shard or every shard.\n\n", len(dist.facts)-1, res.cpus)

	fmt.Fprintf(w, "### Load: %d users into each\n\n", cfg.users)
	fmt.Fprintf(w, "Path: %s, the seed's generator (internal/fakedata); one node first, then Citus.\n\n", one.load.path)
	fmt.Fprintln(w, "| backend | rows | time | rows/s | client CPU | machine CPU busy | iowait |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, b := range res.backends {
		l := b.load
		fmt.Fprintf(w, "| %s | %d | %.1f s | %.0f | %.1f s | %s | %s |\n", b.name, l.rows.Rows(), l.elapsed.Seconds(),
			rate(l), l.clientCPU.Seconds(), percent(l.machine.busy), percent(l.machine.iowait))
	}
	fmt.Fprintf(w, "\nCitus / one node: rows/s %.2f. Rows as the seed counts them (users, addresses, profiles, posts, post tags; "+
		"not email_owners, written beside the addresses, nor tags). Machine CPU busy is of all %d cores over the load "+
		"(every process, the servers' too).\n", rate(dist.load)/rate(one.load), res.cpus)
	tables := slices.Sorted(func(yield func(string) bool) {
		for t := range one.load.counts {
			if !yield(t) {
				return
			}
		}
	})
	var counts []string
	for _, t := range tables {
		counts = append(counts, fmt.Sprintf("%s %d", t, one.load.counts[t]))
	}
	fmt.Fprintf(w, "Rows counted after the load, the same on both: %s.\n\n", strings.Join(counts, ", "))

	fmt.Fprintln(w, "Where Citus put them (citus_shards for the shards and their sizes, a count(*) on each shard for the rows; distributed tables, not the reference table tags):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| node | shards | size | users rows | rows of all distributed tables |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, s := range dist.load.spread {
		fmt.Fprintf(w, "| %s | %d | %.1f MiB | %d | %d |\n", s.node, s.shards, float64(s.bytes)/(1<<20), s.users, s.rows)
	}

	fmt.Fprintf(w, "\n### Calls: median time of %d calls each (%d per round, %d rounds, the backends taking turns going first)\n\n",
		cfg.ops*cfg.rounds, cfg.ops, cfg.rounds)
	fmt.Fprintln(w, "One connection per backend, calls one after another, after one call of each to warm the connection. "+
		"Round trips are counted on the client's wire (to the server, or to the coordinator); the coordinator's own "+
		"trips to the workers are not on it, and show as Citus's executions (citus_stat_counters): a single-shard "+
		"one goes to one worker, a multi-shard one to every shard.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| call | one node | Citus | Citus / one node | round trips per call (one node / Citus) | Citus executions per call | coordinator-to-node commands per call | what it touches |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, op := range operations {
		a, b := one.ops[op.name], dist.ops[op.name]
		ma, mb := median(a.times), median(b.times)
		n := float64(len(b.times))
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %s / %s | %.2f single-shard, %.2f multi-shard | %s | %s |\n", op.name,
			millis(ma), millis(mb), mb.Seconds()/ma.Seconds(), spreadOf(a.trips), spreadOf(b.trips),
			float64(b.citus.singleShard)/n, float64(b.citus.multiShard)/n, spreadOf(b.remote), op.note)
	}
	fmt.Fprintf(w, "\nCoordinator-to-node commands per call: counted on Citus over %d more calls of each, after the timed ones, "+
		"on a connection of their own with citus.log_remote_commands on (each command the coordinator sends a node, "+
		"itself included, is a NOTICE to the client).\n", probeCalls)
	fmt.Fprintf(w, "Registered on top of the load (%d emails each): %d users on one node, %d on Citus.\n",
		registeredEmails, one.registered, dist.registered)
	writeMove(w, res)
}

func rate(l loadResult) float64 { return float64(l.rows.Rows()) / l.elapsed.Seconds() }

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// spreadOf shows counts that should all be equal: the count, or the range.
func spreadOf(ns []int64) string {
	lo, hi := slices.Min(ns), slices.Max(ns)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func percent(f float64) string {
	if f < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeMove renders the growth phase.
func writeMove(w io.Writer, res *results) {
	m := res.move
	if m == nil {
		return
	}
	fmt.Fprintf(w, "\n### Growth under traffic: a worker added, shards moved onto it online\n\n")
	fmt.Fprintf(w, "On the loaded Citus backend, after the calls above: wal_level set to logical on every node (a restart each), "+
		"then %d clients (one per kind of call, on a pool of 16 connections) each call every %v, %v before the move and "+
		"through it: a third worker is started and added (`citus_add_node`, %.1f s), and "+
		"`citus_rebalance_start(shard_transfer_mode => 'force_logical')` moves shards onto it, waited for with "+
		"`citus_rebalance_wait()`: **%.1f s** to move %d shards (%.1f MiB) onto the new worker; moves tried again "+
		"(cancelled by a deadlock with a call): %d.\n\n",
		len(m.calls), m.period, res.cfg.growBefore, m.addNode.Seconds(), m.move.Seconds(), m.shardsMoved, float64(m.bytesMoved)/(1<<20), m.retried)
	fmt.Fprintln(w, "| call | calls before | p99 before | calls during the move | p99 during | failed |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, c := range m.calls {
		fmt.Fprintf(w, "| %s | %d | %s | %d | %s | %d |\n", c.Name, len(c.Times[0]), millis(citusgrow.P99(c.Times[0])),
			len(c.Times[1]), millis(citusgrow.P99(c.Times[1])), len(c.Failed))
	}
	fmt.Fprintf(w, "\nRows checked after the move: every table Citus holds (its catalog), the rows that were there before it "+
		"(a reference table's all; a distributed table's of the users there before it), counted and summed (the first 60 bits of each row's md5) "+
		"before and after:\n\n")
	fmt.Fprintln(w, "| table | rows of | rows before | rows after | checksum before | checksum after |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, t := range m.tables {
		of := "all"
		if t.rowsOf != "" {
			of = t.rowsOf + " of the users before"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s |\n", t.table, of, t.rows, t.rowsAfter, t.sum, t.sumAfter)
	}
	fmt.Fprintf(w, "\nAnd: the %d users and emails the clients were told were written, all found; zero %s.\n",
		m.written, strings.Join(m.checks, "; zero "))
}
