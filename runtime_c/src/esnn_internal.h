/*
 * esnn_internal.h - private declarations shared by the runtime's source files.
 *
 * Nothing here is API. Blob fields are always decoded byte by byte into these plain
 * structs (never by casting blob pointers), so unaligned or hostile blobs are safe and
 * the code does not depend on host endianness.
 */
#ifndef ESNN_INTERNAL_H
#define ESNN_INTERNAL_H

#include <stddef.h>
#include <string.h>
#include "edgesnn.h"  /* and esnn_config.h: the build options */
#include "esnn_le.h"

/* A helper kept out of line: under LTO a helper inlined into several callers costs its
 * size once per caller, which a firmware of a few KB feels (GCC and clang). */
#if defined(__GNUC__)
#define ESNN_NOINLINE __attribute__((noinline))
#else
#define ESNN_NOINLINE
#endif

/* Indices of the four (offset, length) pairs of a layer entry. */
enum { ESNN_SEC_W = 0, ESNN_SEC_B = 1, ESNN_SEC_S = 2, ESNN_SEC_M = 3 };

/* Largest numel of a tensor (format.md section 3). */
#define ESNN_MAX_NUMEL 65535u
/* A total current must stay below 2^31 (format.md overflow rule). */
#define ESNN_I32_LIMIT 0x80000000ull
/* Causal IF/LIF layers: bound + 2^20 < 2^31, so the membrane (|u| <= bound + theta)
 * fits in int32 whatever the reset mode (format.md 5). */
#define ESNN_CAUSAL_MARGIN 0x100000ull

/* Decoded header (section 2). */
typedef struct {
    uint16_t version_major, version_minor;
    uint32_t total_length, crc32;
    uint16_t num_layers, num_tensors;
    uint16_t input_tensor, output_tensor;
    uint16_t default_steps, flags;  /* flags: header offset 26 (ESNN_HDR_*) */
    uint32_t layer_table_offset, tensor_table_offset;
    uint32_t scratch_bytes, data_offset, data_length;
    uint32_t meta_offset, meta_length;
} esnn_hdr;

/* Decoded tensor table entry (section 3) plus derived sizes. */
typedef struct {
    uint8_t dtype, rank;
    uint16_t reserved0, reserved1;
    uint16_t dims[3];
    uint32_t arena_offset;
    uint32_t numel;  /* dims product, saturated at 0xFFFFFFFF for hostile dims */
    uint32_t bytes;  /* numel * element size, saturated likewise */
} esnn_tdesc;

/* Decoded layer table entry (section 4). */
typedef struct {
    uint8_t op, neuron, leak_shift, flags;
    uint16_t in0, in1, out, reserved;
    uint8_t kh, kw, sh, sw, pt, pl, pb, pr;
    uint32_t off[4], len[4];   /* indexed by ESNN_SEC_* */
    uint8_t tail_nonzero;      /* 1 when one of the 12 trailing reserved bytes is set */
    uint8_t geo;               /* kh | kw | ... | pr: 0 when the op has no window */
} esnn_ldesc;

/* What one invoke needs to find tensors: the T-step plan is the one-step plan * T. */
typedef struct {
    const uint8_t *blob;
    uint32_t blob_len; /* bytes of the blob (its validated total_length) */
    uint8_t *arena;
    uint32_t T;       /* steps of this call, 1..63 */
    uint32_t scale;   /* 1 in one-step mode, T in T-step mode */
    uint8_t tstep;    /* 1 in the averaged T-step loop (kernels sum all T steps) */
    uint8_t causal;   /* 1 in causal T-step mode: kernels run one step (T = 1) at `row` */
    uint32_t row;     /* causal: current step; U8 tensors are read/written at row * numel */
    uint8_t *mem;     /* causal: int32 membranes of the running IF/LIF layer */
#if ESNN_STREAM
    uint8_t stream;   /* streaming step: mem is the running layer's persistent state */
#endif
} esnn_run;

/* Where and how a layer's neurons store their result (see esnn_neuron.c). */
typedef struct {
    uint8_t *out;          /* output tensor base in the arena */
    const uint8_t *shift;  /* per-channel threshold shifts in the blob; NULL for NONE */
    uint32_t numel;        /* output elements = stride between T-step rows */
    uint32_t T;
    uint8_t tstep, neuron, leak;
    uint8_t fast;          /* one-step IF: the kernels inline esnn_if_count */
    uint8_t add;           /* COUPLE: add the count to the output (mod 256), see esnn_couple.c */
    uint8_t causal, flags; /* causal mode and the layer's ESNN_LF_* flags */
    uint32_t row;          /* causal: current step */
    uint8_t *mem;          /* causal: membranes (int32 per output element) */
#if ESNN_STREAM
    uint8_t stream;        /* streaming step (esnn_neuron_stream.c) */
#endif
} esnn_sink;

/* ---- esnn_blob_read.c: the tables decoded (esnn_le.h reads the fields) ---- */
void esnn_read_header(const uint8_t *blob, esnn_hdr *h);
void esnn_read_tensor(const uint8_t *blob, const esnn_hdr *h, uint32_t i, esnn_tdesc *t);
void esnn_read_layer(const uint8_t *blob, const esnn_hdr *h, uint32_t i, esnn_ldesc *l);

/* ---- esnn_diag.c ---- */
esnn_status esnn_fail(esnn_diag *d, esnn_status s, int32_t layer, int32_t tensor,
                      uint32_t expected, uint32_t actual);
esnn_status esnn_ok(esnn_diag *d);
uint32_t esnn_sat32(uint64_t v);

/* ---- validation (esnn_validate*.c) ---- */
esnn_status esnn_validate_blob(const uint8_t *blob, uint32_t len, esnn_hdr *h, esnn_info *info,
                               esnn_diag *d);
esnn_status esnn_validate_header(const uint8_t *blob, uint32_t len, esnn_hdr *h, esnn_diag *d);
esnn_status esnn_validate_tensors(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d);
esnn_status esnn_validate_layer(const uint8_t *blob, const esnn_hdr *h, uint32_t li,
                                const esnn_ldesc *l, esnn_diag *d);
esnn_status esnn_validate_graph(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d);
esnn_status esnn_validate_overflow(const uint8_t *blob, const esnn_hdr *h, esnn_diag *d);
uint32_t esnn_layer_channels(const esnn_tdesc *out);
uint32_t esnn_param_channels(const esnn_ldesc *l, const esnn_tdesc *out);

/* ---- esnn_plan.c: per-call checks shared by esnn_arena_bytes and esnn_invoke ---- */
esnn_status esnn_plan(const uint8_t *blob, const esnn_hdr *h, esnn_mode mode, uint32_t steps,
                      uint32_t *T, uint64_t *need, esnn_diag *d);

/* ---- kernels ---- */
uint8_t *esnn_tensor_ptr(const esnn_run *r, const esnn_tdesc *t);
void esnn_sink_init(esnn_sink *s, const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *out);
void esnn_neuron_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t a);
void esnn_causal_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t i);
/* ---- streaming (ESNN_STREAM): esnn_stream_plan.c, esnn_neuron_stream.c ---- */
#define ESNN_STREAM_HDR_BYTES 16u  /* the stream's own header: the step counter */
/* the streaming arena need and the offset of a U8 output's running totals */
esnn_status esnn_stream_plan(const uint8_t *blob, const esnn_hdr *h, uint64_t *need,
                             uint64_t *totals, esnn_diag *d);
void esnn_stream_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t i);
void esnn_run_layer(const esnn_run *r, const esnn_hdr *h, uint32_t i);
void esnn_run_causal(esnn_run *r, const esnn_hdr *h, const uint8_t *input);
uint32_t esnn_membrane_bytes(const uint8_t *blob, const esnn_hdr *h);
int esnn_spiking(uint8_t neuron);
void esnn_spike_train(int32_t a, uint32_t k, uint32_t leak, uint32_t T, uint8_t *out,
                      uint32_t stride);
void esnn_dense(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                const esnn_tdesc *out, int analog);
void esnn_conv2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                 const esnn_tdesc *out, int analog);
/* The specialised conv kernels esnn_conv2d.c picks among (a build without the plane
 * kernel: ESNN_CONV_PLANE, esnn_config.h). */
int esnn_conv2d_patch(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                      const esnn_tdesc *out, int analog);
int esnn_conv2d_plane(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                      const esnn_tdesc *out, int analog);
void esnn_sumpool2d(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                    const esnn_tdesc *out);
void esnn_add(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in0,
              const esnn_tdesc *in1, const esnn_tdesc *out);
void esnn_couple(const esnn_run *r, const esnn_ldesc *l, const esnn_tdesc *in,
                 const esnn_tdesc *out);

/* Floor of a / 2^k for any int32 a and k in 0..31, without relying on the
 * implementation-defined result of >> on negative values: for a < 0,
 * floor(a / 2^k) = -(ceil(-a / 2^k)) = -(((-a - 1) >> k) + 1), and -a - 1 = -(a + 1)
 * is non-negative and cannot overflow even for INT32_MIN. */
static inline int32_t esnn_asr32(int32_t a, uint32_t k)
{
    return a >= 0 ? (int32_t)(a >> k) : -((-(a + 1)) >> k) - 1;
}

/* Arena int32 access through memcpy: no aliasing or alignment assumptions about the
 * caller's buffer; compilers turn it into one load/store. */
static inline int32_t esnn_ld_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void esnn_st_i32(uint8_t *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* a + b clamped to [INT32_MIN, INT32_MAX], without a 64-bit add */
static inline int32_t esnn_sat_add32(int32_t a, int32_t b)
{
    if (b > 0 && a > INT32_MAX - b)
        return INT32_MAX;
    if (b < 0 && a < INT32_MIN - b)
        return INT32_MIN;
    return a + b;
}

/* One causal step (format.md 5, "Causal dynamics"), the one implementation behind the
 * T-step loop (esnn_neuron_causal.c) and the stream (esnn_neuron_stream.c), which
 * differ only in where they keep the state. `saturate` is a constant at each call site:
 * the stream clamps the current's addition at the int32 limits because it runs past
 * the 63 steps the overflow rule proves; within them nothing saturates.
 *
 * An IF/LIF membrane: u is the membrane after step t-1 and prev its spike (used by a
 * DELAYED reset); returns the membrane after step t and sets *spike. A reset
 * subtracts theta from u >= theta only, and the leak shrinks |u|: neither overflows. */
static inline int32_t esnn_causal_step(int32_t u, uint8_t prev, int32_t i, int32_t thr,
                                       uint8_t f, uint32_t leak, int saturate,
                                       uint8_t *spike)
{
    if (leak)
        u -= esnn_asr32(u, leak);
    if ((f & ESNN_LF_DELAYED) && prev)
        u = (f & ESNN_LF_RESET_ZERO) ? 0 : u - thr;
    u = saturate ? esnn_sat_add32(u, i) : u + i;
    *spike = (uint8_t)((f & ESNN_LF_STRICT) ? u > thr : u >= thr);
    if (!(f & ESNN_LF_DELAYED) && *spike)
        u = (f & ESNN_LF_RESET_ZERO) ? 0 : u - thr;
    return u;
}

/* A NONE readout sums its currents, an LI readout leaks: v_{t+1} = v_t - (v_t >> leak) + i_t. */
static inline int32_t esnn_readout_step(int32_t v, int32_t i, uint8_t neuron, uint32_t leak,
                                        int saturate)
{
    if (neuron == ESNN_NEURON_LI)
        v -= esnn_asr32(v, leak);
    return saturate ? esnn_sat_add32(v, i) : v + i;
}

/* int8 x uint8 dot product. Four partial sums break the add dependency chain; each
 * partial sum is bounded by the validated overflow bound, so none can overflow. */
static inline int32_t esnn_dot_s8u8(const int8_t *w, const uint8_t *x, uint32_t n)
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t j = 0;
    for (; j + 4u <= n; j += 4u) {
        s0 += w[j] * x[j];
        s1 += w[j + 1u] * x[j + 1u];
        s2 += w[j + 2u] * x[j + 2u];
        s3 += w[j + 3u] * x[j + 3u];
    }
    for (; j < n; j++)
        s0 += w[j] * x[j];
    return (s0 + s1) + (s2 + s3);
}

/* ---- fast-path helpers shared by the DENSE and CONV2D kernels ---- */

/* One-step IF count clamp(floor(a / 2^k), 0, T), as esnn_neuron_store computes it: a
 * non-positive a gives 0 whatever the shift, so only a > 0 is ever shifted. Inlined
 * into the kernels because a call per output costs as much as a short dot product. */
static inline uint8_t esnn_if_count(int32_t a, uint32_t k, int32_t T)
{
    int32_t n;
    if (a <= 0)
        return 0;
    n = a >> k;
    return (uint8_t)(n > T ? T : n);
}

/* esnn_neuron_store with the one-step IF case (the common one) inlined. */
static inline void esnn_store(const esnn_sink *s, uint32_t idx, uint32_t c, int32_t a)
{
    if (s->fast)
        s->out[idx] = esnn_if_count(a, s->shift[c], (int32_t)s->T);
    else
        esnn_neuron_store(s, idx, c, a);
}

/* sum of w[i] * p[i] for i < 16 * nb. Written as one loop whose trip count is visibly a
 * multiple of 16 so that compilers vectorise it at -O2 with no scalar epilogue (x86
 * SSE2: sign extension + pmaddwd, under one instruction per MAC); on Cortex-M it is a
 * plain multiply-accumulate loop. Partial sums are bounded like the full sum (the
 * validated overflow rule bounds sum |w| * 255 and every p is 0..255). */
static inline int32_t esnn_dot16(const int8_t *w, const int16_t *p, uint32_t nb)
{
    const uint32_t n = nb * 16u;
    int32_t s = 0;
    uint32_t i;
    for (i = 0; i < n; i++)
        s += w[i] * p[i];
    return s;
}

/* s[c] += dot product of len int8 weights from w + c*stride with the int16 values p, for
 * rows c < n (esnn_dot_rows.c). p holds len values then zeros up to a multiple of 16;
 * rows are read in 16-blocks up to that length, i.e. up to 15 bytes past their end:
 * into the next row (stride >= 16) or, for a section's last row, into whatever follows
 * the section in the blob. The zeros cancel those bytes. When the section ends less
 * than 16 bytes before the blob does (esnn_w_exact), exact_last makes row n-1 stop at
 * exactly len weights. len is at most ESNN_DOT_MAX (the DSP path repacks p on the stack). */
#define ESNN_DOT_MAX 96u
void esnn_dot_rows(const int8_t *w, uint32_t stride, uint32_t len, uint32_t n, const int16_t *p,
                   int32_t *s, int exact_last);

/* 1 when the last weight row of layer l may not be over-read (see esnn_dot_rows). */
static inline int esnn_w_exact(const esnn_run *r, const esnn_ldesc *l)
{
    return (uint64_t)l->off[ESNN_SEC_W] + l->len[ESNN_SEC_W] + 15u > r->blob_len;
}

#endif /* ESNN_INTERNAL_H */
