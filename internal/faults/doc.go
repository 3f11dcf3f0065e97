// Package faults holds the fault-injection tests of the data layer: killed
// backends, server restarts, slow queries, network stalls. Each test starts a
// PostgreSQL of its own from the local server binaries, since it stops,
// restarts or cuts off the server. RELIABILITY.md lists what they prove.
package faults
