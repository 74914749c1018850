/* flash_file.c - the emulator's flash: a file of 2 * (32 + slot_bytes) bytes mapped
 * MAP_SHARED. Every write is msync'ed (MS_SYNC) before flash_write returns, so the
 * commit-point header write is durable before the device sends its response. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int flash_file_open(flash_file *f, const char *path, uint32_t bytes)
{
    struct stat st;
    void *m;
    memset(f, 0, sizeof *f);
    f->fd = open(path, O_RDWR | O_CREAT, 0644);
    if (f->fd < 0) {
        host_log("cannot open flash file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(f->fd, &st) != 0) {
        host_log("cannot stat %s: %s", path, strerror(errno));
        close(f->fd);
        return -1;
    }
    if (st.st_size == 0) {
        if (ftruncate(f->fd, (off_t)bytes) != 0) {  /* zero-filled: no valid slot */
            host_log("cannot size %s: %s", path, strerror(errno));
            close(f->fd);
            return -1;
        }
        host_log("created flash file %s (%u bytes)", path, bytes);
    } else if ((uint64_t)st.st_size != bytes) {
        host_log("flash file %s has %lld bytes, expected %u: another --slot-bytes? "
                 "(size = 2 * (32 + slot_bytes))", path, (long long)st.st_size, bytes);
        close(f->fd);
        return -1;
    }
    m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED) {
        host_log("cannot map %s: %s", path, strerror(errno));
        close(f->fd);
        return -1;
    }
    f->map = (uint8_t *)m;
    f->bytes = bytes;
    f->page = sysconf(_SC_PAGESIZE);
    if (f->page <= 0)
        f->page = 4096;
    return 0;
}

int flash_file_write(void *ctx, uint32_t offset, const uint8_t *data, uint32_t len)
{
    flash_file *f = (flash_file *)ctx;
    uint64_t start, end;
    if (offset > f->bytes || len > f->bytes - offset)
        return -1;
    memmove(f->map + offset, data, len);
    start = offset - offset % (uint64_t)f->page;
    end = (uint64_t)offset + len;
    if (msync(f->map + start, (size_t)(end - start), MS_SYNC) != 0) {
        host_log("msync failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void flash_file_close(flash_file *f)
{
    if (f->map)
        munmap(f->map, f->bytes);
    if (f->fd >= 0)
        close(f->fd);
    f->map = NULL;
    f->fd = -1;
}
