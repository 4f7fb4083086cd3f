/*
 * live_topo.c - where the pods of a live run are (see live.h).
 */
#include "live.h"

#include <stdio.h>
#include <stdlib.h>

int live_topo_init(live_topo *t, const model *m, unsigned net)
{
	t->m = m;
	t->net = net;
	t->ninst = 0;
	for (uint32_t s = 0; s < m->nservices; s++)
		t->ninst += m->services[s].replicas;
	t->npods = t->ninst + m->nclients + 1;
	t->first = calloc(m->nservices + 1, sizeof *t->first);
	t->count = calloc(m->nservices + 1, sizeof *t->count);
	t->inbound = calloc(t->ninst + 1, sizeof *t->inbound);
	t->pod_service = calloc(t->npods, sizeof *t->pod_service);
	if (!t->first || !t->count || !t->inbound || !t->pod_service) {
		live_topo_destroy(t);
		return -1;
	}
	uint32_t k = 0;
	for (uint32_t s = 0; s < m->nservices; s++) {
		t->first[s] = k;
		t->count[s] = m->services[s].replicas;
		for (uint32_t i = 0; i < m->services[s].replicas; i++, k++) {
			t->inbound[k] = 2 * k + 1;
			t->pod_service[k] = s;
		}
	}
	for (uint32_t p = t->ninst; p < t->npods; p++)
		t->pod_service[p] = MODEL_CLIENTS;
	return 0;
}

void live_topo_destroy(live_topo *t)
{
	free(t->first);
	free(t->count);
	free(t->inbound);
	free(t->pod_service);
	t->first = t->count = t->inbound = t->pod_service = NULL;
}

void live_pod_ip(const live_topo *t, uint32_t pod, char *buf)
{
	uint32_t x = pod + 1;
	snprintf(buf, 16, "127.%u.%u.%u", t->net & 255u, (x >> 8) & 255u,
		 x & 255u);
}

void live_pod_name(const live_topo *t, uint32_t pod, char *buf, unsigned len)
{
	const model *m = t->m;
	if (pod < t->ninst) {
		uint32_t s = t->pod_service[pod];
		snprintf(buf, len, "%s-%u", m->services[s].name,
			 pod - t->first[s]);
	} else if (pod < t->ninst + m->nclients) {
		snprintf(buf, len, "client-%s", m->clients[pod - t->ninst].name);
	} else {
		snprintf(buf, len, "load");
	}
}
