#include "model.h"

#include <stdlib.h>
#include <string.h>

const char *mesh_outcome_name(enum mesh_outcome o)
{
	switch (o) {
	case MESH_OK: return "success";
	case MESH_HTTP_ERROR: return "http_error";
	case MESH_TIMEOUT: return "timeout";
	case MESH_REJECTED: return "rejected";
	case MESH_OUTCOME_COUNT: break;
	}
	return "?";
}

void model_free(model *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nservices; i++) {
		model_service *s = &m->services[i];
		free(s->name);
		for (uint32_t j = 0; j < s->nsteps; j++) {
			free(s->steps[j].routes);
			free(s->steps[j].sizes);
		}
		free(s->steps);
		free(s->errors);
	}
	free(m->services);
	for (uint32_t i = 0; i < m->nroutes; i++)
		free(m->routes[i].path);
	free(m->routes);
	for (uint32_t i = 0; i < m->nclients; i++) {
		free(m->clients[i].name);
		free(m->clients[i].phases);
	}
	free(m->clients);
	for (uint32_t i = 0; i < m->nobjectives; i++)
		free(m->objectives[i].text);
	free(m->objectives);
	free(m->name);
	free(m->file);
	free(m);
}

int model_route_intern(model *m, uint32_t service, const char *path)
{
	for (uint32_t i = 0; i < m->nroutes; i++)
		if (m->routes[i].service == service &&
		    strcmp(m->routes[i].path, path) == 0)
			return (int)i;
	char *p = strdup(path);
	if (!p)
		return -1;
	model_route *r = realloc(m->routes, (m->nroutes + 1) * sizeof *r);
	if (!r) {
		free(p);
		return -1;
	}
	m->routes = r;
	r[m->nroutes].service = service;
	r[m->nroutes].path = p;
	return (int)m->nroutes++;
}

const char *model_metric_name(enum model_metric k)
{
	switch (k) {
	case METRIC_SUCCESS_RATE: return "success_rate";
	case METRIC_ERROR_RATE: return "error_rate";
	case METRIC_ERRORS: return "errors";
	case METRIC_TIMEOUTS: return "timeouts";
	case METRIC_REQUESTS: return "requests";
	case METRIC_MEAN: return "mean";
	case METRIC_P50: return "p50";
	case METRIC_P90: return "p90";
	case METRIC_P99: return "p99";
	case METRIC_P999: return "p999";
	case METRIC_MAX: return "max";
	}
	return "?";
}

const char *model_op_name(enum model_op op)
{
	switch (op) {
	case OP_GE: return ">=";
	case OP_GT: return ">";
	case OP_LE: return "<=";
	case OP_LT: return "<";
	case OP_EQ: return "==";
	}
	return "?";
}

int model_metric_is_latency(enum model_metric k)
{
	return k == METRIC_MEAN || k == METRIC_P50 || k == METRIC_P90 ||
	       k == METRIC_P99 || k == METRIC_P999 || k == METRIC_MAX;
}
