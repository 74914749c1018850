/* esnn_train_plan.c - what the fine-tuning engine accepts (configuration, graph) and
 * where everything lives in its arena. esnn_train_arena_bytes and esnn_train_init run
 * the same layout, so the query is exact by construction.
 *
 * Arena: [persistent | scratch], every block 16-byte aligned.
 *   persistent: the working blob copy; per trained layer its master weights/biases,
 *               gradients and momenta (float32).
 *   scratch:    one region per tensor (a COUPLE's output shares its input's region in
 *               reversible mode: it is computed in place and reconstructed in place);
 *               stored mode (and verify) adds every IF layer's pre-reset membranes and
 *               spikes of all T steps and, for verify, a copy of every COUPLE input;
 *               then the currents buffer (reused for d loss / d a) and two gradient
 *               buffers. */
#include "esnn_train_internal.h"

static uint64_t al16(uint64_t v)
{
    return (v + ESNN_ARENA_ALIGN - 1u) & ~(uint64_t)(ESNN_ARENA_ALIGN - 1u);
}

static int ok_float(float v)
{
    return esnn_finitef(v) && esnn_fge(v, 0.0f);
}

/* Like the validation passes, the rules record the first failure and one esnn_fail
 * reports it (one diag write instead of one per rule). */
esnn_status esnn_tr_config_check(const esnn_train_config *cfg, esnn_diag *d)
{
    esnn_status s = ESNN_OK;
    uint32_t e = 0, a = 0;
    if (cfg->mode > ESNN_TRAIN_STORED) {
        s = ESNN_ERR_CONFIG;
        e = ESNN_TRAIN_STORED;
        a = cfg->mode;
    } else if (cfg->trainable > ESNN_TRAIN_ALL) {
        s = ESNN_ERR_CONFIG;
        e = ESNN_TRAIN_ALL;
        a = cfg->trainable;
    } else if (cfg->surrogate > ESNN_SURROGATE_ATAN) {
        s = ESNN_ERR_CONFIG;
        e = ESNN_SURROGATE_ATAN;
        a = cfg->surrogate;
    } else if (cfg->verify > (ESNN_TRAIN_VERIFY ? 1u : 0u)) {  /* built in or not */
        s = ESNN_ERR_CONFIG;
        e = ESNN_TRAIN_VERIFY ? 1u : 0u;
        a = cfg->verify;
    } else if (!ok_float(cfg->lr) || !ok_float(cfg->slope) || !ok_float(cfg->logit_scale) ||
               !ok_float(cfg->momentum) || esnn_fge(cfg->momentum, 1.0f)) {
        s = ESNN_ERR_CONFIG;
    } else if (cfg->steps > ESNN_MAX_STEPS) {
        s = ESNN_ERR_STEPS;
        e = ESNN_MAX_STEPS;
        a = cfg->steps;
    }
    return s == ESNN_OK ? ESNN_OK : esnn_fail(d, s, -1, -1, e, a);
}

/* A rate-driven chain: layer i reads layer i-1's output (layer 0 the input), IF
 * neurons everywhere but a DENSE/CONV2D readout with neuron NONE at the end. */
esnn_status esnn_tr_graph_check(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d)
{
    esnn_ldesc l;
    uint32_t i, prev = h->input_tensor, e = 0, a = 0;
    int32_t t = -1;
    if (h->flags & ESNN_HDR_CAUSAL)
        return esnn_fail(d, ESNN_ERR_TRAIN, -1, -1, 0, h->flags);
    for (i = 0; i < h->num_layers; i++) {
        const int last = i + 1u == h->num_layers;
        esnn_read_layer(blob, h, i, &l);
        if (l.in0 != prev || l.op == ESNN_OP_ADD) {
            t = l.in0;
            e = prev;
            a = l.in0;
            break;
        }
        if (last ? !((l.op == ESNN_OP_DENSE || l.op == ESNN_OP_CONV2D) &&
                     l.neuron == ESNN_NEURON_NONE && l.out == h->output_tensor)
                 : l.op != ESNN_OP_SUMPOOL2D && l.neuron != ESNN_NEURON_IF) {
            t = l.out;
            e = last ? ESNN_NEURON_NONE : ESNN_NEURON_IF;
            a = l.neuron;
            break;
        }
        prev = l.out;
    }
    return t < 0 ? ESNN_OK : esnn_fail(d, ESNN_ERR_TRAIN, (int32_t)i, t, e, a);
}

static int weighted(const esnn_ldesc *l)
{
    return l->op == ESNN_OP_DENSE || l->op == ESNN_OP_CONV2D || l->op == ESNN_OP_COUPLE;
}

int esnn_tr_trains_w(const esnn_train_config *cfg, uint32_t i, const esnn_ldesc *l,
                     uint32_t nlayers)
{
    if (!weighted(l))
        return 0;
    return cfg->trainable == ESNN_TRAIN_ALL ||
           (cfg->trainable == ESNN_TRAIN_HEAD && i + 1u == nlayers);
}

int esnn_tr_trains_b(const esnn_train_config *cfg, uint32_t i, const esnn_ldesc *l,
                     uint32_t nlayers)
{
    return weighted(l) && (cfg->trainable != ESNN_TRAIN_HEAD || i + 1u == nlayers);
}

uint32_t esnn_tr_params_bytes(uint32_t nw, uint32_t nb, int momentum)
{
    return (uint32_t)al16(4ull * (nw + nb) * (momentum ? 3u : 2u));
}

/* Offsets are written to tr (a size query passes a scratch trainer: unconditional
 * stores are smaller code than one test per store). */
#define SET(field, v) (tr->field = (uint32_t)(v))

esnn_status esnn_tr_layout(esnn_trainer *tr, const uint8_t *blob, const esnn_hdr *h,
                           const esnn_train_config *cfg, uint64_t *persistent, uint64_t *scratch,
                           esnn_diag *d)
{
    uint32_t in_off[ESNN_MAX_TENSORS];  /* tensor regions, needed for aliasing */
    uint32_t first_bwd;
    const int stored = cfg->mode == ESNN_TRAIN_STORED;
    const int keep = stored || (ESNN_TRAIN_VERIFY && cfg->verify);  /* trajectories are stored */
    esnn_ldesc l;
    esnn_tdesc in, out;
    uint64_t p, s, need;
    uint32_t i, T, nout, max_t = 0, max_cur = 0, nw, nb;
    esnn_status st = esnn_plan(blob, h, ESNN_MODE_ONESTEP, cfg->steps, &T, &need, d);
    if (st != ESNN_OK)
        return st;
    SET(T, T);
    first_bwd = h->num_layers - 1u;
    p = al16(h->total_length);
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        SET(p_off[i], ESNN_TR_NONE);
        SET(s_off[i], ESNN_TR_NONE);
        SET(x_off[i], ESNN_TR_NONE);
        nw = esnn_tr_trains_w(cfg, i, &l, h->num_layers) ? l.len[ESNN_SEC_W] : 0u;
        nb = esnn_tr_trains_b(cfg, i, &l, h->num_layers) ? l.len[ESNN_SEC_B] / 4u : 0u;
        if (nw + nb) {
            SET(p_off[i], p);
            p += esnn_tr_params_bytes(nw, nb, esnn_fgt(cfg->momentum, 0.0f));
            if (i < first_bwd)
                first_bwd = i;
        }
    }
    SET(first_bwd, first_bwd);
    s = p;
    for (i = 0; i < ESNN_MAX_TENSORS; i++)
        in_off[i] = ESNN_TR_NONE;  /* t_off: copied from in_off at the end */
    esnn_read_tensor(blob, h, h->input_tensor, &in);
    in_off[h->input_tensor] = (uint32_t)s;
    s += al16(in.bytes);
    max_t = in.numel;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(blob, h, i, &l);
        esnn_read_tensor(blob, h, l.in0, &in);
        esnn_read_tensor(blob, h, l.out, &out);
        nout = l.op == ESNN_OP_COUPLE ? out.numel / 2u : out.numel;
        if (l.op == ESNN_OP_COUPLE && !stored) {
            in_off[l.out] = in_off[l.in0];  /* in place */
            if (ESNN_TRAIN_VERIFY && cfg->verify) {
                SET(x_off[i], s);
                s += al16(in.bytes);
            }
        } else {
            in_off[l.out] = (uint32_t)s;
            s += al16(out.bytes);
            if (l.op == ESNN_OP_COUPLE)
                SET(x_off[i], in_off[l.in0]);  /* stored: the input keeps its own region */
        }
        if (keep && l.neuron == ESNN_NEURON_IF) {
            SET(s_off[i], s);
            s += al16(5ull * T * nout);  /* int32 membranes then u8 spikes, [t][nout] */
        }
        if (out.numel > max_t)
            max_t = out.numel;
        if (l.op != ESNN_OP_SUMPOOL2D && nout > max_cur)
            max_cur = nout;
    }
    for (i = 0; i < ESNN_MAX_TENSORS; i++)
        SET(t_off[i], in_off[i]);
    SET(cur_off, s);
    SET(da_off, s);  /* d loss / d a overwrites the currents */
    s += al16(4ull * max_cur);
    SET(d0_off, s);
    s += al16(4ull * max_t);
    SET(d1_off, s);
    s += al16(4ull * max_t);
    SET(scratch_off, p);
    esnn_read_tensor(blob, h, h->output_tensor, &out);
    SET(classes, out.numel);
    *persistent = p;
    *scratch = s - p;
    if (s > 0xFFFFFFF0ull)
        return esnn_fail(d, ESNN_ERR_LIMITS, -1, -1, 0xFFFFFFF0u, 0xFFFFFFFFu);
    return ESNN_OK;
}

esnn_status esnn_tr_check(const uint8_t *blob, uint32_t len, const esnn_train_config *cfg,
                          esnn_hdr *h, esnn_diag *d)
{
    esnn_status st = esnn_tr_config_check(cfg, d);
    if (st == ESNN_OK)
        st = esnn_validate_blob(blob, len, h, NULL, d);
    if (st == ESNN_OK)
        st = esnn_tr_graph_check(blob, h, d);
    return st;
}

esnn_status esnn_train_arena_bytes(const uint8_t *blob, uint32_t len, const esnn_train_config *cfg,
                                   esnn_train_stats *need, esnn_diag *diag)
{
    esnn_trainer scratch_tr;  /* the offsets are not kept: only the sizes */
    esnn_hdr h;
    uint64_t p, s;
    esnn_status st;
    if (!blob || !cfg || !need)
        return esnn_fail(diag, ESNN_ERR_NULL, -1, -1, 0, 0);
    memset(need, 0, sizeof *need);
    st = esnn_tr_check(blob, len, cfg, &h, diag);
    if (st != ESNN_OK)
        return st;
    st = esnn_tr_layout(&scratch_tr, blob, &h, cfg, &p, &s, diag);
    if (st != ESNN_OK)
        return st;
    need->persistent_bytes = (uint32_t)p;
    need->scratch_bytes = (uint32_t)s;
    need->arena_bytes = (uint32_t)(p + s);
    return esnn_ok(diag);
}
