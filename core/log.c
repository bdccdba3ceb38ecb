/*
 * log.c: JSON line logging (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "timefmt.h"

static int log_fd = 2;

int log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_begin(struct buf *line, const char *level)
{
    buf_reset(line);
    buf_puts(line, "{\"time\":\"");
    rfc3339_append_ms(line, time_now_ms());
    buf_puts(line, "\",\"level\":");
    buf_append_json_cstr(line, level);
    buf_appendf(line, ",\"pid\":%d", (int)getpid());
}

void log_end(struct buf *line)
{
    buf_puts(line, "}\n");
    const char *p = line->data;
    size_t n = line->len;
    while (n) {
        ssize_t w = write(log_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
}

void log_msg(const char *level, const char *fmt, ...)
{
    struct buf line = BUF_INIT, msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    log_begin(&line, level);
    buf_puts(&line, ",\"msg\":");
    buf_append_json_str(&line, msg.data, msg.len);
    log_end(&line);
    buf_fini(&line);
    buf_fini(&msg);
}
