/*
 * bench_fcgi_hello.c: the baseline for the front-server benchmark: a bare
 * libfcgi responder answering every request with a fixed small JSON body, no
 * routing, no database, no logging. benchmarks/health/run.sh serves it behind
 * the same lighttpd configuration as Cartograph and compares req/s.
 */
#include <fcgiapp.h>
#include <signal.h>

int main(void)
{
    FCGX_Request r;
    static const char resp[] = "Status: 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() || FCGX_InitRequest(&r, 0, 0))
        return 1;
    while (FCGX_Accept_r(&r) >= 0) {
        FCGX_PutStr(resp, sizeof(resp) - 1, r.out);
        FCGX_Finish_r(&r);
    }
    return 0;
}
