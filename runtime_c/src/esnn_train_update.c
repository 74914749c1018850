/* esnn_train_update.c - SGD with momentum on the trained parameters, then
 * re-quantisation into the working blob (docs/training.md, "Update").
 *
 * Gradients are accumulated in integer units (d loss / d W_q). The step is taken in
 * each layer's normalised units, w^ = W_q * m_in / 2^k and b^ = b_q / 2^k, in which the
 * neuron computes u / theta = b^ + sum w^ * x^ with x^ = input total / (T * m_in) in
 * [0, 1] (m_in: the input's largest per-step value), so one learning rate suits every
 * layer whatever its threshold; a convolution's step is averaged over its output
 * positions (its gradient sums over all of them), so the rate also suits conv and dense
 * layers alike. The readout uses 2^k = 1 / (T * logit_scale). Float
 * masters keep what rounding drops; the blob gets round(master), clamped to the int8
 * range [-127, 127] and, for biases, to what the overflow rule of format.md allows.
 * Every clamp is counted in stats.saturated: nothing wraps. */
#include "esnn_train_internal.h"

#define W_LIMIT 127.0f

/* The largest per-step value of every U8 tensor (format.md 5): 255 for the input,
 * 1 for spikes, kh*kw times its input for a sum pool; COUPLE outputs count as spikes. */
static void step_max(const esnn_trainer *tr, const esnn_hdr *h, float *m)
{
    esnn_ldesc l;
    uint32_t i;
    m[h->input_tensor] = 255.0f;
    for (i = 0; i < h->num_layers; i++) {
        esnn_read_layer(tr->blob, h, i, &l);
        m[l.out] = l.op == ESNN_OP_SUMPOOL2D ? (float)(l.kh * l.kw) * m[l.in0] : 1.0f;
    }
}

static int all_finite(const float *g, uint32_t n)
{
    uint32_t j;
    for (j = 0; j < n; j++)
        if (!esnn_finitef(g[j]))
            return 0;
    return 1;
}

/* One parameter: SGD with momentum in normalised units, then the new master value,
 * clamped to [-lim, lim] (each clamp counted in stats.saturated), is stored and
 * returned; NaN when the step diverged (the master is then left as it was). One
 * out-of-line function for weights and biases alike (firmware size). */
ESNN_NOINLINE static float step(esnn_trainer *tr, float *master, float *grad, float *vel,
                                float unit, float inv, float lim)
{
    float g = *grad * inv * unit;  /* d loss / d (normalised parameter) */
    float m;
    *grad = 0.0f;
    if (vel) {
        *vel = tr->cfg.momentum * *vel + g;
        g = *vel;
    }
    m = *master - tr->cfg.lr * g * unit;
    if (esnn_isnanf(m))
        return m;
    if (esnn_fgt(m, lim) || esnn_fgt(-lim, m)) {
        tr->stats.saturated++;
        m = esnn_fgt(m, 0.0f) ? lim : -lim;
    }
    *master = m;
    return m;
}

/* The largest |b| the format.md overflow rule allows next to 255 * sum|W| = w255:
 * 63 * (w255 + |b|) < 2^31 for a layer reading the network input, else
 * w255 + 63 * |b| < 2^31. Negative when the weights alone break it. 32-bit only, so
 * no 64-bit division routine is linked on a Cortex-M. */
static int32_t bias_limit(uint32_t w255, int analog)
{
    const uint32_t max = 0x7FFFFFFFu;
    if (analog)
        return w255 > max / 63u ? -1 : (int32_t)(max / 63u - w255);
    return w255 > max ? -1 : (int32_t)((max - w255) / 63u);
}

/* The first failure (diverged step, bias beyond the overflow rule) is reported once at
 * the end, with its numbers: tensor t, expected e, actual a. */
static esnn_status update_layer(esnn_trainer *tr, const esnn_hdr *h, uint32_t i, const float *mx,
                                float inv, esnn_diag *d)
{
    const float ls = esnn_tr_logit_scale(tr);
    const int last = i + 1u == h->num_layers;
    esnn_tr_layer L;
    esnn_tr_params p;
    esnn_status s = ESNN_OK;
    int32_t t = -1;
    uint32_t c, j, cols, e = 0, a = 0;
    esnn_tr_layer_get(tr, h, i, &L);
    esnn_tr_params_get(tr, i, &L.l, h->num_layers, &p);
    if (!p.nw && !p.nb)
        return ESNN_OK;
    cols = L.l.len[ESNN_SEC_W] / L.chans;
    inv /= (float)L.plane;  /* a convolution: the mean over its output positions */
    for (c = 0; c < L.chans; c++) {
        const float K = last ? 1.0f / ((float)tr->T * ls) : (float)(1ul << esnn_tr_shift(tr, &L, c * L.plane));
        int8_t *w = (int8_t *)(tr->blob + L.l.off[ESNN_SEC_W] + c * cols);
        uint32_t wsum = 0;  /* sum |W| <= 127 * 65535: 255 * wsum fits 32 bits */
        int32_t lim, q;
        float m;
        for (j = 0; j < cols; j++) {
            if (p.mw) {
                const uint32_t k = c * cols + j;
                m = step(tr, p.mw + k, p.gw + k, p.vw ? p.vw + k : NULL, K / mx[L.l.in0], inv,
                         W_LIMIT);
                if (esnn_isnanf(m))
                    break;
                w[j] = (int8_t)esnn_roundf(m);
            }
            wsum += (uint32_t)(w[j] < 0 ? -w[j] : w[j]);
        }
        if (j < cols) {
            s = ESNN_ERR_DIVERGED;  /* weight (c, j) */
            e = c;
            a = j;
            break;
        }
        if (!p.mb)
            continue;
        lim = bias_limit(255u * wsum, L.analog);
        if (lim < 0) {
            s = ESNN_ERR_OVERFLOW;
            t = L.l.out;
            e = 0x7FFFFFFFu;
            break;
        }
        m = step(tr, p.mb + c, p.gb + c, p.vb ? p.vb + c : NULL, K, inv, (float)lim);
        if (esnn_isnanf(m)) {
            s = ESNN_ERR_DIVERGED;  /* bias c */
            e = c;
            a = 0xFFFFFFFFu;
            break;
        }
        if (esnn_fge(m, (float)lim) || esnn_fge(-(float)lim, m)) {
            q = esnn_fgt(m, 0.0f) ? lim : -lim;
        } else {  /* |m| < lim < 2^31: truncate, then round half away from zero */
            const int32_t whole = (int32_t)m;
            const float fr = m - (float)whole;
            q = whole + esnn_fge(fr, 0.5f) - esnn_fge(-0.5f, fr);
        }
        esnn_wr_u32(tr->blob + L.l.off[ESNN_SEC_B] + 4u * c, (uint32_t)q);
    }
    return s == ESNN_OK ? ESNN_OK : esnn_fail(d, s, (int32_t)i, t, e, a);
}

esnn_status esnn_tr_update(esnn_trainer *tr, const esnn_hdr *h, esnn_diag *d)
{
    float mx[ESNN_MAX_TENSORS];
    uint32_t i;
    esnn_status s;
    if (!tr->pending)
        return ESNN_OK;
    step_max(tr, h, mx);
    for (i = tr->first_bwd; i < h->num_layers; i++) {  /* nothing is applied on NaN/inf */
        esnn_ldesc l;
        esnn_tr_params p;
        esnn_read_layer(tr->blob, h, i, &l);
        esnn_tr_params_get(tr, i, &l, h->num_layers, &p);
        if ((p.gw && !all_finite(p.gw, p.nw)) || (p.gb && !all_finite(p.gb, p.nb))) {
            tr->failed = 1;
            return esnn_fail(d, ESNN_ERR_DIVERGED, (int32_t)i, -1, 0, 0);
        }
    }
    for (i = tr->first_bwd; i < h->num_layers; i++) {
        s = update_layer(tr, h, i, mx, 1.0f / (float)tr->pending, d);
        if (s != ESNN_OK) {
            tr->failed = 1;  /* the working copy is half updated: refuse to go on */
            return s;
        }
    }
    tr->pending = 0;
    tr->stats.updates++;
    return ESNN_OK;
}
