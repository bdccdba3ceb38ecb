/*
 * worker.h: one pre-forked worker process: its accept loop and pipeline.
 */
#ifndef FCGI_APP_WORKER_H
#define FCGI_APP_WORKER_H

/*
 * Run the worker on the FastCGI socket at fd 0 until SIGTERM (drain: the
 * request in progress finishes) or until its RSS passes app.max_rss_mb.
 * Opens its own database connection (never inherited). Returns the exit code.
 */
int worker_main(unsigned slot);

#endif
