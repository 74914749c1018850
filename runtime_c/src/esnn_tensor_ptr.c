/* esnn_tensor_ptr.c - where a tensor lives in the arena for one call. Its own file so
 * that the kernels, which all use it, do not depend on the layer dispatch that calls
 * them (esnn_run_layer.c). */
#include "esnn_internal.h"

/* Tensor i lives at arena + arena_offset_i (one-step) or T * arena_offset_i (T-step);
 * in the causal loop a U8 tensor is seen at its row of the current step. */
uint8_t *esnn_tensor_ptr(const esnn_run *r, const esnn_tdesc *t)
{
    return r->arena + r->scale * t->arena_offset +
           (t->dtype == ESNN_DTYPE_U8 ? r->row * t->numel : 0u);
}
