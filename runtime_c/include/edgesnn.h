/*
 * edgesnn.h - the one public header of the edgesnn C runtime.
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

#ifdef __cplusplus
extern "C" {
#endif

#define ESNN_VERSION_MAJOR 1
#define ESNN_VERSION_MINOR 1
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
    ESNN_ERR_STATE = -20           /* model not initialised or nothing invoked yet */
} esnn_status;

typedef enum {
    ESNN_MODE_ONESTEP = 0,  /* parallel spike generation: one pass, counts directly */
    ESNN_MODE_TSTEP = 1     /* explicit simulation of T steps */
} esnn_mode;

typedef enum { ESNN_DTYPE_U8 = 1, ESNN_DTYPE_I32 = 2 } esnn_dtype;
typedef enum { ESNN_OP_DENSE = 1, ESNN_OP_CONV2D = 2, ESNN_OP_SUMPOOL2D = 3, ESNN_OP_ADD = 4 } esnn_op;
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
} esnn_board;

/* Caller-owned device state (static on an MCU; about 3.5 KB). Fields are private. */
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
    uint32_t stats[10];          /* STATS counters, in protocol order */
    uint32_t warm;               /* ESNN_DEVICE_WARM after an init: a re-init (RESET)
                                    keeps the counters and increments boots */
    uint8_t slot_ok[2];          /* slot passed the full boot check (section 5) */
    uint8_t arena_q_valid;       /* cached arena need of the last (mode, steps) */
    uint8_t arena_q_mode;
    uint32_t arena_q_steps, arena_q_bytes;
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
