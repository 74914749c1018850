/* esnn_validate_graph.c - graph rules (format.md section 4, [ESNN_ERR_GRAPH]).
 *
 * Runs after every layer passed esnn_validate_layer, so all indices are in range.
 * Besides order and single writers it checks arena liveness: between the moment a
 * tensor is written (its producer, or the start of invoke for the network input) and
 * its last read (a consumer, or the caller reading the network output), no layer
 * may write over its arena range. For k == consumer this is the spec's "a layer's
 * input and output ranges do not overlap"; for the layers in between it is what the
 * overflow rule silently assumes (a clobbered tensor could hold any bytes, and then
 * the step loop's sums would no longer be bounded). Scaling the plan by T keeps
 * disjoint ranges disjoint, so checking the one-step plan covers both modes.
 * A COUPLE's input is read by that COUPLE alone (format 1.2): the fine-tuning engine
 * overwrites it in place with the block's output and reconstructs it from there. */
#include "esnn_internal.h"

typedef struct {
    uint32_t lo[ESNN_MAX_TENSORS], hi[ESNN_MAX_TENSORS]; /* arena ranges [lo, hi) */
    int32_t producer[ESNN_MAX_TENSORS];                  /* -1: network input / none */
    uint16_t out[ESNN_MAX_LAYERS];                       /* output tensor of each layer */
} esnn_graph;

static int overlaps(const esnn_graph *g, uint32_t a, uint32_t b)
{
    return g->lo[a] < g->hi[b] && g->lo[b] < g->hi[a];
}

/* No layer in (producer(t), last] writes over tensor t. */
static esnn_status check_live(const esnn_graph *g, uint32_t t, int32_t last, esnn_diag *d)
{
    int32_t k;
    for (k = g->producer[t] + 1; k <= last; k++) {
        if (overlaps(g, g->out[k], t))
            return esnn_fail(d, ESNN_ERR_GRAPH, k, (int32_t)t, g->lo[t], g->lo[g->out[k]]);
    }
    return ESNN_OK;
}

/* A layer input must already exist: the network input or an earlier layer's output. */
static esnn_status check_read(const esnn_hdr *h, const esnn_graph *g, uint32_t t, int32_t li,
                              esnn_diag *d)
{
    if (t != h->input_tensor && g->producer[t] < 0)
        return esnn_fail(d, ESNN_ERR_GRAPH, li, (int32_t)t, 0, 0);
    return check_live(g, t, li, d);
}

static void load_tensors(const uint8_t *blob, const esnn_hdr *h, esnn_graph *g)
{
    esnn_tdesc t;
    uint32_t i;
    for (i = 0; i < h->num_tensors; i++) {
        esnn_read_tensor(blob, h, i, &t);
        g->lo[i] = t.arena_offset;
        g->hi[i] = t.arena_offset + t.bytes;  /* cannot wrap: checked against scratch */
        g->producer[i] = -1;
    }
}

/* Every COUPLE input has exactly one reader (ADD counts each of its inputs). */
static esnn_status check_couple_readers(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    uint8_t readers[ESNN_MAX_TENSORS];
    esnn_ldesc l;
    uint32_t i;
    memset(readers, 0, sizeof readers);
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        readers[l.in0]++;  /* at most 2 * 64 reads: fits a byte */
        if (l.op == ESNN_OP_ADD)
            readers[l.in1]++;
    }
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        if (l.op == ESNN_OP_COUPLE && readers[l.in0] != 1u)
            return esnn_fail(d, ESNN_ERR_GRAPH, (int32_t)i, l.in0, 1, readers[l.in0]);
    }
    return ESNN_OK;
}

esnn_status esnn_validate_graph(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    esnn_graph g;
    esnn_ldesc l;
    esnn_status s = check_couple_readers(blob, h, d);
    uint32_t i;
    if (s != ESNN_OK)
        return s;
    load_tensors(blob, h, &g);
    for (i = 0; i < h->num_layers && s == ESNN_OK; i++) {
        esnn_read_layer(blob, h, i, &l);
        g.out[i] = l.out;
        if (g.producer[l.out] >= 0)
            return esnn_fail(d, ESNN_ERR_GRAPH, (int32_t)i, l.out, 1, 2);  /* second writer */
        s = check_read(h, &g, l.in0, (int32_t)i, d);
        if (s == ESNN_OK && l.op == ESNN_OP_ADD)
            s = check_read(h, &g, l.in1, (int32_t)i, d);
        g.producer[l.out] = (int32_t)i;
    }
    for (i = 0; i < h->num_tensors && s == ESNN_OK; i++) {
        if (i != h->input_tensor && g.producer[i] < 0)
            return esnn_fail(d, ESNN_ERR_GRAPH, -1, (int32_t)i, 1, 0);  /* never written */
    }
    /* the caller reads the output after the last layer */
    if (s == ESNN_OK)
        s = check_live(&g, h->output_tensor, (int32_t)h->num_layers - 1, d);
    return s;
}
