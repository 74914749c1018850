/*
 * edgesnn.h - the one public header of the edgesnn C runtime (its build options, with
 * their defaults, are in esnn_config.h, which it includes).
 *
 * Portable C99, no malloc, no floating point on the inference path. The caller owns
 * every byte: the blob (read in place, e.g. from flash) and one arena for
 * activations. The blob format and the arithmetic are specified in docs/format.md.
 *
 * Typical use:
 *     uint32_t need;
 *     esnn_arena_bytes(blob, len, ESNN_MODE_ONESTEP, 0, &need, NULL);
 *     esnn_model m;
 *     esnn_init(&m, blob, len, arena, arena_len, NULL);
 *     esnn_invoke(&m, input_q, input_len, ESNN_MODE_ONESTEP, 0, NULL);
 *     esnn_tensor out; esnn_output(&m, &out);
 */
#ifndef EDGESNN_H
#define EDGESNN_H

#include <stdint.h>
#include "esnn_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESNN_VERSION_MAJOR 1
#define ESNN_VERSION_MINOR 2
#define ESNN_RUNTIME_VERSION "0.1.0"

#define ESNN_HEADER_BYTES 64u
#define ESNN_LAYER_BYTES 64u
#define ESNN_TENSOR_BYTES 16u
#define ESNN_MAX_LAYERS 64u
#define ESNN_MAX_TENSORS 64u
#define ESNN_MAX_STEPS 63u
#define ESNN_MAX_SHIFT 20u
#define ESNN_ARENA_ALIGN 16u
#define ESNN_NO_TENSOR 0xFFFFu

/* Header flags (offset 26, format 1.1; a 1.0 blob must have 0). */
#define ESNN_HDR_CAUSAL 0x0001u    /* T-step neurons integrate their per-step current */
#define ESNN_HDR_SEQUENCE 0x0002u  /* input is T frames, step-major (needs CAUSAL) */
#define ESNN_HDR_FLAGS_KNOWN 0x0003u

/* Layer flags (layer offset 3; IF/LIF layers of causal blobs only). */
#define ESNN_LF_RESET_ZERO 0x01u   /* reset to 0 instead of subtracting the threshold */
#define ESNN_LF_STRICT 0x02u       /* spike when u > theta instead of u >= theta */
#define ESNN_LF_DELAYED 0x04u      /* reset one step late (snnTorch reset_delay=True) */
#define ESNN_LF_KNOWN 0x07u
/* Layer flag of COUPLE layers (format 1.2): the target is the second channel half
 * (y2 = x2 + G(x1)); clear, the first (y1 = x1 + F(x2)). */
#define ESNN_LF_TARGET_HI 0x08u

/* Status codes: 0 is success, every failure is negative and specific. */
typedef enum {
    ESNN_OK = 0,
    ESNN_ERR_NULL = -1,            /* a required pointer argument was NULL */
    ESNN_ERR_TRUNCATED = -2,       /* blob shorter than its header or total_length */
    ESNN_ERR_MAGIC = -3,           /* not an .esnn blob */
    ESNN_ERR_VERSION = -4,         /* unsupported format major version */
    ESNN_ERR_CRC = -5,             /* CRC-32 mismatch: corrupted blob */
    ESNN_ERR_ALIGN = -6,           /* misaligned section, tensor or arena */
    ESNN_ERR_BOUNDS = -7,          /* offset/length outside its section or the arena plan */
    ESNN_ERR_LIMITS = -8,          /* too many layers/tensors/elements */
    ESNN_ERR_RESERVED = -9,        /* a reserved field or unused section is not zero */
    ESNN_ERR_OP = -10,             /* unknown op or neuron type */
    ESNN_ERR_DTYPE = -11,          /* tensor dtype not allowed here */
    ESNN_ERR_SHAPE = -12,          /* inconsistent shapes or sizes */
    ESNN_ERR_SHIFT = -13,          /* threshold or leak shift out of range */
    ESNN_ERR_GRAPH = -14,          /* bad tensor index or execution order */
    ESNN_ERR_OVERFLOW = -15,       /* weights/biases could overflow the int32 accumulator */
    ESNN_ERR_ARENA_TOO_SMALL = -16,/* arena smaller than the plan needs */
    ESNN_ERR_STEPS = -17,          /* steps outside 1..63 or too many for a sum pool */
    ESNN_ERR_MODE = -18,           /* mode not possible for this blob (one-step with LIF/LI/sequence) */
    ESNN_ERR_INPUT_SIZE = -19,     /* input length differs from the input tensor */
    ESNN_ERR_STATE = -20,          /* model not initialised or nothing invoked yet */
    ESNN_ERR_LABEL = -21,          /* training label outside 0..classes-1 */
    ESNN_ERR_DIVERGED = -22,       /* training produced NaN/inf (learning rate too large) */
    ESNN_ERR_CONFIG = -23,         /* bad training configuration (lr, momentum, mode...) */
    ESNN_ERR_TRAIN = -24           /* this blob cannot be fine-tuned (op, neuron or graph) */
} esnn_status;

typedef enum {
    ESNN_MODE_ONESTEP = 0,  /* parallel spike generation: one pass, counts directly */
    ESNN_MODE_TSTEP = 1,    /* explicit simulation of T steps */
    ESNN_MODE_STREAM = 2    /* causal blobs, one frame per esnn_stream_step (arena query only) */
} esnn_mode;

typedef enum { ESNN_DTYPE_U8 = 1, ESNN_DTYPE_I32 = 2 } esnn_dtype;
typedef enum {
    ESNN_OP_DENSE = 1, ESNN_OP_CONV2D = 2, ESNN_OP_SUMPOOL2D = 3, ESNN_OP_ADD = 4,
    ESNN_OP_COUPLE = 5  /* reversible additive coupling (format 1.2): one half of a block */
} esnn_op;
typedef enum {
    ESNN_NEURON_NONE = 0, ESNN_NEURON_IF = 1, ESNN_NEURON_LIF = 2,
    ESNN_NEURON_LI = 3  /* leaky integrator readout (causal blobs): I32 membrane after step T */
} esnn_neuron;

/* Where a failure happened and the numbers involved, for messages a person can act on.
 * Every function taking an esnn_diag* accepts NULL. */
typedef struct {
    int32_t status;     /* the same status the function returned */
    int32_t layer;      /* layer index, or -1 */
    int32_t tensor;     /* tensor index, or -1 */
    uint32_t expected;  /* e.g. bytes needed, input length expected, CRC stored */
    uint32_t actual;    /* e.g. bytes given, input length given, CRC computed */
} esnn_diag;

/* A read-only view of a tensor in the arena. */
typedef struct {
    const void *data;   /* uint8_t* for U8, int32_t* for I32 */
    uint8_t dtype;      /* esnn_dtype */
    uint8_t rank;
    uint16_t dims[3];
    uint32_t numel;
} esnn_tensor;

/* Caller-owned model state; fields are private to the runtime. */
typedef struct {
    const uint8_t *blob;
    uint32_t blob_len;
    uint8_t *arena;
    uint32_t arena_len;
    uint32_t last_steps;   /* T of the last invoke, 0 before any */
    uint8_t last_mode;     /* esnn_mode of the last invoke */
    uint8_t ready;         /* 1 after a successful esnn_init */
} esnn_model;

/* Blob information after validation (no arena needed). */
typedef struct {
    uint16_t version_major, version_minor;
    uint16_t num_layers, num_tensors;
    uint16_t default_steps;
    uint8_t onestep_ok;        /* 1 when every neuron is IF (no LIF/LI) and input is static */
    uint8_t flags;             /* header flags (ESNN_HDR_*) */
    uint32_t total_length;
    uint32_t scratch_bytes;    /* one-step arena need */
    uint32_t persistent_bytes; /* arena bytes kept across invocations (0 for inference) */
    uint32_t input_numel, output_numel;
    uint8_t output_dtype;
    uint8_t input_rank, output_rank;
    uint8_t pad;
    uint16_t input_dims[3], output_dims[3];
    uint64_t macs;             /* multiply-accumulates of one one-step inference */
} esnn_info;

const char *esnn_status_str(esnn_status s);

/* CRC-32 as used in the blob header (zlib-compatible); crc = 0 to start. */
uint32_t esnn_crc32(uint32_t crc, const uint8_t *data, uint32_t len);

/* Validate a whole blob (every rule of docs/format.md) and fill *info (may be NULL). */
esnn_status esnn_validate(const uint8_t *blob, uint32_t len, esnn_info *info, esnn_diag *diag);

/* Exact arena bytes needed to invoke this blob in `mode` with `steps` (0 = default),
 * before any init. Validates the blob. */
esnn_status esnn_arena_bytes(const uint8_t *blob, uint32_t len, esnn_mode mode, uint32_t steps,
                             uint32_t *bytes, esnn_diag *diag);

/* Validate the blob and bind it and the arena (16-byte aligned) to *m. The blob is
 * used in place and must outlive *m. Checks the arena against the one-step need;
 * esnn_invoke re-checks it for the mode and T asked for. */
esnn_status esnn_init(esnn_model *m, const uint8_t *blob, uint32_t blob_len, uint8_t *arena,
                      uint32_t arena_len, esnn_diag *diag);

/* Run one inference. `input` holds input_numel quantised bytes (T * input_numel,
 * step-major, for a T-step call on a blob with ESNN_HDR_SEQUENCE). steps = 0 uses the
 * blob's default T. */
esnn_status esnn_invoke(esnn_model *m, const uint8_t *input, uint32_t input_len, esnn_mode mode,
                        uint32_t steps, esnn_diag *diag);

/* The output totals of the last invoke (U8 spike counts or I32 currents). */
esnn_status esnn_output(const esnn_model *m, esnn_tensor *out);

/* Index of the largest output total of the last invoke (lowest index on ties). */
esnn_status esnn_output_argmax(const esnn_model *m, uint32_t *index);

/* ---- Streaming (CAUSAL blobs; docs/format.md 5, "Streaming") ----
 * A stream advances every layer by one input frame per call, keeping each layer's state
 * (IF/LIF membranes, readout values) in the arena between calls, so its arena does not
 * depend on the number of steps: esnn_arena_bytes(blob, len, ESNN_MODE_STREAM, 0, ...)
 * gives it (the one-step plan for one step's activations, then the state). T steps
 * after a reset give the output totals of the T-step (sequence) call on the same frames,
 * bit for bit; state values saturate at the int32 limits (which T <= 63 steps never
 * reach). esnn_invoke on the same model ends the stream (it reuses the arena): the next
 * step answers ESNN_ERR_STATE until a reset. A build with ESNN_STREAM=0 answers
 * ESNN_ERR_MODE. Every failure leaves the model and its state as they were. */

/* Start (or restart) a stream: zero every layer's state and the running outputs.
 * ESNN_ERR_MODE for a blob without ESNN_HDR_CAUSAL, ESNN_ERR_ARENA_TOO_SMALL when the
 * arena bound by esnn_init is smaller than the streaming need. */
esnn_status esnn_stream_reset(esnn_model *m, esnn_diag *diag);

/* Advance the stream by one frame (input_numel quantised bytes, whether or not the blob
 * has ESNN_HDR_SEQUENCE): layers 0..L-1 each run one step. ESNN_ERR_STATE without a
 * reset since init or since the last esnn_invoke, ESNN_ERR_INPUT_SIZE for another length. */
esnn_status esnn_stream_step(esnn_model *m, const uint8_t *frame, uint32_t frame_len,
                             esnn_diag *diag);

/* The stream's running outputs as an I32 tensor of the output's shape: for an I32 output
 * (NONE or LI readout) its current value (NONE: the sum of its currents since the reset,
 * LI: its leaky membrane), for a U8 output (spikes) the running totals since the reset;
 * both saturate at INT32_MAX / INT32_MIN. *steps (may be NULL): frames since the reset
 * (saturating at 0xFFFFFFFF). Valid until the next stream call or invoke. */
esnn_status esnn_stream_output(const esnn_model *m, esnn_tensor *out, uint32_t *steps);


/* ======================================================================== *
 * On-device fine-tuning (docs/training.md). Rate-driven (non-CAUSAL) blobs whose
 * layers form a chain of DENSE/CONV2D/SUMPOOL2D/COUPLE with IF neurons and a NONE
 * (I32) readout. The forward pass is the inference arithmetic; the backward pass
 * uses float32 (soft-float on cores without an FPU). Everything lives in one
 * caller-owned arena: a working copy of the blob and the trained parameters'
 * master copies, gradients and momentum (persistent), then the activations kept
 * for the backward pass (scratch).
 * ======================================================================== */
typedef enum {
    ESNN_TRAIN_REVERSIBLE = 0, /* keep layer inputs only; reconstruct COUPLE inputs, replay membranes */
    ESNN_TRAIN_STORED = 1      /* baseline: store every activation (spikes and membranes of every step) */
} esnn_train_mode;

typedef enum {
    ESNN_TRAIN_HEAD = 0,  /* weights and biases of the last weighted layer */
    ESNN_TRAIN_BIAS = 1,  /* biases of every weighted layer */
    ESNN_TRAIN_ALL = 2    /* every weight and bias */
} esnn_trainable;

typedef enum {
    ESNN_SURROGATE_SIGMOID = 0, /* slope * sig(slope x) * (1 - sig(slope x)), default slope 4 */
    ESNN_SURROGATE_ATAN = 1     /* (alpha/2) / (1 + (pi/2 * alpha * x)^2), default alpha 2 */
} esnn_surrogate;

typedef struct {
    uint8_t mode;         /* esnn_train_mode */
    uint8_t trainable;    /* esnn_trainable */
    uint8_t surrogate;    /* esnn_surrogate */
    uint8_t verify;       /* 1: reversible mode also stores everything and checks every
                             reconstructed input and replayed membrane (debug; needs the
                             stored mode's arena on top). A core built with
                             -DESNN_TRAIN_VERIFY=0 (the Cortex-M firmware) refuses it
                             with ESNN_ERR_CONFIG (expected 0, actual 1). */
    uint16_t steps;       /* T, 0 = the blob's default */
    uint16_t batch;       /* samples per update (mini-batch), 0 = 1 */
    float lr;             /* learning rate, in units of each layer's threshold (docs/training.md) */
    float momentum;       /* 0 <= momentum < 1 */
    float slope;          /* surrogate shape parameter, 0 = default */
    float logit_scale;    /* logits = output current * logit_scale; 0 = 1 / (64 T) */
} esnn_train_config;

typedef struct {
    uint32_t arena_bytes;      /* persistent_bytes + scratch_bytes: what init needs */
    uint32_t persistent_bytes; /* blob copy, trained parameters, gradients, momentum */
    uint32_t scratch_bytes;    /* activations kept for the backward pass, gradient buffers */
    uint32_t persistent_peak;  /* measured high-water marks of the two regions (bytes from */
    uint32_t scratch_peak;     /* each region's start to its last byte ever written) */
    uint32_t samples;          /* samples trained since init */
    uint32_t updates;          /* parameter updates applied */
    uint32_t correct;          /* training samples whose forward pass was right */
    uint32_t saturated;        /* parameter values clamped to int8 / the overflow rule */
    uint32_t verify_checks;    /* verify mode: values compared */
    uint32_t verify_mismatches;
    float loss_sum;            /* sum of the samples' cross-entropy losses */
    float last_loss;
} esnn_train_stats;

/* Caller-owned trainer state; fields are private. */
typedef struct {
    esnn_train_config cfg;
    esnn_train_stats stats;
    uint8_t *arena;
    uint32_t arena_len;
    uint8_t *blob;              /* the working copy, inside the arena */
    uint32_t blob_len;
    uint32_t T, classes, pending;
    uint32_t first_bwd;         /* earliest layer the backward pass reaches */
    uint32_t t_off[ESNN_MAX_TENSORS];  /* arena region of each tensor */
    uint32_t p_off[ESNN_MAX_LAYERS];   /* parameter block of each trained layer (or ~0) */
    uint32_t s_off[ESNN_MAX_LAYERS];   /* stored membranes and spikes of each IF layer (or ~0) */
    uint32_t x_off[ESNN_MAX_LAYERS];   /* saved input of each COUPLE layer (or ~0) */
    uint32_t cur_off, d0_off, d1_off, da_off, scratch_off;
    uint8_t ready;
    uint8_t failed;             /* a diverged update: only esnn_train_init again helps */
} esnn_trainer;

/* Exact arena bytes (and the persistent/scratch split) that esnn_train_init needs for
 * this blob and configuration; fills need->arena_bytes/persistent_bytes/scratch_bytes.
 * Lays the arena out into an esnn_trainer on its stack (sizeof(esnn_trainer)). */
esnn_status esnn_train_arena_bytes(const uint8_t *blob, uint32_t len, const esnn_train_config *cfg,
                                   esnn_train_stats *need, esnn_diag *diag);

/* Validate blob and configuration, copy the blob into the arena (16-byte aligned) and
 * set up the trained parameters. The caller's blob is never written. */
esnn_status esnn_train_init(esnn_trainer *tr, const uint8_t *blob, uint32_t len,
                            const esnn_train_config *cfg, uint8_t *arena, uint32_t arena_len,
                            esnn_diag *diag);

/* One labelled sample (input_numel quantised bytes): forward, loss, backward, gradient
 * accumulation; every cfg.batch samples the parameters are updated. */
esnn_status esnn_train_sample(esnn_trainer *tr, const uint8_t *input, uint32_t input_len,
                              uint32_t label, esnn_diag *diag);

/* Apply the update of a partial mini-batch (no-op when nothing is pending). */
esnn_status esnn_train_flush(esnn_trainer *tr, esnn_diag *diag);

/* Counters and the measured memory high-water marks. */
esnn_status esnn_train_get_stats(const esnn_trainer *tr, esnn_train_stats *st);

/* The gradient accumulated since the last update for layer `layer`: d loss / d W and
 * d loss / d b in integer units (summed over the pending samples). NULL/0 for a
 * section that is not trained. */
esnn_status esnn_train_grad(const esnn_trainer *tr, uint32_t layer, const float **gw, uint32_t *nw,
                            const float **gb, uint32_t *nb);

/* The fine-tuned model: the working blob with a fresh CRC, re-validated. It lives in
 * the arena (valid until the next sample or init); copy it out to keep it. */
esnn_status esnn_train_result(esnn_trainer *tr, const uint8_t **blob, uint32_t *len,
                              esnn_diag *diag);


/* ======================================================================== *
 * Device side of the serial protocol (docs/protocol.md): the firmware main
 * loop shared by every board. The board supplies flash, arena, a byte sink
 * and optionally a tick counter; it feeds received bytes to esnn_device_rx.
 * ======================================================================== */
#define ESNN_PROTO_VERSION 1u
#define ESNN_PROTO_MAX_PAYLOAD 1024u
#define ESNN_PROTO_MAX_ENCODED 1048u
#define ESNN_SLOT_HEADER_BYTES 32u
#define ESNN_NO_SLOT 0xFFu

typedef enum {
    ESNN_TICKS_NONE = 0, ESNN_TICKS_INSTRUCTIONS = 1, ESNN_TICKS_CYCLES = 2, ESNN_TICKS_NANOSECONDS = 3
} esnn_tick_kind;

/* What a board provides. Flash is memory-mapped (models are read in place) and holds
 * two equal slots of flash_bytes / 2 each; writes go through flash_write so real
 * flash can erase/program (a driver erases a sector when a write starts in it).
 * flash_write may be NULL for RAM-backed flash (the runtime then uses memcpy). */
typedef struct {
    const char *name;
    uint32_t ram_bytes;
    uint8_t *flash;
    uint32_t flash_bytes;
    int (*flash_write)(void *ctx, uint32_t offset, const uint8_t *data, uint32_t len); /* 0 = ok */
    void *flash_ctx;
    uint8_t *arena;          /* 16-byte aligned */
    uint32_t arena_bytes;
    void (*tx)(void *ctx, const uint8_t *data, uint32_t len);
    void *tx_ctx;
    uint32_t (*ticks)(void *ctx); /* may be NULL */
    void *ticks_ctx;
    uint8_t tick_kind;       /* esnn_tick_kind */
    /* Measured memory high-water marks for STATS (may be NULL: reported as 0):
     * out[0] stack bytes used at most, out[1] stack size, out[2] arena bytes touched. */
    void (*peaks)(void *ctx, uint32_t *out);
    void *peaks_ctx;
    /* A millisecond clock (may be NULL: a fine-tuning session then never goes stale and
     * only FINETUNE_ABORT or RESET ends it) and the idle time after which a session is
     * stale (0: ESNN_SESSION_IDLE_MS); see docs/protocol.md section 6. */
    uint32_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    uint32_t session_idle_ms;
} esnn_board;

#define ESNN_SESSION_IDLE_MS 10000u  /* default idle limit of a fine-tuning session */

/* Boot check result of a slot (HELLO's slot entry, docs/protocol.md section 5). */
enum {
    ESNN_SLOT_VALID = 0, ESNN_SLOT_EMPTY = 1, ESNN_SLOT_ERASED = 2, ESNN_SLOT_BAD_HEADER = 3,
    ESNN_SLOT_BAD_CRC = 4, ESNN_SLOT_BAD_MODEL = 5
};

#define ESNN_DEVICE_COUNTERS 12u  /* STATS counters the device keeps (docs/protocol.md) */

/* Caller-owned device state (static on an MCU; about 4.5 KB, 1.2 KB of it the
 * fine-tuning trainer, which a build with ESNN_DEVICE_FINETUNE=0 leaves out: compile
 * the code that allocates it with the runtime's options). Fields are private. */
typedef struct {
    esnn_board board;
    esnn_model model;
    uint8_t active;              /* slot index or ESNN_NO_SLOT */
    uint8_t reset_requested;
    uint8_t rx_overflow;         /* discarding up to the next 0x00 */
    uint8_t have_last;           /* a cached response exists */
    uint32_t rx_len;
    uint8_t rx[ESNN_PROTO_MAX_ENCODED];
    uint8_t body[ESNN_PROTO_MAX_PAYLOAD + 12u];
    uint8_t tx[ESNN_PROTO_MAX_ENCODED + 1u];
    uint32_t tx_len;             /* encoded length of the cached last response */
    uint16_t last_seq;
    uint8_t last_cmd;
    uint8_t session_open;
    uint8_t session_slot;
    uint32_t session_size, session_crc, session_next;
    uint32_t stats[ESNN_DEVICE_COUNTERS]; /* STATS counters, in protocol order */
    uint32_t warm;               /* ESNN_DEVICE_WARM after an init: a re-init (RESET)
                                    keeps the counters and increments boots */
    uint8_t slot_check[2];       /* ESNN_SLOT_*: the slot's last boot check (section 5) */
    int16_t slot_status[2];      /* its esnn_status (ESNN_OK when valid) */
    uint8_t arena_q_valid;       /* cached arena need of the last (mode, steps) */
    uint8_t arena_q_mode;
    uint32_t arena_q_steps, arena_q_bytes;
    /* fine-tuning session (FINETUNE_*): a trainer on the active model, in board.arena */
    uint8_t ft_open;             /* a session is open: INFER and UPLOAD_BEGIN answer BUSY */
    uint8_t ft_base;             /* the active slot the session started from */
    int16_t ft_error;            /* esnn_status of a failure that ended the session's use */
    uint32_t ft_token;           /* the owner's token (0: a version-1 BEGIN without one) */
    uint32_t ft_last_ms;         /* board.clock_ms at the owner's last request */
    uint32_t ft_expired;         /* sessions ended as stale since boot (for the board's log) */
#if ESNN_DEVICE_FINETUNE
    esnn_trainer trainer;        /* last, so builds with and without it share the rest */
#endif
} esnn_device;

#define ESNN_DEVICE_WARM 0x57A2B007u

/* Boot: pick the active slot from flash (docs/protocol.md section 5) and bind it to
 * the runtime. Returns ESNN_OK even when no slot is valid (the device then answers
 * NO_MODEL to INFER until an upload commits). Zero *d before the first init (static
 * storage is); a later init of the same struct is a reboot: the STATS counters are
 * kept and `boots` counts it. Returns ESNN_ERR_NULL / ESNN_ERR_LIMITS for a
 * missing flash/tx or a flash too small for two slots. */
esnn_status esnn_device_init(esnn_device *d, const esnn_board *board);

/* Feed received bytes; complete frames are handled and answered through board.tx. */
void esnn_device_rx(esnn_device *d, const uint8_t *data, uint32_t len);

/* 1 after a RESET command was answered: the main loop should reboot (or call
 * esnn_device_init again, which is what a reboot does to this state). */
int esnn_device_reset_requested(const esnn_device *d);

#ifdef __cplusplus
}
#endif
#endif /* EDGESNN_H */
