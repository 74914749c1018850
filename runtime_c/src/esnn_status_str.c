/* esnn_status_str.c - a fixed English name for every status code. */
#include "esnn_internal.h"

const char *esnn_status_str(esnn_status s)
{
    switch (s) {
    case ESNN_OK: return "ok";
    case ESNN_ERR_NULL: return "null pointer argument";
    case ESNN_ERR_TRUNCATED: return "blob truncated";
    case ESNN_ERR_MAGIC: return "bad magic (not an .esnn blob)";
    case ESNN_ERR_VERSION: return "unsupported format version";
    case ESNN_ERR_CRC: return "CRC mismatch (corrupted blob)";
    case ESNN_ERR_ALIGN: return "misaligned section, tensor or arena";
    case ESNN_ERR_BOUNDS: return "offset or length out of bounds";
    case ESNN_ERR_LIMITS: return "too many layers, tensors or elements";
    case ESNN_ERR_RESERVED: return "reserved field or unused section not zero";
    case ESNN_ERR_OP: return "unknown op or neuron type";
    case ESNN_ERR_DTYPE: return "tensor dtype not allowed here";
    case ESNN_ERR_SHAPE: return "inconsistent shapes or sizes";
    case ESNN_ERR_SHIFT: return "threshold or leak shift out of range";
    case ESNN_ERR_GRAPH: return "bad tensor index or execution order";
    case ESNN_ERR_OVERFLOW: return "weights/biases could overflow the int32 accumulator";
    case ESNN_ERR_ARENA_TOO_SMALL: return "arena too small";
    case ESNN_ERR_STEPS: return "steps out of range";
    case ESNN_ERR_MODE: return "mode not possible for this blob";
    case ESNN_ERR_INPUT_SIZE: return "input length differs from the input tensor";
    case ESNN_ERR_STATE: return "model not initialised or nothing invoked yet";
    case ESNN_ERR_LABEL: return "label out of range";
    case ESNN_ERR_DIVERGED: return "training diverged (NaN or infinity)";
    case ESNN_ERR_CONFIG: return "bad training configuration";
    case ESNN_ERR_TRAIN: return "this model cannot be fine-tuned";
    }
    return "unknown status";
}
