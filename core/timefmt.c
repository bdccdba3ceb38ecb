/*
 * timefmt.c: time sources and RFC 3339 (see timefmt.h).
 *
 * Civil-date arithmetic is Howard Hinnant's days_from_civil/civil_from_days
 * algorithm: exact for the proleptic Gregorian calendar, no tables, no libc
 * timezone state (timegm/gmtime_r cost a lock and are not needed).
 */
#include "timefmt.h"

#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    int v = 0;
    if (at + count > n)
        return -1;
    for (size_t i = at; i < at + count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int rfc3339_parse_ms(const char *s, size_t n, int64_t *out_ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
    if (digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || digits(s, n, 8, 2, &d))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    int64_t offset_s = 0;
    if (n > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s, n, 11, 2, &h) ||
            n < 19 || s[13] != ':' || digits(s, n, 14, 2, &mi) || s[16] != ':' ||
            digits(s, n, 17, 2, &se))
            return -1;
        if (h > 23 || mi > 59 || se > 60)
            return -1;
        if (se == 60)
            se = 59; /* leap second: clamp, storage has no room for it */
        size_t i = 19;
        if (i < n && s[i] == '.') {
            size_t start = ++i;
            int scale = 100;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                ms += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start || i - start > 9)
                return -1;
        }
        if (i >= n)
            return -1; /* a time without an offset is ambiguous */
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            int oh, om;
            if (digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
                digits(s, n, i + 4, 2, &om) || oh > 23 || om > 59)
                return -1;
            offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
            i += 6;
        } else {
            return -1;
        }
        if (i != n)
            return -1;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
    if (secs < 0)
        return -1;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int rfc3339_parse(const char *s, size_t n, int64_t *out_s)
{
    int64_t ms;
    if (rfc3339_parse_ms(s, n, &ms))
        return -1;
    *out_s = ms / 1000;
    return 0;
}

static void two(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void rfc3339_format(int64_t t, char out[21])
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y);
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    two(out + 5, m);
    out[7] = '-';
    two(out + 8, d);
    out[10] = 'T';
    two(out + 11, (unsigned)(rem / 3600));
    out[13] = ':';
    two(out + 14, (unsigned)(rem / 60 % 60));
    out[16] = ':';
    two(out + 17, (unsigned)(rem % 60));
    out[19] = 'Z';
    out[20] = '\0';
}

void rfc3339_append(struct buf *b, int64_t epoch_s)
{
    char tmp[21];
    rfc3339_format(epoch_s, tmp);
    buf_append(b, tmp, 20);
}

void rfc3339_append_ms(struct buf *b, int64_t epoch_ms)
{
    char tmp[21];
    int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
    unsigned ms = (unsigned)(epoch_ms - s * 1000);
    rfc3339_format(s, tmp);
    buf_append(b, tmp, 19);
    buf_appendf(b, ".%03uZ", ms);
}

int time_month_of(int64_t t)
{
    int y;
    unsigned m, d;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    civil_from_days(days, &y, &m, &d);
    return y * 100 + (int)m;
}

int64_t time_month_start(int yyyymm)
{
    return days_from_civil(yyyymm / 100, (unsigned)(yyyymm % 100), 1) * 86400;
}

int time_month_next(int yyyymm)
{
    return yyyymm % 100 == 12 ? (yyyymm / 100 + 1) * 100 + 1 : yyyymm + 1;
}
