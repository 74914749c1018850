/*
 * esnn_train_internal.h - private declarations of the fine-tuning engine
 * (esnn_train_*.c). docs/training.md describes the algorithm.
 */
#ifndef ESNN_TRAIN_INTERNAL_H
#define ESNN_TRAIN_INTERNAL_H

#include "esnn_internal.h"

#define ESNN_TR_NONE 0xFFFFFFFFu
#define ESNN_TR_CANARY 0xA5u  /* arena paint for the measured high-water marks */

/* One layer as the trainer sees it: the blob entry, its tensors at their training
 * regions, and the shape of the currents it computes (the target half for COUPLE). */
typedef struct {
    esnn_ldesc l;
    esnn_tdesc in, out;    /* arena_offset = the tensor's training region */
    esnn_tdesc src, dst;   /* what the weights read and what they drive: for COUPLE the
                              source half of out and the target half; else in and out */
    uint32_t chans;        /* output channels of the currents (weight rows) */
    uint32_t plane;        /* elements per channel of dst */
    uint32_t half;         /* COUPLE: byte offset of the target half within out, else 0 */
    uint32_t src_half;     /* COUPLE: byte offset of the source half within out */
    int analog;            /* reads the network input: a = T * (b + W.q) */
    int spiking;           /* IF neuron */
    int conv;              /* weights are a convolution */
} esnn_tr_layer;

/* ---- esnn_train_plan.c ---- */
esnn_status esnn_tr_config_check(const esnn_train_config *cfg, esnn_diag *d);
esnn_status esnn_tr_graph_check(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d);
/* Configuration, blob validation and graph check, in that order; fills *h. */
esnn_status esnn_tr_check(const uint8_t *blob, uint32_t len, const esnn_train_config *cfg,
                          esnn_hdr *h, esnn_diag *d);
/* Fills tr's offsets and T/classes/first_bwd from (blob, cfg); *persistent and *scratch
 * get the two region sizes. */
esnn_status esnn_tr_layout(esnn_trainer *tr, const uint8_t *blob, const esnn_hdr *h,
                           const esnn_train_config *cfg, uint64_t *persistent, uint64_t *scratch,
                           esnn_diag *d);
int esnn_tr_trains_w(const esnn_train_config *cfg, uint32_t i, const esnn_ldesc *l,
                     uint32_t nlayers);
int esnn_tr_trains_b(const esnn_train_config *cfg, uint32_t i, const esnn_ldesc *l,
                     uint32_t nlayers);

/* ---- esnn_train_layer.c ---- */
void esnn_tr_layer_get(const esnn_trainer *tr, const esnn_hdr *h, uint32_t i, esnn_tr_layer *L);
/* The one-step run context of the trainer's working blob and arena (T = tr->T). */
void esnn_tr_run(const esnn_trainer *tr, esnn_run *r);
void esnn_tr_currents(const esnn_trainer *tr, const esnn_tr_layer *L, int32_t *cur);
uint8_t esnn_tr_shift(const esnn_trainer *tr, const esnn_tr_layer *L, uint32_t e);
float esnn_tr_logit_scale(const esnn_trainer *tr);
float *esnn_tr_f32(const esnn_trainer *tr, uint32_t off);
int32_t *esnn_tr_i32(const esnn_trainer *tr, uint32_t off);
/* Parameter block of trained layer i: master weights, master biases, their gradients and
 * momenta (float). Pointers are NULL for what is not trained. */
typedef struct {
    float *mw, *mb, *gw, *gb, *vw, *vb;
    uint32_t nw, nb;
} esnn_tr_params;
void esnn_tr_params_get(const esnn_trainer *tr, uint32_t i, const esnn_ldesc *l,
                        uint32_t nlayers, esnn_tr_params *p);
uint32_t esnn_tr_params_bytes(uint32_t nw, uint32_t nb, int momentum);

/* ---- esnn_train_fmath.c: target-independent float32 exp/log ---- */
float esnn_expf(float x);
float esnn_logf(float x);

/* ---- float tests without float comparisons (esnn_train_fcmp.c says why) ---- */
static inline uint32_t esnn_fbits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* a NaN's bit pattern: exponent all ones and a non-zero fraction */
static inline int esnn_nanbits(uint32_t u)
{
    return (u & 0x7FFFFFFFu) > 0x7F800000u;
}

/* v != v */
static inline int esnn_isnanf(float v)
{
    return esnn_nanbits(esnn_fbits(v));
}

/* 1 for a finite float: exponent not all ones */
static inline int esnn_finitef(float v)
{
    return (esnn_fbits(v) & 0x7F800000u) != 0x7F800000u;
}

/* a > b and a >= b as IEEE-754 compares them; a < b is esnn_fgt(b, a). Without an FPU
 * (__SOFTFP__: every Cortex-M build here) the bit-pattern compares of esnn_train_fcmp.c, which
 * keep libgcc's compare routines out of the firmware; with one, the C operators, a single
 * instruction each. Both give the same answer for every pair. */
int esnn_fgt_bits(float a, float b);
int esnn_fge_bits(float a, float b);
#if defined(__SOFTFP__)
#define esnn_fgt esnn_fgt_bits
#define esnn_fge esnn_fge_bits
#else
static inline int esnn_fgt(float a, float b)
{
    return a > b;
}

static inline int esnn_fge(float a, float b)
{
    return a >= b;
}
#endif

/* round half away from zero; |v| < 2^31 */
static inline int32_t esnn_roundf(float v)
{
    return esnn_fge(v, 0.0f) ? (int32_t)(v + 0.5f) : -(int32_t)(-v + 0.5f);
}

/* ---- esnn_train_surrogate.c ---- */
float esnn_surrogate_deriv(uint8_t kind, float slope, float x);
/* sum over steps of d s_t / d a (state detached) for an IF element with total current a,
 * threshold 2^k, over T steps: from the stored pre-reset membranes u[t * stride] when
 * u is not NULL, else replayed from a exactly as the T-step neuron computes them. */
float esnn_tr_surrogate_sum(const esnn_trainer *tr, int32_t a, uint32_t k, const int32_t *u,
                            uint32_t stride);
/* The T-step neuron replayed from a: its pre-reset membranes and spikes written to
 * u[t * stride] and s[t * stride] (stored mode and verify), or with check set, the
 * number of steps whose stored membrane or spike differs (u and s only read). One
 * function for both, so the replay exists once. */
uint32_t esnn_tr_trajectory(int32_t a, uint32_t k, uint32_t T, int32_t *u, uint8_t *s,
                            uint32_t stride, int check);

/* ---- forward, backward, update ---- */
void esnn_tr_forward(esnn_trainer *tr, const esnn_hdr *h, const uint8_t *input);
void esnn_tr_backward(esnn_trainer *tr, const esnn_hdr *h, uint32_t label);
esnn_status esnn_tr_update(esnn_trainer *tr, const esnn_hdr *h, esnn_diag *d);

/* ---- gradient kernels (float32) ---- */
/* gw[c][j] += da[c] * mult * x[j] (gw may be NULL); dx[j] = (acc ? dx[j] : 0) +
 * sum_c W[c][j] * da[c] (dx may be NULL). */
void esnn_tr_dense_bwd(const int8_t *w, uint32_t rows, uint32_t cols, const float *da,
                       const uint8_t *x, float mult, float *gw, float *dx, int acc);
/* The same for a convolution with layer geometry l, input (cin, h, w), output da
 * (cout, ho, wo). */
void esnn_tr_conv_bwd(const esnn_ldesc *l, const int8_t *w, const esnn_tdesc *in,
                      const esnn_tdesc *out, const float *da, const uint8_t *x, float mult,
                      float *gw, float *dx, int acc);

#endif /* ESNN_TRAIN_INTERNAL_H */
