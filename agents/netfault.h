/*
 * netfault.h - what the faults of the network do to one hop between pods.
 *
 * The network's faults (partitions, extra latency, packet loss, bandwidth
 * limits) belong to the host, not to an agent: the simulator applies them
 * to every message it carries between two pods, and a live host applies
 * them in the sidecar process that sends a message. Both call this module,
 * so the decision is made by one piece of code. It does no I/O and keeps no
 * clock: the caller says what time it is and passes the random stream to
 * draw from (in the simulator, the sending agent's "net/..." stream).
 *
 * What each fault does to a hop (scenarios/README.md has the user's view):
 *
 * - partition: a request across the cut cannot connect (NETFAULT_REFUSE:
 *   the caller must be answered 503 with MESH_RF_UF after the destination
 *   service's connect_timeout, see netfault_refusal); an answer across the
 *   cut is lost (NETFAULT_DROP). One-way cuts only what side 1 opens to
 *   side 2, as a stateful firewall does. Load clients stand outside every
 *   partition.
 * - network: hops into the target (or every hop) get extra latency drawn
 *   from the fault's distribution, and lose transmissions with the fault's
 *   probability (or a Gilbert-Elliott chain per fault and sender); each
 *   loss costs a TCP retransmission timeout, doubling each time.
 * - bandwidth: the requests into the target and/or its responses pass one
 *   shared link per fault and direction, FIFO: a message of `size` body
 *   bytes occupies it for size / rate and arrives when its transfer ends.
 *   Only bodies are limited, as Envoy's bandwidth_limit filter limits data
 *   frames and not headers: a message without a body passes at once.
 *
 * Faults are looked at in the scenario's order, so that the random draws,
 * and so the simulator's reports, do not depend on anything but the
 * scenario and the seed.
 */
#ifndef NETFAULT_H
#define NETFAULT_H

#include "mesh.h"
#include "model.h"
#include "rec.h"
#include "rng.h"

enum netfault_verdict {
	NETFAULT_PASS = 0, /* the message arrives, after *hop */
	NETFAULT_DROP,     /* it is lost: an answer across a cut */
	NETFAULT_REFUSE,   /* a request across a cut: no connection */
};

/* Link directions of a bandwidth fault. */
enum netfault_dir { NETFAULT_DIR_REQUEST = 0, NETFAULT_DIR_RESPONSE = 1 };

/* The state one host keeps for the network's faults: the Gilbert-Elliott
 * state of each (network fault, sender) and the busy-until clock of each
 * bandwidth fault's two links. A live host keeps one per sidecar process
 * (its links are then per process: it throttles real sockets itself). */
typedef struct netfault_state {
	uint32_t nfaults;
	uint32_t nsenders;
	uint8_t *ge_bad;        /* [nfaults x nsenders]: 1 in the bad state */
	mesh_time *link_busy;   /* [nfaults x 2]: link free again at */
	int has_bandwidth;      /* the model has a bandwidth fault */
} netfault_state;

/* Set st up for model m and senders numbered 0 .. nsenders - 1 (the
 * simulator numbers them by agent id). Borrows nothing: m is only read
 * here, and must be the model passed to every later call. Returns 0, or
 * -1 when out of memory (st is then empty, and netfault_destroy is still
 * safe on it). */
int netfault_init(netfault_state *st, const model *m, uint32_t nsenders);

/* Free what st holds. Safe on a zeroed or failed state. */
void netfault_destroy(netfault_state *st);

/* True when fault kind k is the network's (decided by netfault_hop). */
static inline int netfault_kind(enum model_fault_kind k)
{
	return k == FAULT_PARTITION || k == FAULT_NETWORK ||
	       k == FAULT_BANDWIDTH;
}

/* True when one of the network's faults is on: a host may skip
 * netfault_hop while this is 0 (the simulator's fast path). */
int netfault_any_on(const model *m, const uint8_t *faults_on);

/* Decide what happens to message msg, sent at `now` by sender `sender`
 * (< nsenders) from a pod of service fs to a pod of service ts (either
 * may be MODEL_CLIENTS, a load client's pod), while the faults with
 * faults_on[i] set are on. On NETFAULT_PASS adds the delay the faults
 * cause to *hop (the caller has already put the hop's own latency there).
 * With with_bandwidth 0 the bandwidth faults add no delay (a live host
 * throttles its sockets instead; netfault_bandwidth_rate says how much)
 * but still count their hits. Draws from g. Counts every fault hit in r
 * (rec_fault_hit): each cut message, each lost transmission, each body
 * that passes a limited link. Never fails. */
enum netfault_verdict netfault_hop(netfault_state *st, const model *m,
				   const uint8_t *faults_on, rec *r,
				   uint32_t sender, uint32_t fs, uint32_t ts,
				   const mesh_msg *msg, rng *g, mesh_time now,
				   int with_bandwidth, mesh_time *hop);

/* Whether a partition that is on cuts msg from a pod of fs to one of ts
 * (what netfault_hop would refuse or drop for it), without counting a hit
 * or drawing anything: a host asks before it spends anything on a
 * connection that cannot be made (the simulator's TLS handshake). */
int netfault_cut(const model *m, const uint8_t *faults_on, uint32_t fs,
		 uint32_t ts, const mesh_msg *msg);

/* The answer for request req, sent to agent `dst` and refused by a cut
 * (NETFAULT_REFUSE): fills *resp with a 503 carrying MESH_RF_UF, as from
 * dst, and returns how long after the send it must reach the caller: the
 * destination service's connect_timeout. */
mesh_time netfault_refusal(const model *m, const mesh_msg *req, uint32_t dst,
			   mesh_msg *resp);

/* For a live host that throttles sockets: the tightest bandwidth limit, in
 * bytes per second, that the faults on put on a message of kind `kind`
 * (MESH_REQ or MESH_RESP) from a pod of service fs to a pod of service
 * ts; 0 when none does. */
uint64_t netfault_bandwidth_rate(const model *m, const uint8_t *faults_on,
				 uint32_t fs, uint32_t ts, uint8_t kind);

/* How long a link of `bytes_per_s` (> 0) takes to carry `size` bytes, in
 * ns, rounded up (a transfer ends with its last byte); at most 2^62 ns
 * (146 years), for absurd sizes. */
mesh_time netfault_transfer_time(uint64_t size, uint64_t bytes_per_s);

#endif
