/* esnn_device_init.c - boot: reset the protocol state (upload and fine-tuning sessions
 * are dropped) and choose the active slot. */
#include "esnn_device_internal.h"

esnn_status esnn_device_init(esnn_device *d, const esnn_board *board)
{
    uint32_t stats[ESNN_DEVICE_COUNTERS];
    uint32_t i;
    int warm;
    if (!d || !board || !board->flash || !board->tx)
        return ESNN_ERR_NULL;
    if (board->flash_bytes / 2u <= ESNN_SLOT_HEADER_BYTES)
        return ESNN_ERR_LIMITS;
    warm = d->warm == ESNN_DEVICE_WARM;
    for (i = 0; i < ESNN_DEVICE_COUNTERS; i++)
        stats[i] = warm ? d->stats[i] : 0u;
    memset(d, 0, sizeof *d);
    d->board = *board;
    if (!d->board.name)
        d->board.name = "";
    d->active = ESNN_NO_SLOT;
    d->session_slot = ESNN_NO_SLOT;
    d->ft_base = ESNN_NO_SLOT;  /* no fine-tuning session survives a reboot */
    memcpy(d->stats, stats, sizeof stats);
    d->stats[ESNN_ST_BOOTS]++;
    d->stats[ESNN_ST_ARENA_BYTES] = d->board.arena_bytes;
    d->warm = ESNN_DEVICE_WARM;
    esnn_slot_select(d);
    return ESNN_OK;
}

int esnn_device_reset_requested(const esnn_device *d)
{
    return d ? d->reset_requested : 0;
}
