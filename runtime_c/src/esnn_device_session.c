/* esnn_device_session.c - which session is open, how long it has been idle, and the
 * BUSY answer that says so (docs/protocol.md, "Sessions"). Used by the command handlers;
 * kept out of esnn_device_dispatch.c so that handlers and dispatcher form no cycle. */
#include "esnn_device_internal.h"  /* string.h too */

uint8_t esnn_session_kind(const esnn_device *d)
{
    if (d->ft_open)
        return ESNN_SESSION_FINETUNE;
    return d->session_open ? ESNN_SESSION_UPLOAD : ESNN_SESSION_NONE;
}

static uint32_t idle_limit(const esnn_device *d)
{
    if (!d->board.clock_ms)
        return 0u;
    return d->board.session_idle_ms ? d->board.session_idle_ms : ESNN_SESSION_IDLE_MS;
}

void esnn_put_idle(const esnn_device *d, uint8_t *p)
{
    esnn_wr_u32(p, idle_limit(d));
    esnn_wr_u32(p + 4, d->ft_open ? esnn_now_ms(d) - d->ft_last_ms : 0u);
}

#if ESNN_DEVICE_FINETUNE
/* End the fine-tuning session: the trainer state is dropped, the flash is untouched. */
void esnn_ft_close(esnn_device *d)
{
    d->ft_open = 0;
    d->ft_base = ESNN_NO_SLOT;
    d->ft_error = 0;
    memset(&d->trainer, 0, sizeof d->trainer);
}

int esnn_ft_busy(esnn_device *d)
{
    uint32_t limit = idle_limit(d);
    if (d->ft_open && limit && esnn_now_ms(d) - d->ft_last_ms >= limit) {
        esnn_ft_close(d);  /* stale: the old model stays active, nothing was written */
        d->ft_expired++;
    }
    return d->ft_open;
}
#endif

/* BUSY: u8 the open session's kind; for fine-tuning also 3 zero bytes, u32 idle limit,
 * u32 idle time (ms), so the host can say when it ends by itself. */
int esnn_busy(esnn_device *d, uint32_t *out_len)
{
    uint8_t *p = esnn_resp_payload(d);
    p[0] = esnn_session_kind(d);
    *out_len = 1u;
    if (p[0] == ESNN_SESSION_FINETUNE) {
        p[1] = p[2] = p[3] = 0;
        esnn_put_idle(d, p + 4);
        *out_len = 12u;
    }
    return ESNN_PS_BUSY;
}
