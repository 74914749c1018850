/* test_builder.c - see test_builder.h. Test code: may use malloc and abort. */
#include "test_builder.h"
#include "edgesnn.h"
#include <stdlib.h>
#include <string.h>

void tb_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void tb_put32(uint8_t *p, uint32_t v) { tb_put16(p, v & 0xFFFFu); tb_put16(p + 2, v >> 16); }
uint32_t tb_get16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
uint32_t tb_get32(const uint8_t *p) { return tb_get16(p) | (tb_get16(p + 2) << 16); }

void tb_init(tb_model *m)
{
    memset(m, 0, sizeof *m);
    m->data = (uint8_t *)calloc(TB_DATA_CAP, 1);
    if (!m->data)
        abort();
    m->default_steps = 8;
    m->output = 1;
}

void tb_free(tb_model *m)
{
    free(m->data);
    m->data = NULL;
}

int tb_add_tensor(tb_model *m, int dtype, int rank, int d0, int d1, int d2)
{
    tb_tensor *t = &m->t[m->nt];
    uint32_t bytes = (uint32_t)(d0 * d1 * d2) * (dtype == ESNN_DTYPE_I32 ? 4u : 1u);
    t->dtype = (uint8_t)dtype;
    t->rank = (uint8_t)rank;
    t->dims[0] = (uint16_t)d0;
    t->dims[1] = (uint16_t)d1;
    t->dims[2] = (uint16_t)d2;
    t->arena_offset = m->scratch;
    m->scratch += (bytes + 15u) & ~15u;
    return (int)m->nt++;
}

int tb_add_layer(tb_model *m, int op, int neuron, int in0, int in1, int out)
{
    tb_layer *l = &m->l[m->nl];
    memset(l, 0, sizeof *l);
    l->op = (uint8_t)op;
    l->neuron = (uint8_t)neuron;
    l->in0 = (uint16_t)in0;
    l->in1 = (uint16_t)(in1 < 0 ? ESNN_NO_TENSOR : (uint32_t)in1);
    l->out = (uint16_t)out;
    m->output = (uint16_t)out;  /* the last layer's output by default */
    return (int)m->nl++;
}

void tb_geom(tb_model *m, int l, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr)
{
    uint8_t *g = m->l[l].geo;
    g[0] = (uint8_t)kh; g[1] = (uint8_t)kw; g[2] = (uint8_t)sh; g[3] = (uint8_t)sw;
    g[4] = (uint8_t)pt; g[5] = (uint8_t)pl; g[6] = (uint8_t)pb; g[7] = (uint8_t)pr;
}

/* Append raw bytes to the data section at the section's alignment. */
static void put_data(tb_model *m, int l, int sec, const uint8_t *p, uint32_t n)
{
    static const uint32_t align[4] = {16u, 4u, 1u, 2u};
    uint32_t off = (m->dlen + align[sec] - 1u) & ~(align[sec] - 1u);
    if (off + n > TB_DATA_CAP)
        abort();
    memcpy(m->data + off, p, n);
    m->dlen = off + n;
    m->l[l].off[sec] = off;
    m->l[l].len[sec] = n;
}

void tb_weights(tb_model *m, int l, const int8_t *w, uint32_t n)
{
    put_data(m, l, 0, (const uint8_t *)w, n);
}

void tb_bias(tb_model *m, int l, const int32_t *b, uint32_t n)
{
    uint8_t *tmp = (uint8_t *)malloc(4u * n + 1u);
    uint32_t i;
    for (i = 0; i < n; i++)
        tb_put32(tmp + 4u * i, (uint32_t)b[i]);
    put_data(m, l, 1, tmp, 4u * n);
    free(tmp);
}

void tb_shift(tb_model *m, int l, const uint8_t *s, uint32_t n)
{
    put_data(m, l, 2, s, n);
}

void tb_mult(tb_model *m, int l, const int16_t *m0, const int16_t *m1, uint32_t n)
{
    uint8_t *tmp = (uint8_t *)malloc(4u * n + 1u);
    uint32_t i;
    for (i = 0; i < n; i++) {
        tb_put16(tmp + 2u * i, (uint16_t)m0[i]);
        tb_put16(tmp + 2u * (n + i), (uint16_t)m1[i]);
    }
    put_data(m, l, 3, tmp, 4u * n);
    free(tmp);
}

uint32_t tb_layer_at(const uint8_t *blob, int i) { return tb_get32(blob + 28) + 64u * (uint32_t)i; }
uint32_t tb_tensor_at(const uint8_t *blob, int i) { return tb_get32(blob + 32) + 16u * (uint32_t)i; }

void tb_fix_crc(uint8_t *blob)
{
    uint32_t total = tb_get32(blob + 8);
    tb_put32(blob + 12, esnn_crc32(0, blob + 16, total - 16u));
}

static void put_layer(uint8_t *p, const tb_layer *l, uint32_t data_off)
{
    uint32_t s;
    p[0] = l->op;
    p[1] = l->neuron;
    p[2] = l->leak;
    p[3] = l->flags;
    tb_put16(p + 4, l->in0);
    tb_put16(p + 6, l->in1);
    tb_put16(p + 8, l->out);
    memcpy(p + 12, l->geo, 8);
    for (s = 0; s < 4u; s++) {
        tb_put32(p + 20 + 8 * s, l->len[s] ? data_off + l->off[s] : 0u);
        tb_put32(p + 24 + 8 * s, l->len[s]);
    }
}

uint32_t tb_build(const tb_model *m, uint8_t *out, uint32_t cap)
{
    uint32_t lto = 64, tto = lto + 64u * m->nl, dto = (tto + 16u * m->nt + 15u) & ~15u;
    uint32_t mo = dto + m->dlen, ml = m->meta ? (uint32_t)strlen(m->meta) : 0u;
    uint32_t total = mo + ml, i, minor = m->version_minor;
    if (total > cap)
        return 0;
    for (i = 0; i < m->nl; i++) {
        if (m->l[i].op == ESNN_OP_COUPLE && minor < 2u)
            minor = 2u;  /* format 1.2 */
    }
    memset(out, 0, total);
    memcpy(out, "ESNN", 4);
    tb_put16(out + 4, 1);
    tb_put16(out + 6, minor);
    tb_put32(out + 8, total);
    tb_put16(out + 16, m->nl);
    tb_put16(out + 18, m->nt);
    tb_put16(out + 20, m->input);
    tb_put16(out + 22, m->output);
    tb_put16(out + 24, m->default_steps);
    tb_put32(out + 28, lto);
    tb_put32(out + 32, tto);
    tb_put32(out + 36, (m->scratch + 15u) & ~15u);
    tb_put32(out + 40, dto);
    tb_put32(out + 44, m->dlen);
    tb_put32(out + 48, 0x3C23D70Au);  /* input_scale 0.01f, host-only */
    tb_put32(out + 56, ml ? mo : 0u);
    tb_put32(out + 60, ml);
    for (i = 0; i < m->nl; i++)
        put_layer(out + lto + 64u * i, &m->l[i], dto);
    for (i = 0; i < m->nt; i++) {
        uint8_t *p = out + tto + 16u * i;
        p[0] = m->t[i].dtype;
        p[1] = m->t[i].rank;
        tb_put16(p + 4, m->t[i].dims[0]);
        tb_put16(p + 6, m->t[i].dims[1]);
        tb_put16(p + 8, m->t[i].dims[2]);
        tb_put32(p + 12, m->t[i].arena_offset);
    }
    memcpy(out + dto, m->data, m->dlen);
    if (ml)
        memcpy(out + mo, m->meta, ml);
    tb_fix_crc(out);
    return total;
}
