#include "netfault.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The latest a link is ever busy until: far beyond any run, and far from
 * overflowing when a host adds it to its clock. */
#define NETFAULT_FAR (MESH_NEVER / 4)

int netfault_init(netfault_state *st, const model *m, uint32_t nsenders)
{
	memset(st, 0, sizeof *st);
	st->ge_bad = calloc(((size_t)m->nfaults + 1) * ((size_t)nsenders + 1), 1);
	st->link_busy = calloc((size_t)m->nfaults * 2 + 1, sizeof *st->link_busy);
	if (!st->ge_bad || !st->link_busy) {
		netfault_destroy(st);
		return -1;
	}
	st->nfaults = m->nfaults;
	st->nsenders = nsenders;
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (m->faults[i].kind == FAULT_BANDWIDTH)
			st->has_bandwidth = 1;
	return 0;
}

void netfault_destroy(netfault_state *st)
{
	free(st->ge_bad);
	free(st->link_busy);
	memset(st, 0, sizeof *st);
}

int netfault_any_on(const model *m, const uint8_t *faults_on)
{
	for (uint32_t k = 0; k < m->nfaults; k++)
		if (faults_on[k] && netfault_kind(m->faults[k].kind))
			return 1;
	return 0;
}

mesh_time netfault_refusal(const model *m, const mesh_msg *req, uint32_t dst,
			   mesh_msg *resp)
{
	mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = req->route,
		      .from = dst, .flags = MESH_RF_UF, .tag = req->tag,
		      .req_id = req->req_id};
	*resp = r;
	return m->services[m->routes[req->route].service].policy.connect_timeout;
}

mesh_time netfault_transfer_time(uint64_t size, uint64_t bytes_per_s)
{
	assert(bytes_per_s > 0);
	uint64_t whole = size / bytes_per_s, rest = size % bytes_per_s;
	if (whole >= NETFAULT_FAR / MESH_S)
		return NETFAULT_FAR;
	/* rest * 1e9 may not fit in 64 bits; its quotient does, and a double
	 * holds it to well under a nanosecond below 2^53 ns (104 days). */
	mesh_time part = (mesh_time)ceil((double)rest * 1e9 / (double)bytes_per_s);
	return whole * MESH_S + part;
}

/* Does bandwidth fault f slow a message of `kind` from a pod of service fs
 * to one of ts? Returns the link's direction, or -1. */
static int bw_link(const model_fault *f, uint32_t fs, uint32_t ts,
		   uint8_t kind)
{
	if (kind == MESH_REQ && (f->bw_dirs & BW_REQUEST) && ts == f->service &&
	    (f->source == MODEL_ANY || f->source == fs))
		return NETFAULT_DIR_REQUEST;
	if (kind == MESH_RESP && (f->bw_dirs & BW_RESPONSE) &&
	    fs == f->service && (f->source == MODEL_ANY || f->source == ts))
		return NETFAULT_DIR_RESPONSE;
	return -1;
}

uint64_t netfault_bandwidth_rate(const model *m, const uint8_t *faults_on,
				 uint32_t fs, uint32_t ts, uint8_t kind)
{
	uint64_t best = 0;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (!faults_on[i] || f->kind != FAULT_BANDWIDTH ||
		    bw_link(f, fs, ts, kind) < 0)
			continue;
		uint64_t rate = f->limit_kbps * 1024;
		if (!best || rate < best)
			best = rate;
	}
	return best;
}

/* The message passes every limited link that carries it, in the
 * scenario's order, as links in series: each starts it when it is free and
 * hands it on when its last byte is through. */
static void bandwidth(netfault_state *st, const model *m,
		      const uint8_t *faults_on, rec *r, uint32_t fs,
		      uint32_t ts, const mesh_msg *msg, mesh_time now,
		      int with_bandwidth, mesh_time *hop)
{
	if (msg->size == 0)
		return; /* headers only: Envoy's filter limits body data */
	mesh_time t = now;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (!faults_on[i] || f->kind != FAULT_BANDWIDTH)
			continue;
		int dir = bw_link(f, fs, ts, msg->kind);
		if (dir < 0)
			continue;
		rec_fault_hit(r, i);
		if (!with_bandwidth)
			continue;
		mesh_time *busy = &st->link_busy[(size_t)i * 2 + (size_t)dir];
		mesh_time begin = *busy > t ? *busy : t;
		mesh_time x = netfault_transfer_time(msg->size, f->limit_kbps * 1024);
		/* Absurd sizes saturate (at 146 years) rather than wrap. */
		t = begin < NETFAULT_FAR && x < NETFAULT_FAR - begin ? begin + x
								  : NETFAULT_FAR;
		*busy = t;
	}
	if (t > now)
		*hop += t - now;
}

/* Does partition f cut msg from a pod of fs to one of ts? */
static int partition_cuts(const model_fault *f, uint32_t fs, uint32_t ts,
			  const mesh_msg *msg)
{
	/* Load clients stand outside every partition. */
	if (fs == MODEL_CLIENTS || ts == MODEL_CLIENTS)
		return 0;
	uint8_t a = f->side[fs], b = f->side[ts];
	if (!a || !b || a == b || (f->one_way && a != 1))
		return 0;
	/* One-way cuts the connections side 1 opens to side 2, as a
	 * stateful firewall does: answers on connections side 2 opened
	 * still pass. */
	return !(f->one_way && msg->kind == MESH_RESP);
}

int netfault_cut(const model *m, const uint8_t *faults_on, uint32_t fs,
		 uint32_t ts, const mesh_msg *msg)
{
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (faults_on[i] && m->faults[i].kind == FAULT_PARTITION &&
		    partition_cuts(&m->faults[i], fs, ts, msg))
			return 1;
	return 0;
}

enum netfault_verdict netfault_hop(netfault_state *st, const model *m,
				   const uint8_t *faults_on, rec *r,
				   uint32_t sender, uint32_t fs, uint32_t ts,
				   const mesh_msg *msg, rng *g, mesh_time now,
				   int with_bandwidth, mesh_time *hop)
{
	assert(sender < st->nsenders);
	for (uint32_t i = 0; i < m->nfaults; i++) {
		if (!faults_on[i])
			continue;
		const model_fault *f = &m->faults[i];
		if (f->kind == FAULT_PARTITION) {
			if (!partition_cuts(f, fs, ts, msg))
				continue;
			rec_fault_hit(r, i);
			/* A request finds no connection: the caller hears of
			 * it when its connect timeout runs out. An answer
			 * across the cut is lost: the caller's timeouts end
			 * the request. */
			return msg->kind == MESH_REQ ? NETFAULT_REFUSE
						     : NETFAULT_DROP;
		}
		if (f->kind != FAULT_NETWORK ||
		    (f->service != MODEL_ANY && f->service != ts))
			continue;
		if (f->has_latency)
			*hop += dist_sample(&f->latency, g);
		if (f->loss > 0 || f->bursty) {
			/* TCP resends a lost segment after the retransmission
			 * timeout, doubling it after each loss (RFC 6298); after 8
			 * losses the hop is let through, as a sender's
			 * patience is not what is modelled here. */
			uint8_t *bad = &st->ge_bad[(size_t)i * st->nsenders + sender];
			mesh_time rto = f->rto;
			for (int k = 0; k < 8; k++) {
				double p = f->loss;
				if (f->bursty) {
					/* Gilbert-Elliott: move between a good
					 * and a bad state per transmission. */
					if (*bad)
						*bad = rng_uniform(g) >= f->ge_r;
					else
						*bad = rng_uniform(g) < f->ge_p;
					p = *bad ? f->loss_bad : f->loss;
				}
				if (!(rng_uniform(g) < p))
					break;
				*hop += rto;
				rto *= 2;
				rec_fault_hit(r, i);
			}
		}
	}
	/* Bandwidth last, and only for a message that gets through: a lost
	 * message occupies no link. It draws nothing at random. */
	if (st->has_bandwidth)
		bandwidth(st, m, faults_on, r, fs, ts, msg, now, with_bandwidth,
			  hop);
	return NETFAULT_PASS;
}
